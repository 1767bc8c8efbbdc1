/**
 * Call records of SIP calls: one item per call (attempt → answered → ended) through SipRepository.
 * Writes are fire-and-forget from the call's point of view (a storage hiccup must not drop a call) but
 * ordered per call, and every failure is logged at warn.
 *
 * Coalescing (benchmarks: storage writes were the CPS bottleneck): a step is held for `coalesceMs` (default 1 s)
 * and merged with the next ones; the end of a call writes at once. A call shorter than `coalesceMs` costs ONE
 * write (the final record) instead of three; a longer one shows up as ringing/active within `coalesceMs`.
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

type CallPatch = Parameters<SipRepository['updateCall']>[2];

interface Pending { tenantId: string; rec?: SipCallRecord; patch?: CallPatch; timer: NodeJS.Timeout }

function mergePatch<T extends { sip?: unknown }>(base: T, patch: CallPatch): T {
  const sip = patch.sip || base.sip ? { ...(base.sip as object | undefined), ...(patch.sip as object | undefined) } : undefined;
  return { ...base, ...patch, ...(sip ? { sip } : {}) } as T;
}

export class CdrWriter {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly pending = new Map<string, Pending>();
  private readonly coalesceMs: number;

  constructor(private readonly o: { repo: Pick<SipRepository, 'putCall' | 'updateCall'>; clock: Clock; log: Logger; coalesceMs?: number }) {
    this.coalesceMs = o.coalesceMs ?? 1000;
  }

  /** Holds a step for coalescing (or writes it now when coalescing is off / `now`). */
  private hold(tenantId: string, id: string, step: { rec?: SipCallRecord; patch?: CallPatch }, now = false): void {
    let p = this.pending.get(id);
    if (p) {
      if (step.rec) p.rec = step.rec;
      if (step.patch) {
        if (p.rec) p.rec = mergePatch(p.rec, step.patch);
        else p.patch = p.patch ? mergePatch(p.patch, step.patch) : step.patch;
      }
    } else {
      p = { tenantId, ...step, timer: setTimeout(() => this.release(id), this.coalesceMs) };
      p.timer.unref();
      this.pending.set(id, p);
    }
    if (now || this.coalesceMs <= 0) this.release(id);
  }

  private release(id: string): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (p.rec) {
      const rec = p.rec;
      this.enqueue(id, 'record', () => this.o.repo.putCall(rec));
    } else if (p.patch) {
      const patch = p.patch;
      this.enqueue(id, 'update', () => this.o.repo.updateCall(p.tenantId, id, patch));
    }
  }

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
    this.hold(c.tenantId, c.id, { rec });
  }

  /** Which gateway/trunk is being tried (updated on each failover step). */
  routed(tenantId: string, id: string, sip: Partial<SipCallDetails>): void {
    this.hold(tenantId, id, { patch: { sip: sip as SipCallDetails } });
  }

  answered(tenantId: string, id: string, sip: Partial<SipCallDetails>): void {
    const at = isoTime(this.o.clock.now());
    this.hold(tenantId, id, { patch: { state: 'active', answeredAt: at, sip: { ...sip, sipStatus: 200 } as SipCallDetails } });
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
    this.hold(tenantId, id, { patch: {
      state: 'ended',
      endedAt: isoTime(now),
      durationSeconds: o.answeredAtMs ? Math.round((now - o.answeredAtMs) / 100) / 10 : 0,
      endReason: o.reason,
      endedBy: o.endedBy,
      ...(Object.keys(sip).length ? { sip: sip as SipCallDetails } : {}),
    } }, true);
  }

  /** Resolves when every queued write has finished (shutdown, tests). */
  async flush(): Promise<void> {
    for (const id of [...this.pending.keys()]) this.release(id);
    while (this.chains.size) await Promise.all([...this.chains.values()]);
  }
}
