/**
 * Media services on live SBC calls (docs/recordings.md § Playback): play a file/library file/tone into one or both
 * legs (rtpengine `playMedia` with `from-tag` = the leg that hears it), stop it, inject RFC 4733 DTMF
 * (`playDTMF`, needs `inject-DTMF` in offer and answer — MEDIA_PROFILES has it), and the consent announcement of
 * recordings. Mounted on the SBC's private control server next to the recording endpoint:
 *
 *   POST   /v1/calls/{id}/play   { tenantId, source: PlaySource, legs?: caller|callee|both }  → { durationMs, legs }
 *   DELETE /v1/calls/{id}/play?tenantId=…                                                  → 204
 *   POST   /v1/calls/{id}/dtmf   { tenantId, digits, legs?, durationMs? }                  → { digits }
 *
 * Leg names: `caller` is rtpengine side 'a' (the INVITE's sender; the browser of a gateway call it placed),
 * `callee` side 'b'.
 */
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/logging.js';
import { PlaySource } from '../../core/protocol/voice.js';
import type { ControlRequest, ControlServer } from '../control/server.js';
import type { MediaSession } from '../media/rtpengine.js';
import { secretMatches } from '../gateway/gateway.js';
import { GATEWAY_SECRET_HEADER } from '../gateway/notifier.js';
import type { RecordableCall } from '../recording/recording.js';
import type { ResolvedPlaySource } from './sources.js';
import { PlaySourceResolver } from './remote.js';

export type Legs = 'caller' | 'callee' | 'both';
const LegsSchema = Type.Union([Type.Literal('caller'), Type.Literal('callee'), Type.Literal('both')]);

export const PlayControlBody = Type.Object({
  tenantId: Type.String({ minLength: 1, maxLength: 64 }),
  source: PlaySource,
  legs: Type.Optional(LegsSchema),
}, { additionalProperties: false });

export const DtmfControlBody = Type.Object({
  tenantId: Type.String({ minLength: 1, maxLength: 64 }),
  digits: Type.String({ pattern: '^[0-9*#A-D]{1,32}$' }),
  legs: Type.Optional(LegsSchema),
  durationMs: Type.Optional(Type.Integer({ minimum: 40, maximum: 2000 })),
}, { additionalProperties: false });

/** The consent tone: two short 1400 Hz beeps (≈ 0.6 s). */
export const CONSENT_TONE: PlaySource = { tone: { frequencies: [1400], durationMs: 600, onMs: 200, offMs: 200 } };

const sidesOf = (legs: Legs): Array<'a' | 'b'> => (legs === 'caller' ? ['a'] : legs === 'callee' ? ['b'] : ['a', 'b']);

interface Playing {
  file: ResolvedPlaySource;
  timer: NodeJS.Timeout;
  sides: Array<'a' | 'b'>;
}

/** Plays into and injects DTMF into the calls' rtpengine sessions; owns the temp files while they play. */
export class CallPlayer {
  private readonly playing = new WeakMap<MediaSession, Playing>();

  private readonly resolver: PlaySourceResolver;

  /** `resolver`: where sources become files rtpengine can open (default: this host, remote.ts). */
  constructor(private readonly log: Logger, resolver?: PlaySourceResolver) {
    this.resolver = resolver ?? new PlaySourceResolver({ log });
  }

  async play(call: RecordableCall, source: PlaySource, legs: Legs = 'both'): Promise<{ durationMs: number; legs: Legs }> {
    const sides = sidesOf(legs);
    await this.stop(call.media).catch(() => undefined);
    const file = await this.resolver.resolve(call.media.node.id, source, call.tenantId);
    let durationMs = file.durationMs;
    try {
      for (const side of sides) {
        const res = await call.media.node.command('playMedia', { 'call-id': call.media.id, 'from-tag': call.media.tags[side], file: file.path });
        if (typeof res.duration === 'number') durationMs = Math.max(durationMs, res.duration);
      }
    } catch (err) {
      file.cleanup();
      throw err;
    }
    // rtpengine reads the file while it plays: remove it a little after the end (or at stop()).
    const timer = setTimeout(() => this.finish(call.media), durationMs + 5_000);
    timer.unref();
    this.playing.set(call.media, { file, timer, sides });
    return { durationMs, legs };
  }

  /** Stops what plays on the call (all legs); false when nothing was playing. */
  async stop(media: MediaSession): Promise<boolean> {
    const p = this.playing.get(media);
    if (!p) return false;
    this.finish(media);
    if (media.active) {
      for (const side of p.sides) {
        await media.node.command('stopMedia', { 'call-id': media.id, 'from-tag': media.tags[side] }).catch((err: unknown) => this.log.debug({ err }, 'stopMedia failed (playback over)'));
      }
    }
    return true;
  }

  private finish(media: MediaSession): void {
    const p = this.playing.get(media);
    if (!p) return;
    clearTimeout(p.timer);
    p.file.cleanup();
    this.playing.delete(media);
  }

  /** RFC 4733 digits toward `legs` (default callee), one after the other with 80 ms gaps. */
  async dtmf(call: RecordableCall, digits: string, legs: Legs = 'callee', durationMs = 160): Promise<void> {
    for (const [i, digit] of [...digits].entries()) {
      if (i > 0) await new Promise((r) => setTimeout(r, durationMs + 80));
      for (const side of sidesOf(legs)) await call.media.playDtmf(side, digit, durationMs);
    }
  }
}

function parse<T extends import('typebox').TSchema>(schema: T, body: unknown): Static<T> {
  if (!Value.Check(schema, body)) {
    const first = Value.Errors(schema, body)[0];
    throw AppError.invalid(first ? `${first.instancePath || '/'} ${first.message}` : 'invalid body');
  }
  return body as Static<T>;
}

export interface MediaServiceDeps {
  find(callId: string): RecordableCall | undefined;
  /** The gateway's shared secret: required in `x-cpaas-gateway-secret` when set. */
  secret?: string;
  log: Logger;
  player?: CallPlayer;
  /** Where play sources are resolved (remote.ts); default: this host. */
  resolver?: PlaySourceResolver;
}

/** Mounts play/stop/dtmf on the control server; returns the player (the recording endpoint's announcement uses it). */
export function mountMediaServiceRoutes(control: ControlServer, d: MediaServiceDeps): CallPlayer {
  const player = d.player ?? new CallPlayer(d.log, d.resolver);
  const callOf = (req: ControlRequest, tenantId: string | null | undefined): RecordableCall => {
    if (d.secret && !secretMatches(req.headers[GATEWAY_SECRET_HEADER], d.secret)) throw AppError.unauthenticated('bad or missing control secret');
    const callId = req.params.callId ?? '';
    const call = d.find(callId);
    if (!call || !tenantId || call.tenantId !== tenantId || !call.media.active) throw new AppError('CALL_NOT_FOUND', `call ${callId} not found`);
    return call;
  };
  control.addRoute('POST', '/v1/calls/:callId/play', async (req) => {
    const tenantId = (req.body as { tenantId?: string } | undefined)?.tenantId;
    callOf(req, tenantId); // auth before validation details
    const b = parse(PlayControlBody, req.body);
    const call = callOf(req, b.tenantId);
    const out = await player.play(call, b.source, b.legs ?? 'both');
    d.log.info({ callId: req.params.callId, legs: out.legs, durationMs: out.durationMs }, 'playing into the call');
    return { status: 200, body: { callId: req.params.callId, ...out } };
  });
  control.addRoute('DELETE', '/v1/calls/:callId/play', async (req) => {
    const call = callOf(req, req.query.get('tenantId'));
    const stopped = await player.stop(call.media);
    return { status: 200, body: { callId: req.params.callId, stopped } };
  });
  control.addRoute('POST', '/v1/calls/:callId/dtmf', async (req) => {
    const tenantId = (req.body as { tenantId?: string } | undefined)?.tenantId;
    callOf(req, tenantId);
    const b = parse(DtmfControlBody, req.body);
    const call = callOf(req, b.tenantId);
    await player.dtmf(call, b.digits, b.legs ?? 'callee', b.durationMs ?? 160);
    return { status: 200, body: { callId: req.params.callId, digits: b.digits } };
  });
  return player;
}

/** The recording endpoint's consent announcement: the tone (or `source`) to both legs, waiting until it ends. */
export function consentAnnouncer(player: CallPlayer, source: PlaySource = CONSENT_TONE): (call: RecordableCall) => Promise<void> {
  return async (call) => {
    await player.play(call, source, 'both');
  };
}
