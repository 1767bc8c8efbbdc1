/**
 * Vanished-browser watchdog for gateway calls. A browser whose tab, socket or network disappears without a hangup
 * stops sending media; without this the SIP leg would stay up (and billed) until the far end hangs up. Every
 * `intervalMs` the watchdog queries rtpengine (`query`, per-tag RTP packet counters) for each watched call; when the
 * browser's tag received no new RTP packet for `timeoutMs` (and the call is not on hold), `onTimeout` runs once
 * and the call is forgotten. Signalling's reconnect grace covers short socket drops (the media keeps flowing
 * then); this catches the rest.
 */
import type { Logger } from '../../core/logging.js';
import type { Clock } from '../../core/clock.js';
import type { MediaQuality } from '../media/quality.js';

export interface WatchedCall {
  id: string;
  /** rtpengine counters of the call (MediaSession.query); undefined once the media is gone. */
  query(): Promise<MediaQuality | undefined>;
  /** rtpengine monologue tag of the browser leg. */
  browserTag: string;
  /** On hold (the browser may legitimately send nothing). */
  paused?(): boolean;
  onTimeout(): void;
}

interface Entry { call: WatchedCall; packets: number; lastChangeAt: number }

export class MediaWatchdog {
  private readonly calls = new Map<string, Entry>();
  private timer?: NodeJS.Timeout;
  private sweeping = false;
  timeouts = 0;

  constructor(private readonly o: { intervalMs: number; timeoutMs: number; clock: Clock; log: Logger }) {}

  /** Changes the timings (tests); applies to the next sweep / the next watched call. */
  configure(t: { intervalMs: number; timeoutMs: number }): void {
    this.o.intervalMs = t.intervalMs;
    this.o.timeoutMs = t.timeoutMs;
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    this.arm();
  }

  /** Starts watching (the timeout counts from now); returns the unwatch function. */
  watch(call: WatchedCall): () => void {
    this.calls.set(call.id, { call, packets: 0, lastChangeAt: this.o.clock.now() });
    this.arm();
    return () => this.unwatch(call.id);
  }

  private arm(): void {
    if (!this.timer && this.o.intervalMs > 0 && this.calls.size > 0) {
      this.timer = setInterval(() => void this.sweep(), this.o.intervalMs);
      this.timer.unref();
    }
  }

  unwatch(id: string): void {
    this.calls.delete(id);
    if (this.calls.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  get watched(): number {
    return this.calls.size;
  }

  /** One pass over the watched calls (also called by tests). */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (const [id, e] of [...this.calls]) {
        let q: MediaQuality | undefined;
        try {
          q = await e.call.query();
        } catch (err) {
          this.o.log.debug({ err, callId: id }, 'sweep() | query failed');
          continue; // rtpengine unreachable: not the browser's fault
        }
        if (!q) {
          this.unwatch(id);
          continue;
        }
        const now = this.o.clock.now();
        const n = q.packets[e.call.browserTag] ?? 0;
        if (n !== e.packets || e.call.paused?.()) {
          e.packets = n;
          e.lastChangeAt = now;
          continue;
        }
        if (now - e.lastChangeAt >= this.o.timeoutMs && this.calls.get(id) === e) {
          this.unwatch(id);
          this.timeouts++;
          this.o.log.warn({ callId: id, silentMs: now - e.lastChangeAt, packets: n }, 'no media from the browser: hanging up the SIP leg');
          try {
            e.call.onTimeout();
          } catch (err) {
            this.o.log.warn({ err, callId: id }, 'media timeout handler failed');
          }
        }
      }
    } finally {
      this.sweeping = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.calls.clear();
  }
}
