/**
 * Media node selection. Nodes come from the MediaNode registry (heartbeats written by runtime/media-agent);
 * a node whose heartbeat expired is not used for new calls. The static fallback list is used only when
 * the registry has no live node (or always, in 'static' mode). Among live nodes the least loaded wins:
 * (sessions at the last heartbeat + calls this SBC placed since) / capacity.
 */
import type { Logger } from '../../core/logging.js';
import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import type { MediaNode, SipRepository } from '../../core/storage/sip-types.js';
import { RtpEngineNode, type MediaInterfaces } from './rtpengine.js';

export interface MediaNodePoolOptions {
  repo?: Pick<SipRepository, 'mediaNodes'>;
  mode: 'registry' | 'static';
  fallback: ReadonlyArray<{ id?: string; host: string; port: number }>;
  localAddress: string;
  /** rtpengine's interface names for outside/inside parties (AWS media nodes: public/private); absent = its first. */
  interfaces?: MediaInterfaces;
  timeoutMs: number;
  refreshMs: number;
  clock: Clock;
  log: Logger;
}

export interface MediaNodeStatus {
  id: string;
  ng: string;
  source: 'registry' | 'static';
  activeSessions: number;
  capacity: number;
  inFlight: number;
  lastHeartbeat?: string;
  live: boolean;
}

interface Entry { node: RtpEngineNode; source: 'registry' | 'static'; info?: MediaNode; capacity: number }

export class MediaNodePool {
  private readonly entries = new Map<string, Entry>();
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private closed = false;

  constructor(private readonly o: MediaNodePoolOptions) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.o.refreshMs);
    this.timer.unref();
  }

  /** Re-reads the registry (coalesced). */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    if (this.closed) return;
    if (this.o.mode === 'registry' && this.o.repo) {
      try {
        const nodes = await this.o.repo.mediaNodes();
        for (const n of nodes) {
          const e = this.entries.get(n.id);
          if (e && (e.node.target.host !== n.ngHost || e.node.target.port !== n.ngPort)) {
            e.node.close();
            this.entries.delete(n.id);
          }
          const cur = this.entries.get(n.id);
          if (cur) {
            cur.info = n;
            cur.capacity = n.capacity;
            // The heartbeat's count includes our calls placed before it; keep only what came after.
            cur.node.inFlight = 0;
          } else {
            const node = await RtpEngineNode.connect({ id: n.id, target: { host: n.ngHost, port: n.ngPort }, localAddress: this.o.localAddress, timeoutMs: this.o.timeoutMs, log: this.o.log, ...(this.o.interfaces ? { interfaces: this.o.interfaces } : {}) });
            this.entries.set(n.id, { node, source: 'registry', info: n, capacity: n.capacity });
            this.o.log.info({ mediaNode: n.id, ng: `${n.ngHost}:${n.ngPort}` }, 'media node discovered');
          }
        }
      } catch (err) {
        this.o.log.warn({ err }, 'media node registry read failed; keeping the last known nodes');
      }
    }
    for (const [i, f] of this.o.fallback.entries()) {
      const id = f.id ?? `static-${i}`;
      if (this.entries.has(id)) continue;
      const node = await RtpEngineNode.connect({ id, target: { host: f.host, port: f.port }, localAddress: this.o.localAddress, timeoutMs: this.o.timeoutMs, log: this.o.log, ...(this.o.interfaces ? { interfaces: this.o.interfaces } : {}) });
      this.entries.set(id, { node, source: 'static', capacity: 1000 });
    }
  }

  private live(e: Entry, nowSec: number): boolean {
    if (e.source === 'static') return true;
    return !!e.info && e.info.expiresAt > nowSec;
  }

  private load(e: Entry): number {
    return ((e.info?.activeSessions ?? 0) + e.node.inFlight) / Math.max(1, e.capacity);
  }

  /** The least-loaded live node; MEDIA_UNAVAILABLE when there is none. */
  pick(): RtpEngineNode {
    const nowSec = Math.floor(this.o.clock.now() / 1000);
    const all = [...this.entries.values()];
    const registry = all.filter((e) => e.source === 'registry' && this.live(e, nowSec) && this.load(e) < 1);
    const candidates = this.o.mode === 'static' || registry.length === 0 ? all.filter((e) => e.source === 'static') : registry;
    if (candidates.length === 0) throw new AppError('MEDIA_UNAVAILABLE', 'no live media node', { retryable: true });
    candidates.sort((x, y) => this.load(x) - this.load(y));
    return candidates[0]!.node;
  }

  status(): MediaNodeStatus[] {
    const nowSec = Math.floor(this.o.clock.now() / 1000);
    return [...this.entries.values()].map((e) => ({
      id: e.node.id,
      ng: `${e.node.target.host}:${e.node.target.port}`,
      source: e.source,
      activeSessions: e.info?.activeSessions ?? 0,
      capacity: e.capacity,
      inFlight: e.node.inFlight,
      ...(e.info ? { lastHeartbeat: e.info.lastHeartbeat } : {}),
      live: this.live(e, nowSec),
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.refreshing;
    for (const e of this.entries.values()) e.node.close();
    this.entries.clear();
  }
}
