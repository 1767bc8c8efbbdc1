/**
 * Where play sources are resolved (docs/recordings.md § Playback on AWS). rtpengine's `playMedia` opens a file on
 * rtpengine's own host: with `npm start` that is this host (local resolution, the default); on AWS rtpengine runs on
 * the media tier, so the media agent beside it resolves the source (`POST /v1/play-sources`, runtime/media-agent/
 * play-sources.ts) and answers the path on ITS disk. The node's agent URL comes from its media-node heartbeat
 * (`playSourcesUrl`). A node that advertises one is always asked; with `resolveOn: 'media-node'` a node without one
 * is SERVICE_UNAVAILABLE (never a path rtpengine cannot open). cleanup() DELETEs the token (fire and forget; the
 * agent's TTL sweep removes anything a lost DELETE left).
 */
import { AppError, ERROR_CODES, type ErrorCode } from '../../core/errors.js';
import type { Logger } from '../../core/logging.js';
import { resolvePlaySource, type ResolvedPlaySource } from '../../core/media/play-sources.js';
import type { PlaySource } from '../../core/protocol/voice.js';
import type { MediaNode } from '../../core/storage/sip-types.js';
import { GATEWAY_SECRET_HEADER } from '../gateway/notifier.js';

export interface PlaySourceResolverOptions {
  /** 'local' (default): resolve here unless the node advertises an agent; 'media-node': always on the node. */
  resolveOn?: 'local' | 'media-node';
  /** The media-node registry (heartbeats); read at most every `cacheMs`, and again when a node is unknown. */
  nodes?: () => Promise<Array<Pick<MediaNode, 'id' | 'playSourcesUrl'>>>;
  /** Sent in x-cpaas-gateway-secret. */
  secret?: string;
  /** Timeout of a POST to the agent (default 15 s: a URL source is fetched by the agent). */
  timeoutMs?: number;
  cacheMs?: number;
  log: Logger;
  now?: () => number;
}

export class PlaySourceResolver {
  private cache?: { at: number; urls: Map<string, string> };

  constructor(private readonly o: PlaySourceResolverOptions) {}

  /** The agent URL of a media node (undefined: none advertised / registry unavailable). */
  async agentUrl(nodeId: string): Promise<string | undefined> {
    if (!this.o.nodes) return undefined;
    const now = (this.o.now ?? Date.now)();
    const fresh = this.cache && now - this.cache.at < (this.o.cacheMs ?? 5_000);
    if (fresh && this.cache!.urls.has(nodeId)) return this.cache!.urls.get(nodeId);
    if (!fresh || !this.cache!.urls.has(nodeId)) {
      try {
        const nodes = await this.o.nodes();
        this.cache = { at: now, urls: new Map(nodes.filter((n) => n.playSourcesUrl).map((n) => [n.id, n.playSourcesUrl!])) };
      } catch (err) {
        this.o.log.warn({ err }, 'media-node registry read failed (play sources)');
      }
    }
    return this.cache?.urls.get(nodeId);
  }

  /** The source as a file rtpengine on `nodeId` can open. */
  async resolve(nodeId: string, source: PlaySource, tenantId: string): Promise<ResolvedPlaySource> {
    const url = await this.agentUrl(nodeId);
    if (!url) {
      if (this.o.resolveOn === 'media-node') throw new AppError('SERVICE_UNAVAILABLE', `media node ${nodeId} advertises no play-source endpoint`, { retryable: true });
      return resolvePlaySource(source, { tenantId });
    }
    return this.remote(url, nodeId, source, tenantId);
  }

  private headers(): Record<string, string> {
    return { 'content-type': 'application/json', ...(this.o.secret ? { [GATEWAY_SECRET_HEADER]: this.o.secret } : {}) };
  }

  private async remote(base: string, nodeId: string, source: PlaySource, tenantId: string): Promise<ResolvedPlaySource> {
    let res: Response;
    try {
      res = await fetch(`${base}/v1/play-sources`, { method: 'POST', headers: this.headers(), body: JSON.stringify({ tenantId, source }), signal: AbortSignal.timeout(this.o.timeoutMs ?? 15_000) });
    } catch (err) {
      throw new AppError('SERVICE_UNAVAILABLE', `media node ${nodeId} play-source endpoint unreachable`, { retryable: true }, { cause: err });
    }
    const body = (await res.json().catch(() => ({}))) as { path?: string; durationMs?: number; token?: string; code?: string; message?: string; field?: string };
    if (!res.ok || typeof body.path !== 'string' || typeof body.token !== 'string') {
      // The agent's errors are the platform's AppErrors: pass INVALID_PAYLOAD / NOT_FOUND / … through.
      const code = (body.code && body.code in ERROR_CODES && res.status < 500 && res.status !== 401 && res.status !== 403 ? body.code : 'SERVICE_UNAVAILABLE') as ErrorCode;
      if (res.status === 401 || res.status === 403) this.o.log.error({ nodeId, status: res.status }, 'media agent refused the play-source secret');
      throw new AppError(code, body.message && code !== 'SERVICE_UNAVAILABLE' ? body.message : `media node ${nodeId} could not resolve the source (HTTP ${res.status})`, {
        ...(body.field ? { field: body.field } : {}), ...(code === 'SERVICE_UNAVAILABLE' ? { retryable: true } : {}),
      });
    }
    const token = body.token;
    let done = false;
    return {
      path: body.path,
      durationMs: typeof body.durationMs === 'number' ? body.durationMs : 0,
      cleanup: () => {
        if (done) return;
        done = true;
        void fetch(`${base}/v1/play-sources/${encodeURIComponent(token)}`, { method: 'DELETE', headers: this.headers(), signal: AbortSignal.timeout(5_000) })
          .then((r) => void r.body?.cancel())
          .catch((err: unknown) => this.o.log.debug({ err, nodeId }, 'play-source DELETE failed (the agent sweeps it)'));
      },
    };
  }
}
