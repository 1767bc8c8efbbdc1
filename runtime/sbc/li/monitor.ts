/**
 * Lawful interception in the SBC (docs/security.md § Lawful interception). Admin-only targets live in the table
 * (runtime/core/storage/security.ts LiRepository, REST /v1/admin/li/targets) and are re-read every `cacheSeconds`.
 * Each accepted call is checked against the targets active now (validFrom ≤ now < validUntil); a match:
 *  - POSTs signed events (`li.call`, data.event = start | answer | end, with both parties) to the target's
 *    collection URL (X-Cpaas-Signature v1 with the LI secret, retried by WebhookSender);
 *  - on answer, forks both parties' media to the collection point (fork.ts; caller → port, callee → port+2).
 * Nothing reaches the parties (no SDP or header change), the CDRs or any tenant API; only the `li_*` metrics
 * (no labels naming targets) and component `li` log lines record it.
 */
import { WebhookSender } from '../../core/webhooks.js';
import type { Logger } from '../../core/logging.js';
import type { Clock } from '../../core/clock.js';
import type { MetricsRegistry } from '../../core/metrics.js';
import type { LiTarget } from '../../core/storage/security.js';
import type { MediaSession } from '../media/rtpengine.js';
import { userOf } from '../routing/numbers.js';
import { forkMedia, type MediaFork } from './fork.js';

export interface LiSource {
  list(): Promise<LiTarget[]>;
}

export interface LiCall {
  id: string;
  tenantId: string;
  fromUri: string;
  toUri: string;
  media: MediaSession;
}

const digits = (s: string): string => s.replace(/[^0-9]/g, '');
/** `user@host` (lower case) of a SIP URI or name-addr. */
export const addressOf = (uri: string): string => {
  const m = /sips?:([^;>?\s]+)/i.exec(uri);
  return (m?.[1] ?? uri).toLowerCase();
};

/** Whether one party URI matches a target. */
export function partyMatches(t: LiTarget, uri: string): boolean {
  if (t.match.kind === 'uri') return addressOf(uri) === addressOf(t.match.value);
  const d = digits(userOf(uri));
  const want = digits(t.match.value);
  return d.length > 0 && want.length > 0 && (d === want || (d.length >= 7 && want.endsWith(d)) || (want.length >= 7 && d.endsWith(want)));
}

export class LiMonitor {
  private targets: LiTarget[] = [];
  private loadedAt = -Infinity;
  private loading?: Promise<void>;
  private readonly intercepted: { inc(l?: Record<string, string>): void };
  private readonly forks: { inc(l?: Record<string, string>): void };

  constructor(private readonly o: {
    source: LiSource; clock: Clock; log: Logger; metrics: MetricsRegistry; webhooks: WebhookSender; secret: string; cacheSeconds?: number;
  }) {
    this.intercepted = o.metrics.counter('li_intercepted_calls_total', 'Calls matching an active interception target');
    this.forks = o.metrics.counter('li_media_forks_total', 'Media forks toward collection points, by result');
  }

  /** Re-reads the targets when the cache is older than cacheSeconds (default 5 s). */
  refresh(force = false): Promise<void> {
    const ttl = (this.o.cacheSeconds ?? 5) * 1000;
    if (!force && this.o.clock.now() - this.loadedAt < ttl) return Promise.resolve();
    if (this.loading) return this.loading;
    this.loading = this.o.source.list().then((t) => {
      this.targets = t;
      this.loadedAt = this.o.clock.now();
    }, (err: unknown) => {
      this.loadedAt = this.o.clock.now();
      this.o.log.warn({ err }, 'reading interception targets failed');
    }).finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** Active targets matching either party. */
  async match(fromUri: string, toUri: string): Promise<LiTarget[]> {
    await this.refresh();
    const now = this.o.clock.now();
    return this.targets.filter((t) => Date.parse(t.validFrom) <= now && now < Date.parse(t.validUntil) && (partyMatches(t, fromUri) || partyMatches(t, toUri)));
  }

  private event(t: LiTarget, call: LiCall, event: 'start' | 'answer' | 'end', extra: Record<string, unknown> = {}): void {
    const e = WebhookSender.event(call.tenantId, 'li.call', {
      event, targetId: t.id, ...(t.reference ? { reference: t.reference } : {}), callId: call.id,
      from: call.fromUri, to: call.toUri, at: new Date(this.o.clock.now()).toISOString(), ...extra,
    }, this.o.clock.now());
    const r = this.o.webhooks.send(e, { url: t.collection.eventsUrl, secret: this.o.secret });
    if (!r) this.o.log.error({ targetId: t.id, event }, 'interception event dropped (queue full)');
  }

  /**
   * Checks a new call; when targeted, sends `start` and returns hooks the caller invokes on answer and end.
   * Never throws (interception must not disturb the call).
   */
  async check(call: LiCall): Promise<{ answered(): void; ended(): void } | undefined> {
    let hits: LiTarget[];
    try {
      hits = await this.match(call.fromUri, call.toUri);
    } catch (err) {
      this.o.log.error({ err }, 'interception check failed');
      return undefined;
    }
    if (hits.length === 0) return undefined;
    this.intercepted.inc();
    this.o.log.info({ callId: call.id, targets: hits.map((t) => t.id) }, 'call intercepted');
    for (const t of hits) this.event(t, call, 'start');
    const forks: MediaFork[] = [];
    let ended = false;
    return {
      answered: () => {
        for (const t of hits) this.event(t, call, 'answer');
        void (async () => {
          for (const t of hits) {
            try {
              if (ended) return;
              forks.push(await forkMedia(call.media, t.collection.media.host, t.collection.media.port));
              this.forks.inc({ result: 'ok' });
            } catch (err) {
              this.forks.inc({ result: 'failed' });
              this.o.log.error({ err, callId: call.id, targetId: t.id }, 'interception media fork failed');
            }
          }
        })();
      },
      ended: () => {
        if (ended) return;
        ended = true;
        for (const t of hits) this.event(t, call, 'end');
        for (const f of forks) void f.stop();
      },
    };
  }
}
