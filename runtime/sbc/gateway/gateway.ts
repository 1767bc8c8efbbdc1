/**
 * The WebRTC ⇄ SIP gateway inside the SBC (docs/gateway.md).
 *
 * Outbound (browser dials): signalling calls `POST /v1/gateway/calls` on the SBC's private control server → the
 * target is resolved (tenant SIP user, E.164 through LCR, or an external SIP URI when allowed) → rtpengine offer
 * with the browser as side 'a' and the plain-RTP profile toward SIP (+ the codec decision of sdp.ts) → `{ callId }`
 * → the SIP call is placed (failover over the targets like CallSession) and progress/answer/end are pushed to
 * signalling through the notifier. The SIP answer goes back through rtpengine with the WebRTC profile and BUNDLE
 * re-added.
 *
 * Inbound (SIP to an identity): `ringer` implements the SBC's IdentityRinger: the browser offer is redone with the
 * codec decision, `dial:incoming` goes to the identity's sockets, and `POST /v1/gateway/calls/{id}/answer` (or a
 * hangup = decline, or the ring timeout) settles it.
 *
 * Control (`POST /v1/gateway/calls/{id}/control`): hangup, hold/resume (re-INVITE sendonly/sendrecv on the SIP leg),
 * DTMF (RFC 2833 injected by rtpengine when the SIP leg negotiated telephone-event, else SIP INFO), transfer (REFER
 * to the SIP party). Every request names tenant + identity; a call of another tenant or identity is CALL_NOT_FOUND.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import Srf from 'drachtio-srf';
import { Type, type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import type { Logger } from '../../core/logging.js';
import type { Clock } from '../../core/clock.js';
import { isoTime } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import type { CallOwnershipHook } from '../ownership.js'; // sbc-cluster
import { AppError, toAppError } from '../../core/errors.js';
import type { HangupReason } from '../../core/protocol/events.js';
import type { SipRepository } from '../../core/storage/sip-types.js';
import type { CdrWriter } from '../cdr/cdr-writer.js';
import type { MediaNodePool } from '../media/node-pool.js';
import { MediaSession } from '../media/rtpengine.js';
import type { ControlServer, ControlRequest } from '../control/server.js';
import type { CallSession } from '../calls/call-session.js';
import type { BrowserLeg, IdentityRinger, RingRequest } from '../calls/identity-ringer.js';
import { dial, shouldFailover, type Attempt } from '../calls/dialer.js';
import { hasTelephoneEvent } from '../calls/dtmf.js';
import { planOutbound } from '../routing/lcr.js';
import { isNumberLike, toE164, userOf } from '../routing/numbers.js';
import type { DialTarget } from '../routing/target.js';
import { addBundle, browserOfferCodecs, browserOfferForRtpengine, cleanForSip, reanswer, rfc2833Usable, sipOfferCodecs, withDirection, type TranscodePolicy } from './sdp.js';
import { GATEWAY_SECRET_HEADER, type GatewayNotifier } from './notifier.js';
import type { RecordingPolicy, RecordableCall, RecordingController } from '../recording/recording.js';
import { MediaWatchdog } from './watchdog.js';

/** Reason header on the BYE the SBC sends when the browser's media stopped. */
const MEDIA_TIMEOUT_REASON = 'SIP;cause=408;text="browser media timeout"';

export interface GatewayOptions {
  /** Shared secret signalling sends in `x-cpaas-gateway-secret` (and the SBC sends back). */
  secret: string;
  ringTimeoutSeconds: number;
  transcode: TranscodePolicy;
  /** Whether browsers may dial SIP URIs outside the tenant (toll-fraud risk; off by default). */
  allowExternalSipUris: boolean;
  /** Vanished-browser watchdog (watchdog.ts): no RTP from the browser this long → the SIP leg is hung up. 0 = off. Default 30. */
  mediaTimeoutSeconds?: number;
  /** How often the watchdog queries rtpengine. Default 5. */
  watchdogIntervalSeconds?: number;
}

export interface GatewayDeps {
  srf: Srf & Srf.SrfExtras;
  repo: SipRepository;
  media: MediaNodePool;
  cdr: CdrWriter;
  clock: Clock;
  log: Logger;
  notifier: GatewayNotifier;
  limits: { ringTimeoutSeconds: number; gatewayTimeoutSeconds: number };
  localHost(): string;
  /** The SBC's CallSession of an inbound identity call (for control of its SIP leg). */
  findSession(callId: string): CallSession | undefined;
  options: GatewayOptions;
  /** Which tenants record from the start (runtime/sbc/recording). */
  recording?: RecordingPolicy;
  ownership?: CallOwnershipHook; // sbc-cluster: outbound calls registered before their id is returned
}

const Id = Type.String({ minLength: 1, maxLength: 64 });
export const GatewayDialBody = Type.Object({
  tenantId: Id, identity: Type.String({ minLength: 1, maxLength: 128 }), socketId: Type.String({ minLength: 1, maxLength: 64 }),
  to: Type.String({ minLength: 2, maxLength: 256 }), callerId: Type.Optional(Type.String({ maxLength: 64 })),
  sdp: Type.String({ minLength: 10, maxLength: 60_000 }),
  roomId: Type.Optional(Id), // media-services: per-room recording policy
}, { additionalProperties: false });
export const GatewayControlBody = Type.Object({
  tenantId: Id, identity: Type.String({ minLength: 1, maxLength: 128 }),
  action: Type.Union([Type.Literal('hangup'), Type.Literal('hold'), Type.Literal('resume'), Type.Literal('dtmf'), Type.Literal('transfer'), Type.Literal('record') /* media-services */]),
  digits: Type.Optional(Type.String({ pattern: '^[0-9*#A-D]{1,32}$' })),
  target: Type.Optional(Type.String({ maxLength: 256 })),
  // --- media-services: action 'record' (docs/recordings.md) ---
  recording: Type.Optional(Type.Union([Type.Literal('start'), Type.Literal('stop'), Type.Literal('pause'), Type.Literal('resume')])),
  announce: Type.Optional(Type.Boolean()),
  // --- end media-services ---
}, { additionalProperties: false });
export const GatewayAnswerBody = Type.Object({
  tenantId: Id, identity: Type.String({ minLength: 1, maxLength: 128 }), socketId: Type.String({ minLength: 1, maxLength: 64 }),
  sdp: Type.String({ minLength: 10, maxLength: 60_000 }),
}, { additionalProperties: false });

function parse<T extends TSchema>(schema: T, body: unknown): Static<T> {
  if (!Value.Check(schema, body)) {
    const first = Value.Errors(schema, body)[0];
    throw AppError.invalid(first ? `${first.instancePath || '/'} ${first.message}` : 'invalid body');
  }
  return body as Static<T>;
}

/** Constant-time comparison of the shared secret (hashes first so lengths never leak). */
export function secretMatches(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string' || !expected) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

type Owner = { tenantId: string; identity: string };

/** A browser → SIP call. The browser is rtpengine side 'a', the SIP callee side 'b'. */
class OutboundCall {
  state: 'routing' | 'ringing' | 'answered' | 'ended' = 'routing';
  uac?: Srf.Dialog;
  attempt?: Attempt;
  answeredAt?: number;
  target?: DialTarget;
  private ended = false;
  private hangupWanted = false;
  held = false;
  private unwatch?: () => void;

  constructor(
    readonly gw: Gateway,
    readonly id: string,
    readonly owner: Owner & { socketId: string },
    readonly media: MediaSession,
    readonly log: Logger,
  ) {}

  async place(targets: DialTarget[], offer: string, from: string): Promise<void> {
    const d = this.gw.deps;
    let last = { status: 503, reason: 'Service Unavailable' };
    for (const [i, target] of targets.entries()) {
      if (this.hangupWanted) break;
      this.target = target;
      d.cdr.routed(this.owner.tenantId, this.id, { ...(target.trunkId ? { trunkId: target.trunkId } : {}), ...(target.gatewayId ? { gatewayId: target.gatewayId } : {}) });
      this.attempt = dial({
        srf: d.srf, target, sdp: offer,
        from: `<sip:${from}@${d.localHost()}>`,
        to: `<sip:${target.toUser}@${target.toHost}>`,
        gatewayTimeoutMs: (target.kind === 'gateway' ? d.limits.gatewayTimeoutSeconds : d.limits.ringTimeoutSeconds) * 1000,
        ringTimeoutMs: d.limits.ringTimeoutSeconds * 1000,
        onProvisional: (r) => void this.provisional(r),
        log: this.log,
      });
      const out = await this.attempt.outcome;
      this.attempt = undefined;
      if (out.kind === 'answered') return this.answered(out.dialog);
      last = out;
      if (this.hangupWanted || !shouldFailover(out.status) || i === targets.length - 1) break;
      this.log.info({ target: target.label, status: out.status }, 'attempt failed; trying the next target');
    }
    if (this.hangupWanted) return this.end('cancelled', 'caller', 487);
    const s = last.status;
    const reason: HangupReason = s === 486 || s === 600 ? 'busy' : s === 480 || s === 408 ? 'no-answer' : s === 603 ? 'rejected' : 'error';
    this.log.info({ status: s }, 'call failed');
    return this.end(reason, 'callee', s, last.reason);
  }

  private async provisional(r: Srf.SrfResponse): Promise<void> {
    if (this.state !== 'routing' && this.state !== 'ringing') return;
    this.state = 'ringing';
    let sdp: string | undefined;
    if (r.status === 183 && r.body) {
      try {
        sdp = await this.gw.answerToBrowser(this.media, r.body);
      } catch (err) {
        this.log.warn({ err }, 'early media answer failed');
      }
    }
    await this.gw.deps.notifier.send({ type: 'progress', ...this.owner, callId: this.id, status: sdp ? 'early-media' : 'ringing', ...(sdp ? { sdp } : {}) });
  }

  private async answered(uac: Srf.Dialog): Promise<void> {
    const d = this.gw.deps;
    this.uac = uac;
    if (this.hangupWanted) {
      uac.destroy();
      return this.end('cancelled', 'caller', 487);
    }
    uac.on('destroy', () => {
      this.log.info('SIP party hung up');
      void this.end('remote-hangup', 'callee', 200);
    });
    uac.on('modify', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
      // Hold/resume from the phone: mirror its direction in our current SDP (rtpengine keeps relaying).
      res.send(200, { body: req.body ? reanswer(uac.local.sdp, req.body) : uac.local.sdp, headers: { 'Content-Type': 'application/sdp' } });
    });
    uac.on('info', (_req: Srf.SrfRequest, res: Srf.SrfResponse) => res.send(200));
    uac.on('notify', (_req: Srf.SrfRequest, res: Srf.SrfResponse) => res.send(200));
    let sdp: string;
    try {
      sdp = await this.gw.answerToBrowser(this.media, uac.remote.sdp);
    } catch (err) {
      this.log.error({ err }, 'rtpengine answer failed; hanging up');
      await this.destroyUac();
      return this.end('error', 'sbc', 500);
    }
    this.state = 'answered';
    this.answeredAt = d.clock.now();
    this.unwatch = this.gw.watchdog?.watch({
      id: this.id, browserTag: this.media.tags.a, query: () => this.media.query(), paused: () => this.held,
      onTimeout: () => void this.mediaTimeout(),
    });
    d.cdr.answered(this.owner.tenantId, this.id, {});
    this.log.info({ target: this.target?.label }, 'call answered');
    await d.notifier.send({ type: 'answered', ...this.owner, callId: this.id, sdp });
    if (!uac.connected) await this.end('remote-hangup', 'callee', 200);
    else if (this.gw.onOutboundAnswered) { const r = this.gw.recordable(this.id); if (r) this.gw.onOutboundAnswered(r, this.id); } // consent
  }

  /** The browser vanished (watchdog): BYE with a Reason to the SIP party, call record closed as media-timeout. */
  private async mediaTimeout(): Promise<void> {
    await this.destroyUac(MEDIA_TIMEOUT_REASON);
    await this.end('media-timeout', 'sbc', 200);
  }

  private async destroyUac(reason?: string): Promise<void> {
    if (!this.uac?.connected) return;
    try {
      await this.uac.destroy(reason ? { headers: { Reason: reason } } : {});
    } catch (err) {
      this.log.warn({ err }, 'BYE failed');
    }
  }

  async control(c: Static<typeof GatewayControlBody>): Promise<void> {
    switch (c.action) {
      case 'hangup':
        if (this.state === 'answered') {
          await this.destroyUac();
          return this.end('local-hangup', 'caller', 200);
        }
        this.hangupWanted = true;
        this.attempt?.abort(487, 'Request Terminated');
        return;
      case 'hold':
      case 'resume':
        await this.gw.reinvite(this.requireUac(), c.action === 'hold', this.log);
        this.held = c.action === 'hold';
        return;
      case 'dtmf':
        return this.gw.sendDtmf(this.requireUac(), this.media, 'b', c.digits ?? '', this.log);
      case 'transfer':
        return this.gw.refer(this.requireUac(), c.target ?? '', this.log);
      case 'record': // media-services
        this.requireUac();
        return this.gw.record({ tenantId: this.owner.tenantId, media: this.media, parties: [this.owner.identity, this.target?.toUser ?? 'sip'] }, this.id, c);
    }
  }

  private requireUac(): Srf.Dialog {
    if (this.state !== 'answered' || !this.uac?.connected) throw new AppError('CALL_STATE_CONFLICT', `call ${this.id} is not answered`);
    return this.uac;
  }

  async end(reason: HangupReason, by: string, sipStatus: number, sipReason?: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.state = 'ended';
    this.unwatch?.();
    const d = this.gw.deps;
    this.gw.calls.delete(this.id);
    d.ownership?.release(this.id); // sbc-cluster
    const quality = await this.media.delete();
    d.cdr.ended(this.owner.tenantId, this.id, {
      ...(this.answeredAt ? { answeredAtMs: this.answeredAt } : {}), reason, endedBy: by, sipStatus,
      ...(sipReason ? { sipReason } : {}), ...(quality ? { quality } : {}),
    });
    if (this.answeredAt) this.log.info({ reason, by, durationMs: d.clock.now() - this.answeredAt, packets: quality?.totalPackets }, 'call ended');
    // The browser asked for this end itself only on hangup; it still gets the event (idempotent on its side).
    await d.notifier.send({ type: 'ended', ...this.owner, callId: this.id, reason, sipStatus });
  }
}

/** A SIP → browser call (ringing or answered). The SIP caller is rtpengine side 'a', the browser side 'b'. */
class InboundCall {
  state: 'ringing' | 'answered' | 'ended' = 'ringing';
  socketId?: string;
  lastAnswer = '';
  settle?: { resolve(leg: BrowserLeg): void; reject(err: AppError): void };
  hangupCb?: (reason: string) => void;
  held = false;
  unwatch?: () => void;

  constructor(readonly gw: Gateway, readonly id: string, readonly owner: Owner, readonly log: Logger) {}

  session(): CallSession {
    const s = this.gw.deps.findSession(this.id);
    if (!s || this.state !== 'answered') throw new AppError('CALL_STATE_CONFLICT', `call ${this.id} is not answered`);
    return s;
  }

  async control(c: Static<typeof GatewayControlBody>): Promise<void> {
    if (c.action === 'hangup') {
      if (this.state === 'ringing') {
        this.log.info('declined by the browser');
        this.settle?.reject(new AppError('IDENTITY_UNAVAILABLE', 'declined', { sipStatus: 603 }));
        return;
      }
      this.state = 'ended';
      this.unwatch?.();
      this.gw.calls.delete(this.id);
      this.hangupCb?.('local-hangup');
      return;
    }
    const s = this.session();
    if (!s.uas?.connected) throw new AppError('CALL_STATE_CONFLICT', `call ${this.id} has no SIP leg`);
    if (c.action === 'hold' || c.action === 'resume') {
      await this.gw.reinvite(s.uas, c.action === 'hold', this.log);
      this.held = c.action === 'hold';
      return;
    }
    if (c.action === 'dtmf') return this.gw.sendDtmf(s.uas, s.media, 'a', c.digits ?? '', this.log);
    if (c.action === 'record') return this.gw.record({ tenantId: s.info.tenantId, media: s.media, parties: [s.info.fromUri, this.owner.identity] }, this.id, c); // media-services
    return this.gw.refer(s.uas, c.target ?? '', this.log);
  }
}

export class Gateway {
  readonly calls = new Map<string, OutboundCall | InboundCall>();
  readonly ringer: IdentityRinger;
  /** Vanished-browser watchdog (absent when mediaTimeoutSeconds is 0). */
  readonly watchdog?: MediaWatchdog;

  constructor(readonly deps: GatewayDeps) {
    this.ringer = { ring: (req) => this.ring(req) };
    const timeout = deps.options.mediaTimeoutSeconds ?? 30;
    if (timeout > 0) {
      this.watchdog = new MediaWatchdog({ intervalMs: (deps.options.watchdogIntervalSeconds ?? 5) * 1000, timeoutMs: timeout * 1000, clock: deps.clock, log: deps.log });
    }
  }

  // --- media-services: `record` control action (set by app.ts once the recording endpoint exists) ---
  recordingController?: RecordingController;
  async record(call: RecordableCall, callId: string, c: Static<typeof GatewayControlBody>): Promise<void> {
    if (!this.recordingController) throw new AppError('SERVICE_UNAVAILABLE', 'recording is not available on this SBC');
    await this.recordingController(call, callId, c.recording ?? 'start', c.announce);
  }
  // --- end media-services ---
  // --- consent: called when a browser → SIP call is answered (set by app.ts; policy recordings' announcement) ---
  onOutboundAnswered?: (call: RecordableCall, callId: string) => void;
  // --- end consent ---

  /** A browser-originated call for the recording endpoint (inbound ones are the SBC's own CallSessions). */
  recordable(callId: string): RecordableCall | undefined {
    const c = this.calls.get(callId);
    return c instanceof OutboundCall && c.media.active ? { tenantId: c.owner.tenantId, media: c.media, parties: [c.owner.identity, c.target?.toUser ?? 'sip'] } : undefined;
  }

  /** Browser-originated calls in progress (inbound ones are the SBC's own CallSessions). */
  get outboundCalls(): number {
    let n = 0;
    for (const c of this.calls.values()) if (c instanceof OutboundCall) n++;
    return n;
  }

  /** Mounts the three endpoints on the SBC's control server (every one checks the shared secret). */
  mount(control: ControlServer): void {
    const guard = (req: ControlRequest) => {
      if (!secretMatches(req.headers[GATEWAY_SECRET_HEADER], this.deps.options.secret)) throw AppError.unauthenticated('bad or missing gateway secret');
    };
    control.addRoute('POST', '/v1/gateway/calls', async (req) => {
      guard(req);
      return { status: 201, body: await this.dial(parse(GatewayDialBody, req.body)) };
    });
    control.addRoute('POST', '/v1/gateway/calls/:callId/control', async (req) => {
      guard(req);
      await this.control(req.params.callId ?? '', parse(GatewayControlBody, req.body));
      return { status: 200, body: {} };
    });
    control.addRoute('POST', '/v1/gateway/calls/:callId/answer', async (req) => {
      guard(req);
      await this.answer(req.params.callId ?? '', parse(GatewayAnswerBody, req.body));
      return { status: 200, body: {} };
    });
  }

  // ---- outbound -------------------------------------------------------------------------------------

  async dial(b: Static<typeof GatewayDialBody>): Promise<{ callId: string }> {
    const d = this.deps;
    const id = newId('ca');
    const log = d.log.child({ callId: id, gateway: 'outbound', tenantId: b.tenantId });
    const { targets, toLabel } = await this.resolve(b.tenantId, b.to, b.identity);
    const from = await this.callerId(b.tenantId, b.callerId, b.identity);
    const media = new MediaSession(d.media.pick(), id, log, { a: 'browser', b: 'sip' });
    d.recording?.apply(media, b.tenantId, id, [b.identity, toLabel], b.roomId ? { roomId: b.roomId } : {}); // media-services: room policy
    let offer: string;
    try {
      offer = cleanForSip(await media.offer(browserOfferForRtpengine(b.sdp, d.options.transcode), 'a', 'sip', browserOfferCodecs(b.sdp, d.options.transcode)));
    } catch (err) {
      await media.delete();
      throw err instanceof AppError ? err : new AppError('MEDIA_UNAVAILABLE', 'rtpengine offer failed', { retryable: true }, { cause: err });
    }
    await d.repo.putCall({
      id, tenantId: b.tenantId, kind: 'gateway', state: 'ringing',
      from: { identity: b.identity }, to: { identity: toLabel }, media: { audio: true, video: false },
      createdAt: isoTime(d.clock.now()),
      sip: { direction: 'outbound', fromUri: `webrtc:${b.identity}`, toUri: targets[0]!.uri, mediaNodeId: media.node.id },
    }).catch((err: unknown) => log.warn({ err }, 'call record write failed'));
    const call = new OutboundCall(this, id, { tenantId: b.tenantId, identity: b.identity, socketId: b.socketId }, media, log);
    this.calls.set(id, call);
    await d.ownership?.claim(id, b.tenantId); // sbc-cluster: before the id is usable through the control NLB
    log.info({ to: toLabel, targets: targets.length }, 'gateway call accepted');
    void call.place(targets, offer, from).catch((err: unknown) => {
      log.error({ err }, 'placing the call failed');
      void call.end('error', 'sbc', 500);
    });
    return { callId: id };
  }

  /** Where a browser's `to` goes: a SIP user of the tenant, an E.164 number (LCR), or an external SIP URI. */
  private async resolve(tenantId: string, to: string, identity: string): Promise<{ targets: DialTarget[]; toLabel: string }> {
    const repo = this.deps.repo;
    const raw = to.trim();
    const isUri = /^sips?:/i.test(raw);
    const user = userOf(raw);
    const host = isUri ? /@([^;>?]+)/.exec(raw)?.[1] : undefined;
    const ownHost = host ? (await repo.tenantByDomain(host.replace(/:\d+$/, ''))) === tenantId : true;
    if (!user) throw AppError.invalid('nothing to dial', '/to');
    if (ownHost && !isNumberLike(user)) {
      const u = await repo.getUser(tenantId, user);
      if (!u || !u.enabled) {
        if (!isUri || !this.deps.options.allowExternalSipUris) throw new AppError('NOT_FOUND', `SIP user ${user} not found`);
      } else {
        const regs = (await repo.registrations(tenantId, u.username)).sort((a, b) => b.expiresAt - a.expiresAt);
        if (regs.length === 0) throw new AppError('IDENTITY_UNAVAILABLE', `SIP user ${user} is not registered`);
        return {
          toLabel: u.username,
          targets: regs.map((reg) => ({
            kind: 'device', uri: reg.contact.replace(/^<|>$/g, ''),
            proxy: `sip:${reg.source.address}:${reg.source.port};transport=${reg.source.transport === 'tcp' ? 'tcp' : 'udp'}`,
            fromUser: identity, toUser: u.username, toHost: u.domain, headers: {}, username: u.username, label: `${u.username}/${reg.contactId}`,
          })),
        };
      }
    }
    if (isUri && !ownHost) {
      if (!this.deps.options.allowExternalSipUris) throw AppError.forbidden('dialling SIP URIs outside the tenant is not allowed');
      return { toLabel: raw, targets: [{ kind: 'device', uri: raw.replace(/^<|>$/g, ''), fromUser: identity, toUser: user, toHost: host ?? '', headers: {}, label: 'uri' }] };
    }
    const e164 = toE164(user);
    if (!e164) throw AppError.invalid(`cannot dial ${to}`, '/to');
    const targets = await planOutbound(repo, { tenantId, e164, fromUser: identity, headers: {} });
    if (targets.length === 0) throw new AppError('UPSTREAM_SIP_FAILURE', `no route for ${e164}`, { sipStatus: 503 });
    return { toLabel: e164, targets };
  }

  /** The presented caller: a number of the tenant when asked for (anything else is ignored), else the identity. */
  private async callerId(tenantId: string, callerId: string | undefined, identity: string): Promise<string> {
    const e164 = callerId ? toE164(callerId) : undefined;
    if (e164) {
      const n = await this.deps.repo.tenantByNumber(e164);
      if (n?.tenantId === tenantId) return e164;
      this.deps.log.info({ tenantId, callerId }, 'caller id is not a number of the tenant; using the identity');
    }
    return encodeURIComponent(identity).replace(/%40/g, '@').replace(/@/g, '%40');
  }

  // ---- inbound --------------------------------------------------------------------------------------

  private async ring(req: RingRequest): Promise<BrowserLeg> {
    const d = this.deps;
    const log = d.log.child({ callId: req.callId, gateway: 'inbound', tenantId: req.tenantId });
    const session = d.findSession(req.callId);
    let sdp = req.sdp;
    if (session) {
      const extra = sipOfferCodecs(session.req.body, d.options.transcode);
      if (extra.codec) sdp = await session.media.offer(session.req.body, 'a', 'webrtc', extra);
    }
    sdp = addBundle(sdp);
    const call = new InboundCall(this, req.callId, { tenantId: req.tenantId, identity: req.identity }, log);
    this.calls.set(call.id, call);
    const done = new Promise<BrowserLeg>((resolve, reject) => {
      call.settle = { resolve, reject };
    });
    const stopRinging = (reason: HangupReason, exceptSocketId?: string) =>
      void d.notifier.send({ type: 'ended', ...call.owner, callId: call.id, reason, ...(exceptSocketId ? { exceptSocketId } : {}) });
    const timer = setTimeout(() => call.settle?.reject(new AppError('IDENTITY_UNAVAILABLE', 'no answer', { sipStatus: 480, why: 'no-answer' })), d.options.ringTimeoutSeconds * 1000);
    const onAbort = () => call.settle?.reject(new AppError('IDENTITY_UNAVAILABLE', 'caller cancelled', { sipStatus: 487, why: 'cancelled' }));
    req.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const delivered = await d.notifier.send({ type: 'incoming', ...call.owner, callId: call.id, from: req.caller.uri, sdp });
      if (delivered === 0) throw new AppError('IDENTITY_UNAVAILABLE', `identity ${req.identity} has no connected client`);
      log.info({ identity: req.identity, sockets: delivered }, 'ringing the browser');
      req.onRinging();
      const leg = await done;
      stopRinging('answered-elsewhere', call.socketId);
      return leg;
    } catch (err) {
      const e = toAppError(err);
      this.calls.delete(call.id);
      call.state = 'ended';
      const why = e.details.why;
      stopRinging(why === 'cancelled' ? 'cancelled' : why === 'no-answer' ? 'no-answer' : e.details.sipStatus === 603 ? 'rejected' : 'no-answer');
      log.info({ status: e.details.sipStatus ?? e.sipStatus, why: e.message }, 'browser did not answer');
      throw e;
    } finally {
      clearTimeout(timer);
      req.signal.removeEventListener('abort', onAbort);
    }
  }

  async answer(callId: string, b: Static<typeof GatewayAnswerBody>): Promise<void> {
    const call = this.owned(callId, b);
    if (!(call instanceof InboundCall) || call.state !== 'ringing' || !call.settle) throw new AppError('CALL_STATE_CONFLICT', `call ${callId} is not ringing`);
    const d = this.deps;
    call.state = 'answered';
    call.socketId = b.socketId;
    call.lastAnswer = b.sdp;
    const owner = { ...call.owner, socketId: b.socketId };
    const leg: BrowserLeg = {
      answerSdp: b.sdp,
      modify: async (offer) => {
        call.held = /^a=(sendonly|inactive)/m.test(offer); // the SIP caller put the browser on hold
        return (call.lastAnswer = reanswer(call.lastAnswer, offer));
      },
      hangup: async (reason) => {
        if (call.state === 'ended') return;
        call.state = 'ended';
        call.unwatch?.();
        this.calls.delete(call.id);
        await d.notifier.send({ type: 'ended', ...owner, callId: call.id, reason: reason === 'error' ? 'error' : 'remote-hangup' });
      },
      onHangup: (cb) => {
        call.hangupCb = cb;
      },
    };
    call.log.info({ socketId: b.socketId }, 'browser answered');
    const session = d.findSession(callId);
    if (session && this.watchdog) {
      call.unwatch = this.watchdog.watch({
        id: callId, browserTag: session.media.tags.b, query: () => session.media.query(), paused: () => call.held,
        onTimeout: () => {
          if (call.state === 'ended') return;
          call.state = 'ended';
          this.calls.delete(call.id);
          call.hangupCb?.('media-timeout');
        },
      });
    }
    call.settle.resolve(leg);
  }

  /**
   * The SIP answer back to the browser that offered: no profile flags, rtpengine converts it to the browser's
   * transport by itself (FACTS §4.3; ICE/DTLS flags here break the browser's ICE), BUNDLE re-added. Only
   * `inject-DTMF` is passed (playDTMF toward the SIP party needs it on both offer and answer).
   */
  async answerToBrowser(media: MediaSession, sdp: string): Promise<string> {
    // inject-DTMF must be on the answer too (FACTS §4.6): without it playDTMF returns ok and sends nothing.
    const res = await media.node.command('answer', { 'call-id': media.id, 'from-tag': media.tags.a, 'to-tag': media.tags.b, sdp, flags: ['inject-DTMF'] });
    return addBundle(res.sdp ?? '');
  }

  // ---- control --------------------------------------------------------------------------------------

  private owned(callId: string, who: Owner): OutboundCall | InboundCall {
    const call = this.calls.get(callId);
    if (!call || call.owner.tenantId !== who.tenantId || call.owner.identity !== who.identity) throw new AppError('CALL_NOT_FOUND', `call ${callId} not found`);
    return call;
  }

  async control(callId: string, c: Static<typeof GatewayControlBody>): Promise<void> {
    const call = this.owned(callId, c);
    call.log.info({ action: c.action }, 'control');
    await call.control(c);
  }

  /** Hold = re-INVITE with our SDP toward the SIP party marked sendonly; resume = sendrecv. */
  async reinvite(leg: Srf.Dialog, hold: boolean, log: Logger): Promise<void> {
    try {
      await leg.modify(withDirection(leg.local.sdp, hold ? 'sendonly' : 'sendrecv'));
      log.info({ hold }, 'hold changed');
    } catch (err) {
      throw err instanceof Srf.SipError ? AppError.fromSipError(err) : toAppError(err);
    }
  }

  /**
   * RFC 2833 through rtpengine when the SIP leg negotiated telephone-event at its audio codec's clock rate (rtpengine
   * needs inject-DTMF on offer and answer, FACTS §4.6), else one SIP INFO (`application/dtmf-relay`) per digit.
   */
  async sendDtmf(leg: Srf.Dialog, media: MediaSession, toward: 'a' | 'b', digits: string, log: Logger): Promise<void> {
    if (!digits) throw AppError.invalid('digits required', '/digits');
    // The SIP leg's negotiated media: the SDP we sent it (rtpengine's rewrite) carries the selected codec first.
    const rfc2833 = hasTelephoneEvent(leg.remote.sdp) && rfc2833Usable(leg.remote.sdp) && rfc2833Usable(leg.local.sdp);
    for (const digit of digits) {
      if (rfc2833) {
        await media.playDtmf(toward, digit, 160);
        await new Promise((r) => setTimeout(r, 260));
      } else {
        await leg.request({ method: 'INFO', headers: { 'Content-Type': 'application/dtmf-relay' }, body: `Signal=${digit}\r\nDuration=160\r\n` } as unknown as Srf.SrfRequest);
      }
    }
    log.info({ digits: digits.length, rfc2833 }, 'DTMF sent');
  }

  /** Blind transfer of the SIP party: REFER to it (the party places the new call; the SBC routes it). */
  async refer(leg: Srf.Dialog, target: string, log: Logger): Promise<void> {
    if (!target) throw AppError.invalid('target required', '/target');
    const referTo = /^sips?:/i.test(target) ? target : `sip:${encodeURIComponent(target)}@${this.deps.localHost()}`;
    const res = await leg.request({ method: 'REFER', headers: { 'Refer-To': `<${referTo}>`, 'Referred-By': `<sip:gateway@${this.deps.localHost()}>` } } as unknown as Srf.SrfRequest);
    if (res.status >= 300) throw AppError.fromSipError({ status: res.status, reason: res.reason });
    log.info({ status: res.status }, 'REFER accepted');
  }

  async close(): Promise<void> {
    this.watchdog?.stop();
    await Promise.all([...this.calls.values()].map((c) => c.control({ tenantId: c.owner.tenantId, identity: c.owner.identity, action: 'hangup' }).catch(() => undefined)));
  }
}
