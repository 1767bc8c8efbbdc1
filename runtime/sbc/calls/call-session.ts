/**
 * One call through the SBC: owns the A leg (the INVITE we received), the B leg (the dialog we created),
 * the rtpengine session and every cleanup path. Built by the INVITE handler after admission and routing.
 *
 * Lifecycle: offer to rtpengine → try targets in order (failover on 408/5xx only) while relaying 180/183
 * (early media through rtpengine) → answer to rtpengine → 200 to A → bridged (re-INVITE, UPDATE, INFO,
 * REFER relayed) → BYE either side → both legs down, rtpengine deleted, CDR closed. rtpengine is released
 * in `finish()` on every path, exactly once.
 */
import Srf from 'drachtio-srf';
import type { Logger } from '../../core/logging.js';
import type { Clock } from '../../core/clock.js';
import type { HangupReason } from '../../core/protocol/events.js';
import { AppError, toAppError } from '../../core/errors.js';
import type { MediaSession } from '../media/rtpengine.js';
import type { MediaQuality } from '../media/quality.js';
import type { CdrWriter } from '../cdr/cdr-writer.js';
import type { SbcMetrics } from '../control/metrics.js';
import type { DialTarget } from '../routing/target.js';
import type { DtmfEventListener } from '../media/dtmf-events.js';
import { dial, shouldFailover, type Attempt, type AttemptOutcome } from './dialer.js';
import { bridge } from './bridge.js';
import { dtmfOfferOptions, hasTelephoneEvent } from './dtmf.js';

export interface CallSessionDeps {
  srf: Srf & Srf.SrfExtras;
  clock: Clock;
  cdr: CdrWriter;
  metrics: SbcMetrics;
  limits: { ringTimeoutSeconds: number; gatewayTimeoutSeconds: number; maxCallSeconds: number };
  /** host[:port] the far side sees us as (From/To host of B legs). */
  localHost(): string;
  /** A call ended with measured quality on a trunk gateway. */
  onGatewayQuality?(tenantId: string, trunkId: string, gatewayId: string, q: MediaQuality): void;
  /** Every call's end, with its final media counters (benchmarks, the gateway's bookkeeping). */
  onCallEnded?(info: CallInfo, quality: MediaQuality | undefined): void;
  /** rtpengine's DTMF log (RFC 2833 → SIP INFO toward legs without telephone-event); absent = no conversion. */
  dtmfEvents?: DtmfEventListener;
  /** A telephone-event was sent on as SIP INFO (metrics, tests). */
  onDtmfRelayed?(call: CallSession, digit: string): void;
  /** Resolves routing for a blind transfer's Refer-To target (same tenant). */
  resolveTransfer?(call: CallSession, referTo: string): Promise<DialTarget[]>;
}

export interface CallInfo {
  id: string;
  tenantId: string;
  direction: 'inbound' | 'outbound';
  fromUri: string;
  toUri: string;
  /** Caller presented on the B leg (user part). */
  callerUser: string;
}

export type CallState = 'routing' | 'ringing' | 'answered' | 'ended';

export class CallSession {
  state: CallState = 'routing';
  uas?: Srf.Dialog;
  uac?: Srf.Dialog;
  target?: DialTarget;
  readonly log: Logger;
  readonly startedAt: number;
  answeredAt?: number;
  /** B-leg attempts in flight (several while forking). */
  private readonly current = new Set<Attempt>();
  private cancelled = false;
  private readonly cancelController = new AbortController();
  /** Aborted when the caller CANCELs. */
  readonly cancelSignal = this.cancelController.signal;
  private ended?: Promise<void>;
  private maxTimer?: NodeJS.Timeout;
  private readonly endedCbs: Array<() => void> = [];

  constructor(
    readonly deps: CallSessionDeps,
    readonly info: CallInfo,
    readonly req: Srf.SrfRequest,
    readonly res: Srf.SrfResponse,
    readonly media: MediaSession,
    log: Logger,
  ) {
    this.log = log.child({ callId: info.id });
    this.startedAt = deps.clock.now();
    req.on('cancel', () => {
      this.cancelled = true;
      this.cancelController.abort();
      this.log.info('caller cancelled');
      for (const a of this.current) a.abort(487, 'Request Terminated');
    });
  }

  onEnded(cb: () => void): void {
    this.endedCbs.push(cb);
  }

  // --- consent: callbacks once both legs are up (policy recordings' consent announcement) ---
  private readonly answeredCbs: Array<() => void> = [];
  onAnswered(cb: () => void): void {
    this.answeredCbs.push(cb);
  }
  // --- end consent ---

  /** Routes the call to the targets in order; never throws (failures answer A and clean up). */
  async connect(targets: DialTarget[]): Promise<void> {
    const d = this.deps;
    let offer: string;
    try {
      offer = await this.media.offer(this.req.body, 'a', 'sip');
    } catch (err) {
      this.log.error({ err }, 'rtpengine offer failed');
      return this.fail(503, 'Service Unavailable', 'error');
    }
    let last = { status: 503, reason: 'Service Unavailable', timeout: false };
    let allTimeouts = true;
    const steps = forkGroups(targets);
    for (const [i, group] of steps.entries()) {
      if (this.cancelled) break;
      const out = group.length === 1 ? await this.attempt(group[0]!, offer) : await this.fork(group, offer);
      if (out.kind === 'answered') return this.answered(out.dialog);
      last = out;
      if (!out.timeout) allTimeouts = false;
      const more = i < steps.length - 1;
      if (this.cancelled || !shouldFailover(out.status) || !more) break;
      d.metrics.gatewayFailovers.inc();
      this.log.info({ target: this.target?.label, status: out.status }, 'attempt failed; trying the next target');
    }
    if (this.cancelled) return this.fail(487, 'Request Terminated', 'cancelled');
    if (targets.length > 1 && shouldFailover(last.status)) {
      // No route left: 504 when every gateway timed out, else 503; the Reason says why.
      return allTimeouts ? this.fail(504, 'Gateway Timeout', 'no-answer', 'all gateways timed out') : this.fail(503, 'Service Unavailable', 'error', `all gateways failed (last ${last.status})`);
    }
    const reason: HangupReason = last.status === 486 || last.status === 600 ? 'busy' : last.status === 480 || last.status === 408 ? 'no-answer' : last.status === 603 ? 'rejected' : 'error';
    return this.fail(last.status, last.reason, reason);
  }

  private dialTarget(target: DialTarget, offer: string): Attempt {
    const d = this.deps;
    const attempt = dial({
      srf: d.srf,
      target,
      sdp: offer,
      from: `<sip:${this.info.callerUser}@${d.localHost()}>`,
      to: `<sip:${target.toUser}@${target.toHost}>`,
      gatewayTimeoutMs: target.kind === 'gateway' ? d.limits.gatewayTimeoutSeconds * 1000 : d.limits.ringTimeoutSeconds * 1000,
      ringTimeoutMs: d.limits.ringTimeoutSeconds * 1000,
      onProvisional: (r) => void this.relayProvisional(r),
      log: this.log,
    });
    this.current.add(attempt);
    void attempt.outcome.then(() => this.current.delete(attempt));
    return attempt;
  }

  /** One target (a gateway, or a user's only binding). */
  private async attempt(target: DialTarget, offer: string): Promise<AttemptOutcome> {
    this.target = target;
    return this.dialTarget(target, offer).outcome;
  }

  /**
   * Parallel forking to every binding of a SIP user: all ring at once, the first 2xx wins and the others are
   * CANCELled (a late 2xx is hung up by the dialer); if none answers, the best final response (bestFailure).
   * Early media: each 183 with SDP is answered to rtpengine in turn (the last one is heard).
   */
  private async fork(group: DialTarget[], offer: string): Promise<AttemptOutcome> {
    this.log.info({ targets: group.map((t) => t.label) }, 'forking to every binding');
    const attempts = group.map((t) => ({ target: t, attempt: this.dialTarget(t, offer) }));
    const failures: Array<{ status: number; reason: string; timeout: boolean }> = [];
    return new Promise<AttemptOutcome>((resolve) => {
      let won = false;
      for (const { target, attempt } of attempts) {
        void attempt.outcome.then((out) => {
          if (won) {
            if (out.kind === 'answered') out.dialog.destroy(); // two 2xx in the same tick (later ones: the dialer hangs up)
            return;
          }
          if (out.kind === 'answered') {
            won = true;
            this.target = target;
            for (const o of attempts) if (o.attempt !== attempt) o.attempt.abort(487, 'Request Terminated');
            this.log.info({ target: target.label }, 'fork answered; cancelling the other bindings');
            return resolve(out);
          }
          failures.push(out);
          if (failures.length === attempts.length) {
            this.target = group[0];
            resolve({ kind: 'failed', ...bestFailure(failures) });
          }
        });
      }
    });
  }

  private async relayProvisional(r: Srf.SrfResponse): Promise<void> {
    if (this.state === 'answered' || this.cancelled || this.res.finalResponseSent) return;
    this.state = 'ringing';
    try {
      if (r.body && r.status === 183) {
        const sdp = await this.media.answer(r.body, 'a', 'sip');
        if (!this.res.finalResponseSent && !this.cancelled) this.res.send(183, { body: sdp, headers: { 'Content-Type': 'application/sdp' } });
      } else if (!this.res.finalResponseSent) {
        this.res.send(r.status === 183 ? 183 : 180);
      }
    } catch (err) {
      this.log.warn({ err, status: r.status }, 'could not relay provisional response');
    }
  }

  /** Marks the call answered (both legs up): metrics, CDR, max-duration timer. */
  markAnswered(): void {
    const d = this.deps;
    this.state = 'answered';
    this.answeredAt = d.clock.now();
    d.metrics.callsAnswered.inc();
    d.metrics.setupSeconds.observe((this.answeredAt - this.startedAt) / 1000);
    d.cdr.answered(this.info.tenantId, this.info.id, this.routeDetails());
    this.log.info({ target: this.target?.label }, 'call answered');
    for (const cb of this.answeredCbs) cb(); // consent
    if (d.limits.maxCallSeconds > 0) {
      this.maxTimer = setTimeout(() => void this.hangup('local-hangup', 'max call duration'), d.limits.maxCallSeconds * 1000);
      this.maxTimer.unref();
    }
  }

  /** Trunk/gateway of the current target, for the call record. */
  routeDetails(): { trunkId?: string; gatewayId?: string } {
    const t = this.target;
    return { ...(t?.trunkId ? { trunkId: t.trunkId } : {}), ...(t?.gatewayId ? { gatewayId: t.gatewayId } : {}) };
  }

  get isCancelled(): boolean {
    return this.cancelled;
  }

  private async answered(uac: Srf.Dialog): Promise<void> {
    const d = this.deps;
    this.uac = uac;
    if (this.cancelled) {
      uac.destroy();
      return this.fail(487, 'Request Terminated', 'cancelled');
    }
    let uas: Srf.Dialog;
    try {
      if (d.dtmfEvents && hasTelephoneEvent(this.req.body) && !hasTelephoneEvent(uac.remote.sdp)) {
        // RFC 2833 → INFO: the callee lacks telephone-event; offer again with `always transcode` (same ports) so
        // rtpengine keeps telephone-event toward the caller and logs its events (calls/dtmf.ts).
        await this.media.offer(this.req.body, 'a', 'sip', dtmfOfferOptions(this.req.body, true));
      }
      const sdp = await this.media.answer(uac.remote.sdp, 'a', 'sip');
      uas = await d.srf.createUAS(this.req, this.res, { localSdp: sdp, headers: { 'Content-Type': 'application/sdp', ...sessionTimerHeaders(uac, this.req) } });
    } catch (err) {
      const e = err instanceof Srf.SipError ? AppError.fromSipError(err) : toAppError(err);
      this.log.warn({ err: e }, 'answering the caller failed; hanging up the callee');
      uac.destroy();
      return this.fail(this.cancelled ? 487 : 500, this.cancelled ? 'Request Terminated' : 'Server Internal Error', this.cancelled ? 'cancelled' : 'error');
    }
    this.uas = uas;
    this.markAnswered();
    bridge(this);
  }

  /** Ends an answered call from the SBC side (both legs). */
  async hangup(reason: HangupReason, why: string): Promise<void> {
    this.log.info({ why }, 'hanging up both legs');
    await Promise.all([this.destroyLeg(this.uas), this.destroyLeg(this.uac)]);
    await this.finish(reason, 'sbc', 200);
  }

  async destroyLeg(d?: Srf.Dialog): Promise<void> {
    if (!d || !d.connected) return;
    try {
      await d.destroy();
    } catch (err) {
      this.log.warn({ err }, 'BYE failed');
    }
  }

  /** A failed or cancelled call: answer A (unless the engine already did: CANCEL → 487) and clean up. */
  async fail(status: number, reason: string, hangup: HangupReason, why?: string): Promise<void> {
    if (!this.res.finalResponseSent && !this.cancelled) {
      try {
        this.res.send(status, reason, why ? { headers: { Reason: `SIP;cause=${status};text="${why}"` } } : {});
      } catch (err) {
        this.log.warn({ err }, 'sending the final response failed');
      }
    }
    const counted = hangup === 'error' || hangup === 'no-answer';
    if (counted) this.deps.metrics.callsFailed.inc();
    this.log.info({ status, reason: why ?? reason }, 'call failed');
    await this.finish(hangup, 'sbc', status, reason);
  }

  /** Releases everything exactly once: rtpengine, timers, CDR, listeners. */
  finish(reason: HangupReason, by: string, sipStatus?: number, sipReason?: string): Promise<void> {
    this.ended ??= (async () => {
      this.state = 'ended';
      if (this.maxTimer) clearTimeout(this.maxTimer);
      let quality: MediaQuality | undefined;
      try {
        quality = await this.media.delete();
      } finally {
        const t = this.target;
        if (quality?.mos !== undefined && t?.trunkId && t.gatewayId) this.deps.onGatewayQuality?.(this.info.tenantId, t.trunkId, t.gatewayId, quality);
        this.deps.cdr.ended(this.info.tenantId, this.info.id, {
          ...(this.answeredAt ? { answeredAtMs: this.answeredAt } : {}),
          reason, endedBy: by, route: this.routeDetails(),
          ...(sipStatus !== undefined ? { sipStatus } : {}),
          ...(sipReason ? { sipReason } : {}),
          ...(quality ? { quality } : {}),
        });
        if (this.answeredAt) this.log.info({ reason, by, durationMs: this.deps.clock.now() - this.answeredAt, mos: quality?.mos, packets: quality?.totalPackets }, 'call ended');
        this.deps.onCallEnded?.(this.info, quality);
        for (const cb of this.endedCbs) cb();
      }
    })();
    return this.ended;
  }
}

/**
 * Session timers pass through (the SBC has no refresher of its own): the callee's Session-Expires in its 200
 * goes to the caller, with `Require: timer` only when the caller said it supports timers.
 */
function sessionTimerHeaders(uac: Srf.Dialog, req: Srf.SrfRequest): Record<string, string> {
  const res = (uac as unknown as { res?: { has(n: string): boolean; get(n: string): string } }).res;
  if (!res?.has('Session-Expires')) return {};
  const supportsTimer = req.has('Supported') && /\btimer\b/i.test(req.get('Supported'));
  return { 'Session-Expires': res.get('Session-Expires'), ...(supportsTimer && res.has('Require') && /\btimer\b/i.test(res.get('Require')) ? { Require: 'timer' } : {}) };
}

/** Consecutive device targets of the same SIP user ring in parallel; everything else is one step per target. */
export function forkGroups(targets: DialTarget[]): DialTarget[][] {
  const out: DialTarget[][] = [];
  for (const t of targets) {
    const prev = out[out.length - 1];
    if (prev && t.kind === 'device' && t.username && prev[0]!.kind === 'device' && prev[0]!.username === t.username) prev.push(t);
    else out.push([t]);
  }
  return out;
}

/**
 * The final response of a fork where nobody answered (RFC 3261 §16.7 "best response"): any 6xx; else the
 * lowest class; inside 4xx, a definite answer (486 busy first) beats 408/480 (nobody there); a timeout only
 * when everything timed out.
 */
export function bestFailure(fs: Array<{ status: number; reason: string; timeout: boolean }>): { status: number; reason: string; timeout: boolean } {
  const rank = (s: number): number => {
    if (s >= 600) return 0;
    if (s === 486) return 1;
    if (s >= 400 && s < 500 && s !== 408 && s !== 480 && s !== 487) return 2;
    if (s === 480) return 3;
    if (s === 408) return 4;
    if (s >= 500 && s < 600) return 5;
    return 6;
  };
  const best = [...fs].sort((x, y) => rank(x.status) - rank(y.status))[0] ?? { status: 480, reason: 'Temporarily Unavailable', timeout: false };
  return { ...best, timeout: fs.every((f) => f.timeout) };
}
