/**
 * Voice legs: one SIP (or browser) party anchored through rtpengine to an RtpEndpoint in this process.
 * rtpengine monologue tags: `a` = the far party (phone, trunk, browser), `b` = our endpoint.
 *
 * - Inbound: the INVITE we received. rtpengine offer with the caller's SDP → endpoint.answer() → rtpengine answer →
 *   that SDP goes into our 200 OK when the document answers (`answer()`); `ring()` sends 180.
 * - Outbound (originate, dial): endpoint.offer() → rtpengine offer → INVITE to the target (trunk gateways with
 *   failover, registered devices, a SIP URI) via the dialer, or the IdentityRinger for a WebRTC identity (webrtc
 *   profile) → rtpengine answer with the callee's SDP → endpoint.accept().
 */
import Srf from 'drachtio-srf';
import type { Logger } from '../../core/logging.js';
import type { SipRepository } from '../../core/storage/sip-types.js';
import type { DialTargetSpec } from '../../core/protocol/voice.js';
import { AppError, toAppError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { MediaSession, type RtpEngineNode } from '../media/rtpengine.js';
import { dial, shouldFailover } from '../calls/dialer.js';
import { parseDtmfInfo } from '../calls/dtmf.js';
import { sipStatusOf } from '../calls/bridge.js';
import type { IdentityRinger, BrowserLeg } from '../calls/identity-ringer.js';
import type { DialTarget } from '../routing/target.js';
import { planOutbound } from '../routing/lcr.js';
import { toE164, userOf } from '../routing/numbers.js';
import { RtpEndpoint, type RtpPortPool } from './media/rtp-endpoint.js';

const TAGS = { a: 'far', b: 'endpoint' };

export interface LegDeps {
  srf: Srf & Srf.SrfExtras;
  repo: SipRepository;
  pickMedia(): RtpEngineNode;
  ports: RtpPortPool;
  ringer: IdentityRinger;
  localHost(): string;
  limits: { ringTimeoutSeconds: number; gatewayTimeoutSeconds: number };
  log: Logger;
}

export type LegEnd = 'remote' | 'local';

/** One anchored party. */
export abstract class VoiceLeg {
  ended = false;
  private readonly endCbs = new Set<(by: LegEnd) => void>();
  private readonly infoCbs = new Set<(digit: string) => void>();
  dialog?: Srf.Dialog;
  browser?: BrowserLeg;

  constructor(readonly endpoint: RtpEndpoint, readonly media: MediaSession, readonly label: string, protected readonly log: Logger) {}

  onEnded(cb: (by: LegEnd) => void): () => void {
    if (this.ended) {
      cb('remote');
      return () => undefined;
    }
    this.endCbs.add(cb);
    return () => this.endCbs.delete(cb);
  }

  /** DTMF received as SIP INFO on this leg. */
  onInfoDtmf(cb: (digit: string) => void): () => void {
    this.infoCbs.add(cb);
    return () => this.infoCbs.delete(cb);
  }

  protected markEnded(by: LegEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.endpoint.close();
    void this.media.delete();
    for (const cb of [...this.endCbs]) cb(by);
    this.endCbs.clear();
  }

  /** In-dialog handlers of a connected SIP dialog (BYE, re-INVITE through rtpengine, INFO DTMF). */
  protected attachDialog(d: Srf.Dialog): void {
    this.dialog = d;
    d.on('destroy', () => {
      this.log.info({ leg: this.label }, 'BYE received');
      this.markEnded('remote');
    });
    d.on('modify', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
      void (async () => {
        try {
          if (!req.body) return res.send(200, { body: d.local.sdp, headers: { 'Content-Type': 'application/sdp' } });
          const toEp = await this.media.offer(req.body, 'a', 'sip');
          const epAnswer = this.endpoint.answer(toEp);
          const out = await this.media.answer(epAnswer, 'a', 'sip');
          res.send(200, { body: out, headers: { 'Content-Type': 'application/sdp' } });
        } catch (err) {
          this.log.warn({ err }, 're-INVITE on a voice leg failed');
          res.send(500);
        }
      })();
    });
    d.on('info', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
      const dtmf = parseDtmfInfo(req.get('Content-Type'), req.body);
      res.send(dtmf || !req.body ? 200 : 415);
      if (dtmf) for (const cb of this.infoCbs) cb(dtmf.digit);
    });
    if (!d.connected) this.markEnded('remote');
  }

  /** Hangs up this leg from our side (BYE / browser hangup / final response); idempotent. */
  async hangup(status = 480): Promise<void> {
    if (this.ended) return;
    try {
      if (this.dialog?.connected) await this.dialog.destroy();
      else if (this.browser) await this.browser.hangup('local-hangup');
      else await this.rejectUnanswered(status);
    } catch (err) {
      this.log.warn({ err }, 'hanging up a voice leg failed');
    }
    this.markEnded('local');
  }

  protected rejectUnanswered(_status: number): Promise<void> {
    return Promise.resolve();
  }

  get answered(): boolean {
    return !!this.dialog || !!this.browser;
  }
}

/** The caller of an inbound call: anchored before the document runs, answered on demand. */
export class InboundLeg extends VoiceLeg {
  private answering?: Promise<void>;
  private localSdp = '';
  private rang = false;
  cancelled = false;

  private constructor(endpoint: RtpEndpoint, media: MediaSession, label: string, log: Logger, private readonly deps: LegDeps, readonly req: Srf.SrfRequest, readonly res: Srf.SrfResponse) {
    super(endpoint, media, label, log);
    req.on('cancel', () => {
      this.cancelled = true;
      this.log.info('caller cancelled');
      this.markEnded('remote');
    });
  }

  static async anchor(deps: LegDeps, callId: string, req: Srf.SrfRequest, res: Srf.SrfResponse, log: Logger): Promise<InboundLeg> {
    const endpoint = await RtpEndpoint.create(deps.ports);
    const media = new MediaSession(deps.pickMedia(), callId, log, { ...TAGS });
    media.sides.b = 'internal'; // side b is our endpoint (VPC address on AWS), side a the caller
    const leg = new InboundLeg(endpoint, media, userOf(req.get('From')), log, deps, req, res);
    try {
      const toEp = await media.offer(req.body, 'a', 'sip');
      const epAnswer = endpoint.answer(toEp);
      leg.localSdp = await media.answer(epAnswer, 'a', 'sip');
    } catch (err) {
      endpoint.close();
      await media.delete();
      throw err;
    }
    return leg;
  }

  ring(): void {
    if (this.rang || this.ended || this.res.finalResponseSent) return;
    this.rang = true;
    this.res.send(180);
  }

  /** Sends 200 OK (once); rejects when the caller is gone. */
  answer(): Promise<void> {
    this.answering ??= (async () => {
      if (this.ended) throw new AppError('CALL_NOT_FOUND', 'caller hung up');
      const uas = await this.deps.srf.createUAS(this.req, this.res, { localSdp: this.localSdp, headers: { 'Content-Type': 'application/sdp' } });
      this.attachDialog(uas);
    })();
    return this.answering;
  }

  protected override rejectUnanswered(status: number): Promise<void> {
    if (!this.res.finalResponseSent && !this.cancelled) this.res.send(status);
    return Promise.resolve();
  }
}

/** A party we called. */
export class OutboundLeg extends VoiceLeg {
  attachSip(d: Srf.Dialog): void {
    this.attachDialog(d);
  }

  attachBrowser(b: BrowserLeg): void {
    this.browser = b;
    b.onHangup(() => this.markEnded('remote'));
  }
}

export type PlaceResult = { ok: true; leg: OutboundLeg; target: string } | { ok: false; status: number; reason: string };

export interface PlaceOptions {
  tenantId: string;
  callId: string;
  /** Caller id user part (number, SIP user, identity). */
  from: string;
  timeoutMs: number;
  signal: AbortSignal;
  onRinging?(): void;
}

/** Resolves a DialTargetSpec to SIP targets (LCR, registrations, URI) or `identity`. */
export async function resolveTarget(deps: LegDeps, tenantId: string, spec: DialTargetSpec, fromUser: string): Promise<{ kind: 'sip'; targets: DialTarget[] } | { kind: 'identity'; identity: string } | { kind: 'none'; status: number }> {
  switch (spec.type) {
    case 'phone': {
      const e164 = toE164(spec.number);
      if (!e164) return { kind: 'none', status: 404 };
      const targets = await planOutbound(deps.repo, { tenantId, e164, fromUser, headers: {} });
      return targets.length ? { kind: 'sip', targets } : { kind: 'none', status: 503 };
    }
    case 'user': {
      const user = await deps.repo.getUser(tenantId, spec.name);
      if (!user || !user.enabled) return { kind: 'none', status: 404 };
      const regs = (await deps.repo.registrations(tenantId, user.username)).sort((a, b) => b.expiresAt - a.expiresAt);
      if (regs.length === 0) return user.identity ? { kind: 'identity', identity: user.identity } : { kind: 'none', status: 480 };
      return {
        kind: 'sip',
        targets: regs.map((reg) => ({
          kind: 'device' as const, uri: reg.contact.replace(/^<|>$/g, ''),
          proxy: `sip:${reg.source.address}:${reg.source.port};transport=${reg.source.transport === 'tcp' ? 'tcp' : 'udp'}`,
          fromUser, toUser: user.username, toHost: user.domain, headers: {}, username: user.username, label: `${user.username}/${reg.contactId}`,
        })),
      };
    }
    case 'sip': {
      const m = /^sips?:(?:([^@;>]+)@)?([^;>?]+)/.exec(spec.uri);
      if (!m) return { kind: 'none', status: 404 };
      return { kind: 'sip', targets: [{ kind: 'device', uri: spec.uri, fromUser, toUser: m[1] ?? '', toHost: m[2]!, headers: {}, label: spec.uri }] };
    }
    case 'identity':
      return { kind: 'identity', identity: spec.identity };
  }
}

/** Calls one DialTargetSpec; resolves when it answers or fails (never rejects). */
export async function placeCall(deps: LegDeps, spec: DialTargetSpec, o: PlaceOptions): Promise<PlaceResult> {
  const log = deps.log.child({ callId: o.callId });
  let resolved;
  try {
    resolved = await resolveTarget(deps, o.tenantId, spec, o.from);
  } catch (err) {
    log.warn({ err }, 'resolving a dial target failed');
    return { ok: false, status: 500, reason: 'Server Error' };
  }
  if (resolved.kind === 'none') return { ok: false, status: resolved.status, reason: 'Not Reachable' };
  if (o.signal.aborted) return { ok: false, status: 487, reason: 'Request Terminated' };
  const endpoint = await RtpEndpoint.create(deps.ports);
  const media = new MediaSession(deps.pickMedia(), newId('vl'), log, { ...TAGS });
  media.sides.b = 'internal'; // side b is our endpoint, side a the callee
  const leg = new OutboundLeg(endpoint, media, labelOf(spec), log);
  const fail = async (status: number, reason: string): Promise<PlaceResult> => {
    endpoint.close();
    await media.delete();
    return { ok: false, status, reason };
  };
  try {
    if (resolved.kind === 'identity') {
      const sdp = await media.offer(endpoint.offer(), 'b', 'webrtc');
      const ac = new AbortController();
      const onAbort = () => ac.abort();
      o.signal.addEventListener('abort', onAbort);
      const timer = setTimeout(() => ac.abort(), o.timeoutMs);
      try {
        const browser = await deps.ringer.ring({
          tenantId: o.tenantId, identity: resolved.identity, callId: o.callId, caller: { uri: `sip:${o.from}@${deps.localHost()}` }, sdp, signal: ac.signal,
          onRinging: () => o.onRinging?.(),
        });
        endpoint.accept(await media.answer(browser.answerSdp, 'b', 'sip'));
        leg.attachBrowser(browser);
        return { ok: true, leg, target: resolved.identity };
      } catch (err) {
        const status = ac.signal.aborted ? (o.signal.aborted ? 487 : 480) : sipStatusOf(err instanceof AppError ? err : toAppError(err));
        return await fail(status, 'Identity Unavailable');
      } finally {
        clearTimeout(timer);
        o.signal.removeEventListener('abort', onAbort);
      }
    }
    const sdp = await media.offer(endpoint.offer(), 'b', 'sip');
    let last = { status: 480, reason: 'No Answer' };
    for (const [i, target] of resolved.targets.entries()) {
      if (o.signal.aborted) break;
      const attempt = dial({
        srf: deps.srf, target, sdp,
        from: `<sip:${o.from}@${deps.localHost()}>`,
        to: `<sip:${target.toUser ? `${target.toUser}@` : ''}${target.toHost}>`,
        gatewayTimeoutMs: target.kind === 'gateway' ? deps.limits.gatewayTimeoutSeconds * 1000 : o.timeoutMs,
        ringTimeoutMs: o.timeoutMs,
        onProvisional: () => o.onRinging?.(),
        log,
      });
      const onAbort = () => attempt.abort(487, 'Request Terminated');
      o.signal.addEventListener('abort', onAbort);
      const out = await attempt.outcome;
      o.signal.removeEventListener('abort', onAbort);
      if (out.kind === 'answered') {
        if (o.signal.aborted) {
          out.dialog.destroy();
          return await fail(487, 'Request Terminated');
        }
        endpoint.accept(await media.answer(out.dialog.remote.sdp, 'b', 'sip'));
        leg.attachSip(out.dialog);
        return { ok: true, leg, target: target.label };
      }
      last = out;
      if (!shouldFailover(out.status) || i === resolved.targets.length - 1) break;
    }
    return await fail(o.signal.aborted ? 487 : last.status, last.reason);
  } catch (err) {
    log.warn({ err: err instanceof Srf.SipError ? AppError.fromSipError(err) : err }, 'placing a voice leg failed');
    return await fail(503, 'Service Unavailable');
  }
}

export function labelOf(spec: DialTargetSpec): string {
  switch (spec.type) {
    case 'phone': return spec.number;
    case 'sip': return spec.uri;
    case 'user': return spec.name;
    case 'identity': return spec.identity;
  }
}
