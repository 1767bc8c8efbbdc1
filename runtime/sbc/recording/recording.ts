/**
 * Call recording through the SBC (docs/recordings.md § SBC, docs/gateway.md): the policy that decides which calls
 * are recorded from the start, the rtpengine metadata string the media agent's pipeline reads, and the private
 * control endpoint `POST /v1/calls/{id}/recording` that starts/stops/pauses/resumes recording of a live call.
 *
 * Policy: `recording.tenants` in the SBC config lists tenant ids whose calls (SIP and gateway) are recorded from the
 * first offer (`'*'` = every tenant); a trunk with `record: true` records every call through it (inbound from it or
 * outbound to it); `recording.rooms` lists `<tenantId>/<roomId>` (or `<tenantId>/*`) whose browsers' gateway calls
 * are recorded. Anything else is recorded on demand through the endpoint.
 * rtpengine must run with `--recording-method=pcap --recording-dir=<dir> --delete-delay=0`.
 *
 * Pause/resume: rtpengine 10.5 has no `pause recording` ng command, and `stopRecording` finalizes the file (a later
 * `startRecording` in the same call writes nothing). So pause keeps rtpengine recording and marks the paused
 * stretch in the call's metadata (`paused=<fromMs>-<toMs>,…`, re-sent with `startRecording`, which only updates the
 * metadata of a call already recorded); the media agent writes packets captured inside those stretches as silence.
 */
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/logging.js';
import { formatMetadataString } from '../../media-agent/recordings/rtpengine-files.js';
import type { ControlServer, ControlRequest } from '../control/server.js';
import type { MediaSession } from '../media/rtpengine.js';
import { secretMatches } from '../gateway/gateway.js';
import { GATEWAY_SECRET_HEADER } from '../gateway/notifier.js';

export interface RecordingOptions {
  /** Tenants whose calls are recorded from the start; `'*'` = all. */
  tenants: string[];
  /** `<tenantId>/<roomId>` (or `<tenantId>/*`) whose browsers' gateway calls are recorded from the start. */
  rooms?: string[];
  /** Tenants whose recordings start with the consent announcement even when the request does not ask for it. */
  announceTenants?: string[];
  /**
   * Consent for policy recordings: a call recorded by the policy (tenants, trunk `record`, rooms) hears the consent
   * announcement once it is answered when its tenant is in `announceTenants`, or always with `announcePolicy: true`.
   */
  announcePolicy?: boolean;
  /** Delay between the answer and the announcement of a policy-recorded call, so RTP flows both ways (default 1000 ms). */
  announceDelayMs?: number;
}

/** What is known about a call when the policy is applied. */
export interface RecordingContext {
  /** A trunk of the call (inbound from it or outbound to it) has `record: true`. */
  trunkRecords?: boolean;
  /** The room a gateway call's browser placed the call from. */
  roomId?: string;
}

export class RecordingPolicy {
  constructor(private readonly o: RecordingOptions = { tenants: [] }) {}

  recordsByDefault(tenantId: string, ctx: RecordingContext = {}): boolean {
    if (this.o.tenants.includes('*') || this.o.tenants.includes(tenantId)) return true;
    if (ctx.trunkRecords) return true;
    if (ctx.roomId && (this.o.rooms ?? []).some((r) => r === `${tenantId}/${ctx.roomId}` || r === `${tenantId}/*`)) return true;
    return false;
  }

  announcesByDefault(tenantId: string): boolean {
    const a = this.o.announceTenants ?? [];
    return a.includes('*') || a.includes(tenantId);
  }

  /** A call recorded by the policy announces it once answered (tenant in `announceTenants`, or `announcePolicy`). */
  announcesPolicyRecording(tenantId: string): boolean {
    return !!this.o.announcePolicy || this.announcesByDefault(tenantId);
  }

  get announceDelayMs(): number {
    return this.o.announceDelayMs ?? 1000;
  }

  /** Arms `media` so its offers record the call, when the policy says so. */
  apply(media: MediaSession, tenantId: string, callId: string, parties: string[], ctx: RecordingContext = {}): void {
    if (this.recordsByDefault(tenantId, ctx)) {
      media.record = { metadata: recordingMetadata(tenantId, callId, parties) };
      const s = stateOf(media);
      s.state = 'recording';
      s.byPolicy = true;
    }
  }
}

/** A party label for the metadata: the user part of a SIP URI, or the label as given. */
export const partyLabel = (uriOrName: string): string => /sips?:([^@;>]+)/i.exec(uriOrName)?.[1] ?? uriOrName.replace(/^<|>$/g, '');

export function recordingMetadata(tenantId: string, callId: string, parties: string[], paused?: string): string {
  return formatMetadataString({ tenant: tenantId, call: callId, parties: parties.map(partyLabel), ...(paused ? { paused } : {}) });
}

export type RecordingAction = 'start' | 'stop' | 'pause' | 'resume';
export type RecordingState = 'off' | 'recording' | 'paused' | 'stopped';

interface CallRecordingState {
  state: RecordingState;
  /** Paused stretches, epoch ms; the last one is open while paused. */
  paused: Array<{ from: number; to?: number }>;
  /** Recorded from the first offer by the policy (consent announced at answer, `policyConsent`). */
  byPolicy?: boolean;
  /** The consent announcement was played (or is scheduled) for this call. */
  announced?: boolean;
}

const states = new WeakMap<MediaSession, CallRecordingState>();
function stateOf(media: MediaSession): CallRecordingState {
  let s = states.get(media);
  if (!s) {
    s = { state: media.record ? 'recording' : 'off', paused: [] };
    states.set(media, s);
  }
  return s;
}

/** Current recording state of a call's media (for status answers and tests). */
export const recordingState = (media: MediaSession): RecordingState => stateOf(media).state;

const pausedString = (p: CallRecordingState['paused']) => p.map((x) => `${Math.round(x.from)}-${x.to !== undefined ? Math.round(x.to) : ''}`).join(',');

/**
 * Applies one action to a live call. Transitions: off → start → recording ⇄ pause/resume ⇄ paused → stop → stopped.
 * start on recording and pause on paused are no-ops; everything else from the wrong state is CALL_STATE_CONFLICT.
 */
export async function changeRecording(call: RecordableCall, callId: string, action: RecordingAction, now: () => number = Date.now): Promise<RecordingState> {
  const s = stateOf(call.media);
  const send = async (paused?: string) => {
    const metadata = recordingMetadata(call.tenantId, callId, call.parties, paused);
    await call.media.setRecording(true, metadata); // startRecording also updates the metadata of a recorded call
  };
  switch (action) {
    case 'start':
      if (s.state === 'recording' || s.state === 'paused') return s.state;
      if (s.state === 'stopped') throw new AppError('CALL_STATE_CONFLICT', 'recording of this call was stopped; rtpengine cannot restart it in the same call (use pause/resume)');
      await send();
      s.state = 'recording';
      return s.state;
    case 'pause':
      if (s.state === 'paused') return s.state;
      if (s.state !== 'recording') throw new AppError('CALL_STATE_CONFLICT', `the call is not being recorded (${s.state})`);
      s.paused.push({ from: now() });
      await send(pausedString(s.paused));
      s.state = 'paused';
      return s.state;
    case 'resume':
      if (s.state === 'recording') return s.state;
      if (s.state !== 'paused') throw new AppError('CALL_STATE_CONFLICT', `the recording is not paused (${s.state})`);
      s.paused[s.paused.length - 1]!.to = now();
      await send(pausedString(s.paused));
      s.state = 'recording';
      return s.state;
    case 'stop':
      if (s.state === 'off' || s.state === 'stopped') return s.state;
      if (s.state === 'paused') {
        s.paused[s.paused.length - 1]!.to = now();
        await send(pausedString(s.paused));
      }
      await call.media.setRecording(false);
      call.media.record = undefined; // later re-offers must not ask for recording again
      s.state = 'stopped';
      return s.state;
  }
}

export const RecordingControlBody = Type.Object({
  tenantId: Type.String({ minLength: 1, maxLength: 64 }),
  action: Type.Union([Type.Literal('start'), Type.Literal('stop'), Type.Literal('pause'), Type.Literal('resume')]),
  announce: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

/** A live call the endpoint may act on. */
export interface RecordableCall {
  tenantId: string;
  media: MediaSession;
  parties: string[];
}

export interface RecordingResult { callId: string; recording: boolean; state: RecordingState; announced: boolean }

/** One recording action + the consent announcement when recording starts/resumes (REST endpoint and gateway `record`). */
export type RecordingController = (call: RecordableCall, callId: string, action: RecordingAction, announce?: boolean) => Promise<RecordingResult>;

export function recordingController(o: { log: Logger; policy?: RecordingPolicy; announce?: (call: RecordableCall, callId: string) => Promise<void> }): RecordingController {
  return async (call, callId, action, announceWanted) => {
    const before = recordingState(call.media);
    const state = await changeRecording(call, callId, action);
    const announce = announceWanted ?? o.policy?.announcesByDefault(call.tenantId) ?? false;
    let announced = false;
    if (announce && o.announce && (action === 'start' || action === 'resume') && before !== state) {
      stateOf(call.media).announced = true;
      await o.announce(call, callId).then(() => (announced = true)).catch((err: unknown) => o.log.warn({ err, callId }, 'consent announcement failed'));
    }
    o.log.info({ callId, tenantId: call.tenantId, action, state, announced }, 'recording changed');
    return { callId, recording: state === 'recording' || state === 'paused', state, announced };
  };
}

/**
 * The consent announcement of policy recordings (docs/recordings.md § Consent announcement): call the returned
 * function when a call is answered (SIP B2BUA calls: CallSession `onAnswered`; browser → SIP gateway calls: the SIP
 * side's 200). When the policy recorded the call from its first offer, it is still recording, and the tenant is in
 * `announceTenants` (or `announcePolicy` is set), `announce` plays to both parties after `announceDelayMs` — rtpengine's
 * `playMedia` needs the answered call with RTP flowing. Once per call; failures are logged, never thrown.
 */
export function policyConsent(o: { log: Logger; policy: RecordingPolicy; announce: (call: RecordableCall, callId: string) => Promise<void> }): (call: RecordableCall, callId: string) => void {
  return (call, callId) => {
    const s = stateOf(call.media);
    if (!s.byPolicy || s.announced || s.state !== 'recording' || !o.policy.announcesPolicyRecording(call.tenantId)) return;
    s.announced = true;
    const timer = setTimeout(() => {
      if (!call.media.active || stateOf(call.media).state !== 'recording') return;
      o.announce(call, callId)
        .then(() => o.log.info({ callId, tenantId: call.tenantId }, 'consent announcement played (policy recording)'))
        .catch((err: unknown) => o.log.warn({ err, callId }, 'consent announcement failed (policy recording)'));
    }, o.policy.announceDelayMs);
    timer.unref();
  };
}

/**
 * `POST /v1/calls/{id}/recording` `{ tenantId, action: start|stop|pause|resume, announce? }` on the SBC's private
 * control server. With a secret (the gateway's shared secret) the `x-cpaas-gateway-secret` header is required. A
 * call of another tenant is CALL_NOT_FOUND, like the gateway's endpoints. `announce` (or the tenant's default) plays
 * the consent announcement to both parties when recording starts (`announce` callback, media-services).
 */
export function mountRecordingRoutes(control: ControlServer, o: {
  find(callId: string): RecordableCall | undefined;
  secret?: string;
  log: Logger;
  policy?: RecordingPolicy;
  announce?: (call: RecordableCall, callId: string) => Promise<void>;
  controller?: RecordingController;
}): void {
  const controller = o.controller ?? recordingController(o);
  control.addRoute('POST', '/v1/calls/:callId/recording', async (req: ControlRequest) => {
    if (o.secret && !secretMatches(req.headers[GATEWAY_SECRET_HEADER], o.secret)) throw AppError.unauthenticated('bad or missing control secret');
    if (!Value.Check(RecordingControlBody, req.body)) throw AppError.invalid('body must be { tenantId, action: start|stop|pause|resume, announce? }');
    const b = req.body as Static<typeof RecordingControlBody>;
    const callId = req.params.callId ?? '';
    const call = o.find(callId);
    if (!call || call.tenantId !== b.tenantId || !call.media.active) throw new AppError('CALL_NOT_FOUND', `call ${callId} not found`);
    return { status: 200, body: await controller(call, callId, b.action, b.announce) };
  });
}
