/**
 * Play sources resolved ON the media node (docs/recordings.md § Playback on AWS). rtpengine's `playMedia` takes a
 * file path that rtpengine opens on its own host; on AWS rtpengine runs on the media tier, not beside the SBC. The
 * media agent (same host as rtpengine, S3 access) therefore renders tones, fetches URLs and caches media-library
 * files with the very same code the SBC uses locally (runtime/core/media/play-sources.ts), and hands the path back:
 *
 *   POST   /v1/play-sources          { tenantId, source: PlaySource }  → 200 { path, durationMs, token }
 *   DELETE /v1/play-sources/{token}                                    → 204 (removes a temporary file; idempotent)
 *   GET    /healthz                                                    → 200 { ok, files }
 *
 * Private endpoint: bind it to the node's private address; every request but /healthz needs the shared secret in
 * `x-cpaas-gateway-secret` (the SBC's control API header). Files nobody deleted are swept after
 * max(ttlSeconds, duration + 60 s). The agent advertises `url` in its media-node heartbeat (`playSourcesUrl`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Type } from 'typebox';
import { Value } from 'typebox/value';
import { safeEqual } from '../core/auth/api-keys.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import { resolvePlaySource, type PlaySourceDeps, type ResolvedPlaySource } from '../core/media/play-sources.js';
import { PlaySource } from '../core/protocol/voice.js';

/** Same header as the SBC's private control API (runtime/sbc/gateway/notifier.ts GATEWAY_SECRET_HEADER). */
export const PLAY_SOURCES_SECRET_HEADER = 'x-cpaas-gateway-secret';

export const PlaySourceRequest = Type.Object({
  tenantId: Type.String({ minLength: 1, maxLength: 64 }),
  source: PlaySource,
}, { additionalProperties: false });

export interface PlaySourceServerOptions {
  host: string;
  port: number;
  /** Shared secret required in x-cpaas-gateway-secret. */
  secret: string;
  /** Where files go (must be readable by rtpengine on this host), the media library (S3), URL limits. */
  deps: PlaySourceDeps;
  /** Files not DELETEd are removed after max(ttlSeconds, duration + 60 s) (default 900). */
  ttlSeconds?: number;
  /** Sweep interval (default 30 s). */
  sweepMs?: number;
  /** The URL SBCs use (default http://<bound host>:<port>). */
  advertiseHost?: string;
  log: Logger;
  now?: () => number;
}

export interface PlaySourceServer {
  address: { host: string; port: number };
  /** Base URL advertised in the heartbeat. */
  url: string;
  /** Files handed out and not yet cleaned up. */
  readonly files: number;
  /** Removes expired files now (the timer does it every sweepMs). */
  sweep(): number;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

export async function startPlaySourceServer(o: PlaySourceServerOptions): Promise<PlaySourceServer> {
  const now = o.now ?? Date.now;
  const ttlMs = (o.ttlSeconds ?? 900) * 1000;
  const handed = new Map<string, { file: ResolvedPlaySource; expiresAt: number }>();

  const send = (res: ServerResponse, status: number, body?: unknown) => {
    if (body === undefined) {
      res.writeHead(status);
      res.end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const readJson = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > MAX_BODY) throw AppError.invalid('body too large');
      chunks.push(c);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    } catch {
      throw AppError.invalid('body is not JSON');
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path === '/healthz') return send(res, 200, { ok: true, files: handed.size });
    const given = req.headers[PLAY_SOURCES_SECRET_HEADER];
    if (typeof given !== 'string' || !safeEqual(given, o.secret)) throw AppError.unauthenticated('bad or missing secret');
    if (req.method === 'POST' && path === '/v1/play-sources') {
      const body = await readJson(req);
      if (!Value.Check(PlaySourceRequest, body)) {
        const first = Value.Errors(PlaySourceRequest, body)[0];
        throw AppError.invalid(first ? `${first.instancePath || '/'} ${first.message}` : 'invalid body');
      }
      const file = await resolvePlaySource(body.source, { tenantId: body.tenantId, deps: o.deps });
      const token = randomUUID();
      handed.set(token, { file, expiresAt: now() + Math.max(ttlMs, file.durationMs + 60_000) });
      o.log.debug({ tenantId: body.tenantId, token, durationMs: file.durationMs }, 'play source resolved');
      return send(res, 200, { path: file.path, durationMs: file.durationMs, token });
    }
    const m = /^\/v1\/play-sources\/([A-Za-z0-9-]{1,64})$/.exec(path);
    if (req.method === 'DELETE' && m) {
      const h = handed.get(m[1]!);
      if (h) {
        handed.delete(m[1]!);
        h.file.cleanup();
      }
      return send(res, 204);
    }
    send(res, 404, { code: 'ROUTE_NOT_FOUND', message: `${req.method} ${path}` });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const e = err instanceof AppError ? err : new AppError('INTERNAL', 'play source failed', {}, { cause: err });
      if (e.httpStatus >= 500 && e.code !== 'SERVICE_UNAVAILABLE') o.log.error({ err }, 'play-source request failed');
      if (!res.headersSent) send(res, e.httpStatus, e.toJSON());
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const a = server.address() as AddressInfo;

  const sweep = (): number => {
    const t = now();
    let n = 0;
    for (const [token, h] of handed) {
      if (h.expiresAt > t) continue;
      handed.delete(token);
      h.file.cleanup();
      n++;
    }
    if (n > 0) o.log.info({ removed: n }, 'swept play-source files nobody deleted');
    return n;
  };
  const timer = setInterval(sweep, o.sweepMs ?? 30_000);
  timer.unref();

  const host = o.advertiseHost ?? a.address;
  return {
    address: { host: a.address, port: a.port },
    url: `http://${host.includes(':') ? `[${host}]` : host}:${a.port}`,
    get files() {
      return handed.size;
    },
    sweep,
    close: () => new Promise<void>((resolve) => {
      clearInterval(timer);
      for (const h of handed.values()) h.file.cleanup();
      handed.clear();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
