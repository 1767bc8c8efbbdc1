/**
 * The SBC's private HTTP control server: `GET /v1/status` (the drain script reads `.activeCalls`) and
 * `GET /metrics`. Extension point for the WebRTC gateway: `addRoute(method, path, handler)` before or after
 * `listen()`; handlers get the parsed JSON body and return `{ status, body }`. Bind it to a private address.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../core/logging.js';
import { toAppError } from '../../core/errors.js';

export interface ControlRequest { method: string; path: string; query: URLSearchParams; body: unknown; headers: IncomingMessage['headers']; params: Record<string, string> }
export interface ControlResponse { status: number; body: unknown; contentType?: string }
export type ControlHandler = (req: ControlRequest) => Promise<ControlResponse> | ControlResponse;
// --- sbc-cluster (docs/sbc.md § Several SBC instances): routes about a call/conference another SBC may own ---
export type OwnedBy = 'callId' | 'conference';
/** Answers a request for the owning SBC (forwarded), or undefined to handle it here. */
export type ControlForwarder = (ownedBy: OwnedBy, req: ControlRequest, rawBody: string) => Promise<ControlResponse | undefined>;
export interface RouteOptions { ownedBy?: OwnedBy }
// --- end sbc-cluster ---

export class ControlServer {
  private readonly routes = new Map<string, ControlHandler>();
  private readonly patterns: Array<{ method: string; path: string; re: RegExp; names: string[]; handler: ControlHandler }> = [];
  private server?: Server;
  private readonly owned = new Map<string, OwnedBy>(); // sbc-cluster: route path → what it names
  private forwarder?: ControlForwarder; // sbc-cluster

  constructor(private readonly log: Logger) {}

  addRoute(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, handler: ControlHandler, opts: RouteOptions = {}): this {
    if (opts.ownedBy) this.owned.set(path, opts.ownedBy); // sbc-cluster
    // --- gateway (docs/gateway.md): `:name` segments become params ---
    if (path.includes('/:')) {
      const names: string[] = [];
      const re = new RegExp(`^${path.replace(/:(\w+)/g, (_m, n: string) => (names.push(n), '([^/]+)'))}$`);
      this.patterns.push({ method, path, re, names, handler });
      return this;
    }
    // --- end gateway ---
    this.routes.set(`${method} ${path}`, handler);
    return this;
  }

  // --- sbc-cluster: a route path (all methods, before or after addRoute) names a call or a conference; the
  // forwarder (runtime/sbc/ownership.ts) decides per request whether another SBC owns it ---
  markOwned(path: string, ownedBy: OwnedBy): this {
    this.owned.set(path, ownedBy);
    return this;
  }

  setForwarder(f: ControlForwarder): this {
    this.forwarder = f;
    return this;
  }
  // --- end sbc-cluster ---

  private match(method: string, path: string): { handler: ControlHandler; params: Record<string, string>; route: string } | undefined {
    const exact = this.routes.get(`${method} ${path}`);
    if (exact) return { handler: exact, params: {}, route: path };
    for (const p of this.patterns) {
      const m = p.method === method ? p.re.exec(path) : null;
      if (m) return { handler: p.handler, params: Object.fromEntries(p.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)])), route: p.path };
    }
    return undefined;
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    this.server = createServer((req, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://control');
        const found = this.match(req.method ?? 'GET', url.pathname);
        let out: ControlResponse;
        try {
          if (!found) out = { status: 404, body: { code: 'ROUTE_NOT_FOUND', message: `no route ${req.method} ${url.pathname}` } };
          else {
            const chunks: Buffer[] = [];
            for await (const c of req) chunks.push(c as Buffer);
            const raw = Buffer.concat(chunks).toString('utf8');
            const creq: ControlRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body: undefined, headers: req.headers, params: found.params };
            // --- sbc-cluster: the owning SBC answers requests about its calls/conferences ---
            const ownedBy = this.forwarder ? this.owned.get(found.route) : undefined;
            const forwarded = ownedBy ? await this.forwarder!(ownedBy, creq, raw) : undefined;
            // --- end sbc-cluster ---
            out = forwarded ?? await found.handler({ ...creq, body: raw ? JSON.parse(raw) : undefined });
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
