/**
 * Call records of SIP calls: one item per call (attempt → answered → ended) through SipRepository.
 * Writes are fire-and-forget from the call's point of view (a storage hiccup must not drop a call) but
 * ordered per call, and every failure is logged at warn.
 */
import type { Logger } from '../../core/logging.js';
import type { Clock } from '../../core/clock.js';
import { isoTime } from '../../core/clock.js';
import type { HangupReason } from '../../core/protocol/events.js';
import type { SipCallDetails, SipCallRecord, SipRepository } from '../../core/storage/sip-types.js';
import type { MediaQuality } from '../media/quality.js';

export interface CdrStart {
  id: string;
  tenantId: string;
  direction: 'inbound' | 'outbound';
  fromUri: string;
  toUri: string;
  fromIdentity: string;
  toIdentity: string;
  mediaNodeId?: string;
}

export class CdrWriter {
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly o: { repo: Pick<SipRepository, 'putCall' | 'updateCall'>; clock: Clock; log: Logger }) {}

  private enqueue(id: string, what: string, fn: () => Promise<void>): void {
    const prev = this.chains.get(id) ?? Promise.resolve();
    const next = prev.then(fn).catch((err: unknown) => this.o.log.warn({ err, callId: id, what }, 'call record write failed'));
    this.chains.set(id, next);
    void next.then(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
  }

  attempt(c: CdrStart): void {
    const rec: SipCallRecord = {
      id: c.id,
      tenantId: c.tenantId,
      kind: 'sip',
      state: 'ringing',
      from: { identity: c.fromIdentity },
      to: { identity: c.toIdentity },
      media: { audio: true, video: false },
      createdAt: isoTime(this.o.clock.now()),
      sip: { direction: c.direction, fromUri: c.fromUri, toUri: c.toUri, ...(c.mediaNodeId ? { mediaNodeId: c.mediaNodeId } : {}) },
    };
    this.enqueue(c.id, 'attempt', () => this.o.repo.putCall(rec));
  }

  /** Which gateway/trunk is being tried (updated on each failover step). */
  routed(tenantId: string, id: string, sip: Partial<SipCallDetails>): void {
    this.enqueue(id, 'routed', () => this.o.repo.updateCall(tenantId, id, { sip: sip as SipCallDetails }));
  }

  answered(tenantId: string, id: string, sip: Partial<SipCallDetails>): void {
    const at = isoTime(this.o.clock.now());
    this.enqueue(id, 'answered', () => this.o.repo.updateCall(tenantId, id, { state: 'active', answeredAt: at, sip: { ...sip, sipStatus: 200 } as SipCallDetails }));
  }

  ended(tenantId: string, id: string, o: { answeredAtMs?: number; reason: HangupReason; endedBy: string; sipStatus?: number; sipReason?: string; quality?: MediaQuality; route?: { trunkId?: string; gatewayId?: string } }): void {
    const now = this.o.clock.now();
    const q = o.quality;
    const quality = q && (q.mos !== undefined || q.packetLossPct !== undefined)
      ? { ...(q.mos !== undefined ? { mos: q.mos } : {}), ...(q.packetLossPct !== undefined ? { packetLossPct: q.packetLossPct } : {}), ...(q.jitterMs !== undefined ? { jitterMs: q.jitterMs } : {}), ...(q.rttMs !== undefined ? { rttMs: q.rttMs } : {}) }
      : undefined;
    const sip: Partial<SipCallDetails> = {
      ...(o.route ?? {}),
      ...(o.sipStatus !== undefined ? { sipStatus: o.sipStatus } : {}),
      ...(o.sipReason ? { sipReason: o.sipReason } : {}),
      ...(quality ? { quality } : {}),
    };
    this.enqueue(id, 'ended', () => this.o.repo.updateCall(tenantId, id, {
      state: 'ended',
      endedAt: isoTime(now),
      durationSeconds: o.answeredAtMs ? Math.round((now - o.answeredAtMs) / 100) / 10 : 0,
      endReason: o.reason,
      endedBy: o.endedBy,
      ...(Object.keys(sip).length ? { sip: sip as SipCallDetails } : {}),
    }));
  }

  /** Resolves when every queued write has finished (shutdown, tests). */
  async flush(): Promise<void> {
    while (this.chains.size) await Promise.all([...this.chains.values()]);
  }
}
