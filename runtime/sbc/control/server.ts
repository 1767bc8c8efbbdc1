/**
 * The SBC's private HTTP control server: `GET /v1/status` (the drain script reads `.activeCalls`) and
 * `GET /metrics`. Extension point for the WebRTC gateway: `addRoute(method, path, handler)` before or after
 * `listen()`; handlers get the parsed JSON body and return `{ status, body }`. Bind it to a private address.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../core/logging.js';
import { toAppError } from '../../core/errors.js';

export interface ControlRequest { method: string; path: string; query: URLSearchParams; body: unknown; headers: IncomingMessage['headers'] }
export interface ControlResponse { status: number; body: unknown; contentType?: string }
export type ControlHandler = (req: ControlRequest) => Promise<ControlResponse> | ControlResponse;

export class ControlServer {
  private readonly routes = new Map<string, ControlHandler>();
  private server?: Server;

  constructor(private readonly log: Logger) {}

  addRoute(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, handler: ControlHandler): this {
    this.routes.set(`${method} ${path}`, handler);
    return this;
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    this.server = createServer((req, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://control');
        const handler = this.routes.get(`${req.method} ${url.pathname}`);
        let out: ControlResponse;
        try {
          if (!handler) out = { status: 404, body: { code: 'ROUTE_NOT_FOUND', message: `no route ${req.method} ${url.pathname}` } };
          else {
            const chunks: Buffer[] = [];
            for await (const c of req) chunks.push(c as Buffer);
            const raw = Buffer.concat(chunks).toString('utf8');
            out = await handler({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body: raw ? JSON.parse(raw) : undefined, headers: req.headers });
          }
        } catch (err) {
          const e = toAppError(err);
          if (e.httpStatus >= 500) this.log.error({ err }, 'control request failed');
          out = { status: e.httpStatus, body: e.toJSON() };
        }
        const text = typeof out.body === 'string' ? out.body : JSON.stringify(out.body);
        res.writeHead(out.status, { 'content-type': out.contentType ?? (typeof out.body === 'string' ? 'text/plain; version=0.0.4' : 'application/json') });
        res.end(text);
      })();
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
