/**
 * The SBC's VoiceEngine (docs/voice.md): programmable calls on this SBC instance. Inbound calls to numbers whose
 * destination is an application, originated calls (`POST /v1/calls` through the control API), the built-in
 * voicemail flow, `modify` of live calls and ordered status events per call.
 */
import type Srf from 'drachtio-srf';
import type { Logger } from '../../core/logging.js';
import type { Clock } from '../../core/clock.js';
import type { MetricsRegistry } from '../../core/metrics.js';
import type { SipRepository } from '../../core/storage/sip-types.js';
import type { ApplicationSpec, CallDocument, CallStatus, CallStatusEvent, DialTargetSpec } from '../../core/protocol/voice.js';
import { AppError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { CallOwnershipHook } from '../ownership.js'; // sbc-cluster
import type { CdrWriter } from '../cdr/cdr-writer.js';
import type { RtpEngineNode } from '../media/rtpengine.js';
import type { IdentityRinger } from '../calls/identity-ringer.js';
import { recordingMetadata } from '../recording/recording.js';
import { userOf } from '../routing/numbers.js';
import type { CallModify, ConferenceService, LiveCallView, OriginateRequest, VoiceEngine, VoicemailDeposit, VoicemailSink } from './contracts.js';
import { VoiceCall } from './call.js';
import { HookClient } from './hooks.js';
import { InboundLeg, labelOf, placeCall, type LegDeps } from './legs.js';
import { Interpreter, playUntil, type RecordingSink } from './interpreter.js';
import { RtpPortPool } from './media/rtp-endpoint.js';
import { ToneSource, wavFileSource } from './media/sources.js';

/** Stored applications (`{ type: 'application', applicationId }` destinations); implemented over DynamoDB by the REST side. */
export interface ApplicationResolver {
  get(tenantId: string, applicationId: string): Promise<(ApplicationSpec & { statusCallback?: { url: string; fallbackUrl?: string } }) | undefined>;
}

/** Optional mailbox settings lookup (the voicemail service has it): voicemail answers unanswered calls when enabled. */
export interface VoicemailSettingsLookup {
  settings(tenantId: string, mailbox: VoicemailDeposit['mailbox']): Promise<{ enabled: boolean; ringTimeoutSeconds?: number }>;
}

export interface VoiceEngineDeps {
  srf: Srf & Srf.SrfExtras;
  repo: SipRepository;
  pickMedia(): RtpEngineNode;
  cdr: CdrWriter;
  log: Logger;
  clock: Clock;
  metrics: MetricsRegistry;
  localHost(): string;
  ringer: IdentityRinger;
  /** RTP ports of the endpoints (address rtpengine reaches, range). */
  rtp: { host: string; minPort: number; maxPort: number };
  limits: { ringTimeoutSeconds: number; gatewayTimeoutSeconds: number; maxCallSeconds: number };
  /** The tenant's webhook signing secret. */
  webhookSecret(tenantId: string): Promise<string | undefined>;
  applications?: ApplicationResolver;
  conferences?: ConferenceService;
  voicemail?: VoicemailSink & Partial<VoicemailSettingsLookup>;
  recordings?: RecordingSink;
  recordDir?: string;
  hooks?: { timeoutMs?: number; attempts?: number; fetch?: typeof fetch; blockPrivateUrls?: boolean };
  ownership?: CallOwnershipHook; // sbc-cluster: calls registered for control requests through another SBC
}

type StatusCb = (e: CallStatusEvent, callback: { url: string; fallbackUrl?: string } | undefined) => void;

export class SbcVoiceEngine implements VoiceEngine {
  private readonly calls = new Map<string, VoiceCall>();
  private readonly claims = new Map<string, Promise<void>>(); // sbc-cluster: ownership writes in flight
  private readonly seq = new Map<string, number>();
  private readonly callbacks = new Map<string, { url: string; fallbackUrl?: string }>();
  private readonly statusCbs = new Set<StatusCb>();
  private readonly legDeps: LegDeps;
  readonly interpreter: Interpreter;
  private readonly log: Logger;
  private readonly hookCtx;

  constructor(private readonly d: VoiceEngineDeps) {
    this.log = d.log.child({ component: 'voice' });
    this.legDeps = {
      srf: d.srf, repo: d.repo, pickMedia: d.pickMedia, ports: new RtpPortPool(d.rtp.host, d.rtp.minPort, d.rtp.maxPort),
      ringer: d.ringer, localHost: d.localHost, limits: d.limits, log: this.log,
    };
    const errors = d.metrics.counter('cpaas_voice_app_errors_total', 'Programmable calls ended by an application error (reason: timeout, http-error, network, invalid-document, no-secret, private-address, application-not-found, conference-unavailable, internal)');
    this.hookCtx = { errors };
    this.interpreter = new Interpreter({
      hooks: new HookClient({ secretFor: d.webhookSecret, ...(d.hooks?.timeoutMs ? { timeoutMs: d.hooks.timeoutMs } : {}), ...(d.hooks?.attempts ? { attempts: d.hooks.attempts } : {}), ...(d.hooks?.fetch ? { fetch: d.hooks.fetch } : {}), ...(d.hooks?.blockPrivateUrls ? { blockPrivateUrls: true } : {}) }),
      legs: this.legDeps, log: this.log, errors,
      ...(d.conferences ? { conferences: d.conferences } : {}),
      ...(d.voicemail ? { voicemail: d.voicemail } : {}),
      ...(d.recordings ? { recordings: d.recordings } : {}),
      ...(d.recordDir ? { recordDir: d.recordDir } : {}),
      onTags: (c) => d.cdr.routed(c.tenantId, c.id, { tags: { ...c.tags } }),
      end: (c, cause, status) => this.end(c, cause, status),
    });
  }

  get activeCalls(): number {
    return this.calls.size;
  }

  private newCall(id: string, tenantId: string, direction: 'inbound' | 'outbound', from: string, to: string): VoiceCall {
    const call = new VoiceCall(id, tenantId, direction, from, to, this.d.clock.now(), this.log.child({ callId: id }), {
      answered: (c) => this.markAnswered(c),
      ringing: (c) => {
        if (c.status === 'initiated') this.emit(c, 'ringing');
      },
    });
    this.calls.set(id, call);
    this.claims.set(id, this.d.ownership?.claim(id, tenantId) ?? Promise.resolve()); // sbc-cluster
    return call;
  }

  private emit(call: VoiceCall, status: CallStatus, extra: Partial<CallStatusEvent> = {}): void {
    call.status = status;
    const sequence = (this.seq.get(call.id) ?? 0) + 1;
    this.seq.set(call.id, sequence);
    const e: CallStatusEvent = {
      event: 'call.status', tenantId: call.tenantId, callId: call.id, status, sequence, timestamp: new Date(this.d.clock.now()).toISOString(),
      direction: call.direction, from: call.from, to: call.to, ...extra,
    };
    const cb = this.callbacks.get(call.id);
    for (const s of this.statusCbs) {
      try {
        s(e, cb);
      } catch (err) {
        this.log.warn({ err }, 'status listener failed');
      }
    }
  }

  private markAnswered(call: VoiceCall): void {
    if (call.answeredAt) return;
    call.answeredAt = this.d.clock.now();
    this.d.cdr.answered(call.tenantId, call.id, {});
    if (call.status === 'initiated') this.emit(call, 'ringing');
    this.emit(call, 'answered');
    if (this.d.limits.maxCallSeconds > 0) setTimeout(() => void this.end(call, 'max-call-duration'), this.d.limits.maxCallSeconds * 1000).unref();
  }

  /** Ends the call once: hangs up its party, closes the CDR, emits `completed`. */
  async end(call: VoiceCall, cause: string, sipStatus?: number): Promise<void> {
    if (!call.markEnded(cause, sipStatus)) return;
    await call.leg?.hangup(sipStatus && sipStatus >= 400 ? sipStatus : 480).catch(() => undefined);
    const now = this.d.clock.now();
    const reason = cause.startsWith('application-error') ? 'error' : cause === 'caller-hangup' || cause === 'callee-hangup' ? 'remote-hangup' : /busy/.test(cause) ? 'busy' : /no-answer/.test(cause) ? 'no-answer' : 'local-hangup';
    this.d.cdr.ended(call.tenantId, call.id, {
      ...(call.answeredAt ? { answeredAtMs: call.answeredAt } : {}), reason, endedBy: cause === 'caller-hangup' ? 'caller' : cause === 'callee-hangup' ? 'callee' : 'sbc',
      ...(sipStatus !== undefined ? { sipStatus } : {}), sipReason: cause,
    });
    this.emit(call, 'completed', { cause, ...(sipStatus !== undefined ? { sipStatus } : {}), durationSeconds: call.answeredAt ? Math.round((now - call.answeredAt) / 1000) : 0 });
    this.calls.delete(call.id);
    // --- sbc-cluster ---
    this.claims.delete(call.id);
    this.d.ownership?.release(call.id);
    // --- end sbc-cluster ---
    this.seq.delete(call.id);
    this.callbacks.delete(call.id);
    call.log.info({ cause, sipStatus }, 'programmable call ended');
  }

  // ---------------------------------------------------------------------------------------------- inbound

  /**
   * An INVITE routed to an application: anchors the caller on an endpoint and runs the application. Answers the
   * INVITE itself on every path (never throws).
   */
  async handleInbound(req: Srf.SrfRequest, res: Srf.SrfResponse, o: { tenantId: string; destination: { url?: string; applicationId?: string } }): Promise<void> {
    let app: ApplicationSpec | undefined;
    let callback: { url: string; fallbackUrl?: string } | undefined;
    if (o.destination.applicationId && this.d.applications) {
      const a = await this.d.applications.get(o.tenantId, o.destination.applicationId).catch((err: unknown) => {
        this.log.warn({ err }, 'application lookup failed');
        return undefined;
      });
      if (a) {
        const { statusCallback, ...spec } = a;
        app = spec;
        callback = statusCallback;
      }
    } else if (o.destination.url) app = { url: o.destination.url };
    if (!app || (!app.url && !app.document)) {
      this.interpreterErrors('application-not-found');
      this.log.warn({ tenantId: o.tenantId, destination: o.destination }, 'number routed to an unknown application');
      res.send(480, 'Temporarily Unavailable', {});
      return;
    }
    await this.runInbound(req, res, o.tenantId, app, callback, 'call.incoming');
  }

  private interpreterErrors(reason: string): void {
    this.hookCtx.errors.inc({ reason });
  }

  private async startInbound(req: Srf.SrfRequest, res: Srf.SrfResponse, tenantId: string, callback?: { url: string; fallbackUrl?: string }): Promise<VoiceCall | undefined> {
    const id = newId('ca');
    const fromUri = req.get('From');
    const call = this.newCall(id, tenantId, 'inbound', userOf(fromUri), userOf(req.uri));
    if (callback) this.callbacks.set(id, callback);
    this.d.cdr.attempt({ id, tenantId, direction: 'inbound', fromUri, toUri: req.uri, fromIdentity: call.from, toIdentity: call.to });
    this.emit(call, 'initiated');
    let leg: InboundLeg;
    try {
      leg = await InboundLeg.anchor(this.legDeps, id, req, res, call.log);
    } catch (err) {
      call.log.error({ err }, 'anchoring the caller failed');
      if (!res.finalResponseSent) res.send(503);
      await this.end(call, 'media-unavailable', 503);
      return undefined;
    }
    call.leg = leg;
    leg.onEnded((by) => {
      if (by === 'remote') void this.end(call, 'caller-hangup');
    });
    this.emit(call, 'ringing');
    return call;
  }

  private async runInbound(req: Srf.SrfRequest, res: Srf.SrfResponse, tenantId: string, app: ApplicationSpec, callback: { url: string; fallbackUrl?: string } | undefined, first: 'call.incoming'): Promise<void> {
    const call = await this.startInbound(req, res, tenantId, callback);
    if (call) await this.interpreter.run(call, app, first);
  }

  // ---------------------------------------------------------------------------------------------- voicemail

  /** Whether unanswered calls to this mailbox go to voicemail (needs a sink with `settings`). */
  async voicemailEnabled(tenantId: string, mailbox: VoicemailDeposit['mailbox']): Promise<{ ringTimeoutSeconds?: number } | undefined> {
    if (!this.d.voicemail?.settings) return undefined;
    try {
      const s = await this.d.voicemail.settings(tenantId, mailbox);
      return s.enabled ? { ...(s.ringTimeoutSeconds ? { ringTimeoutSeconds: s.ringTimeoutSeconds } : {}) } : undefined;
    } catch (err) {
      this.log.warn({ err, mailbox }, 'voicemail settings lookup failed; no voicemail');
      return undefined;
    }
  }

  /**
   * A call to a SIP user / identity with voicemail: rings `ring` first (if any) through endpoints, then — busy,
   * no answer, unavailable — plays the greeting (or a tone) and records a message into the mailbox.
   */
  async handleVoicemail(req: Srf.SrfRequest, res: Srf.SrfResponse, o: { tenantId: string; mailbox: VoicemailDeposit['mailbox']; ring?: DialTargetSpec; ringTimeoutSeconds?: number }): Promise<void> {
    const call = await this.startInbound(req, res, o.tenantId);
    if (!call) return;
    if (o.ring) {
      const ringDoc: CallDocument = [{ verb: 'dial', targets: [o.ring], timeoutSeconds: o.ringTimeoutSeconds ?? this.d.limits.ringTimeoutSeconds }];
      await this.interpreter.run(call, { document: ringDoc }, 'call.incoming', { keepAlive: true });
      const dial = call.variables.dial as { dialStatus?: string } | undefined;
      if (call.ended) return;
      if (dial?.dialStatus === 'answered') return void this.end(call, 'completed');
    }
    try {
      await call.ensureAnswered();
      const greeting = await this.d.voicemail?.greeting?.(o.tenantId, o.mailbox).catch(() => undefined);
      const src = greeting ? wavFileSource(greeting) : new ToneSource({ frequencies: [440], durationMs: 600 });
      if (call.leg) await playUntil(call.leg.endpoint, src, call.verbSignal);
    } catch (err) {
      call.log.warn({ err }, 'voicemail greeting failed');
      if (call.ended) return;
    }
    const doc: CallDocument = [
      { verb: 'record', maxLengthSeconds: 120, silenceTimeoutSeconds: 5, finishOnKey: '#', voicemail: { mailbox: o.mailbox.id, kind: o.mailbox.kind } },
      { verb: 'hangup' },
    ];
    await this.interpreter.run(call, { document: doc }, 'call.incoming');
  }

  // ---------------------------------------------------------------------------------------------- VoiceEngine

  originate(r: OriginateRequest): Promise<LiveCallView> {
    if (!r.application.url && !r.application.document) return Promise.reject(AppError.invalid('application needs a url or a document', 'application'));
    const id = newId('ca');
    const call = this.newCall(id, r.tenantId, 'outbound', r.from, labelOf(r.to));
    if (r.statusCallback) this.callbacks.set(id, r.statusCallback);
    if (r.tag) Object.assign(call.tags, r.tag);
    this.d.cdr.attempt({ id, tenantId: r.tenantId, direction: 'outbound', fromUri: r.from, toUri: labelOf(r.to), fromIdentity: r.from, toIdentity: labelOf(r.to) });
    if (r.tag) this.d.cdr.routed(r.tenantId, id, { tags: { ...r.tag } });
    this.emit(call, 'initiated');
    void (async () => {
      const placed = await placeCall(this.legDeps, r.to, {
        tenantId: r.tenantId, callId: id, from: r.from, timeoutMs: (r.ringTimeoutSeconds ?? 30) * 1000, signal: call.endedSignal,
        onRinging: () => call.ring(),
      });
      if (!placed.ok) {
        const cause = placed.status === 486 || placed.status === 600 ? 'busy' : placed.status === 480 || placed.status === 408 || placed.status === 487 ? 'no-answer' : 'failed';
        return this.end(call, cause, placed.status);
      }
      if (call.ended) return void placed.leg.hangup();
      call.leg = placed.leg;
      placed.leg.onEnded((by) => {
        if (by === 'remote') void this.end(call, 'callee-hangup');
      });
      this.markAnswered(call);
      if (r.timeLimitSeconds) setTimeout(() => void this.end(call, 'time-limit'), r.timeLimitSeconds * 1000).unref();
      await this.interpreter.run(call, r.application, 'call.outbound');
    })().catch((err: unknown) => {
      call.log.error({ err }, 'originated call failed');
      void this.end(call, 'application-error:internal', 500);
    });
    return (this.claims.get(id) ?? Promise.resolve()).then(() => call.view()); // sbc-cluster: registered before returned
  }

  get(tenantId: string, callId: string): LiveCallView | undefined {
    const c = this.calls.get(callId);
    return c && c.tenantId === tenantId ? c.view() : undefined;
  }

  list(tenantId: string): LiveCallView[] {
    return [...this.calls.values()].filter((c) => c.tenantId === tenantId).map((c) => c.view());
  }

  async modify(tenantId: string, callId: string, m: CallModify): Promise<LiveCallView> {
    const call = this.calls.get(callId);
    if (!call || call.tenantId !== tenantId || call.ended) throw new AppError('CALL_NOT_FOUND', `call ${callId} is not live`);
    const needParty = () => {
      if (!call.leg || !call.answeredAt) throw new AppError('CALL_STATE_CONFLICT', 'the call is not answered yet');
      return call.leg;
    };
    switch (m.action) {
      case 'hangup':
        await this.end(call, 'api-hangup');
        return { ...call.view(), status: 'completed' };
      case 'redirect':
        if (!m.application.url && !m.application.document) throw AppError.invalid('application needs a url or a document', 'application');
        call.pending = m.application;
        call.interrupt();
        break;
      case 'transfer':
        call.pending = { document: [{ verb: 'dial', targets: [m.to], timeoutSeconds: 30 }] };
        call.interrupt();
        break;
      case 'mute':
      case 'unmute':
      case 'hold':
      case 'unhold': {
        const on = m.action === 'mute' || m.action === 'hold';
        if (m.action === 'mute' || m.action === 'unmute') call.muted = on;
        else call.held = on;
        if (call.conference && this.d.conferences) {
          this.d.conferences.update(tenantId, call.conference.name, call.conference.participantId, m.action === 'mute' || m.action === 'unmute' ? { muted: on } : { held: on });
        }
        break;
      }
      case 'record': {
        const leg = needParty();
        const on = m.record === 'start' || m.record === 'resume';
        await leg.media.setRecording(on, recordingMetadata(tenantId, callId, [call.from, call.to]));
        call.recording = on;
        break;
      }
      case 'dtmf': {
        const leg = needParty();
        if (!/^[0-9*#A-Da-d]{1,32}$/.test(m.digits)) throw AppError.invalid('digits must be 1–32 DTMF keys', 'digits');
        for (const digit of m.digits) await leg.endpoint.sendDtmf(digit, 100);
        break;
      }
    }
    return call.view();
  }

  onStatus(cb: StatusCb): () => void {
    this.statusCbs.add(cb);
    return () => this.statusCbs.delete(cb);
  }

  async close(): Promise<void> {
    await Promise.all([...this.calls.values()].map((c) => this.end(c, 'shutdown')));
  }
}

export function createVoiceEngine(deps: VoiceEngineDeps): SbcVoiceEngine {
  return new SbcVoiceEngine(deps);
}

/** What buildSbcApp takes in `SbcDeps.voice` (the rest comes from the SBC itself). */
export type VoiceOptions = Pick<VoiceEngineDeps, 'rtp' | 'webhookSecret' | 'applications' | 'conferences' | 'voicemail' | 'recordings' | 'recordDir' | 'hooks'>;
