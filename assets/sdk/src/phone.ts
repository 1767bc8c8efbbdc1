/**
 * A call between this browser and a phone (PSTN number or SIP endpoint) through the platform's WebRTC ⇄ SIP
 * gateway (docs/gateway.md). The media goes to the SBC's media relay (rtpengine), not to another browser, so the
 * negotiation is one non-trickle offer/answer: the side that offers waits for ICE gathering to finish and sends the
 * complete SDP. Audio only. Remote audio plays through an internal <audio> element unless `playAudio: false`.
 */
import { Emitter } from './emitter.js';
import { CpaasError } from './errors.js';
import type { LocalMedia } from './devices.js';
import type { ClientContext } from './context.js';
import { computeQuality, readStats, type QualitySample, type StatsEntry, type StatsSnapshot } from './quality.js';
import type { HangupReason, ServerToClientEvents } from './protocol.js';

export type PhoneCallState = 'dialing' | 'ringing' | 'connecting' | 'active' | 'ended';

type PhoneCallEvents = {
  /** The far end is alerting (`early` = early media is playing). */
  ringing: (early: boolean) => void;
  /** The far end answered; audio is being connected. */
  answered: () => void;
  /** Audio flows (ICE + DTLS connected). */
  connected: () => void;
  state: (state: PhoneCallState) => void;
  /** Remote audio (already playing unless `playAudio: false`). */
  track: (track: MediaStreamTrack, stream: MediaStream) => void;
  hold: (held: boolean) => void;
  quality: (q: QualitySample) => void;
  /** `sipStatus` is the far end's final status when the call failed (486, 404, …). */
  ended: (reason: HangupReason, sipStatus?: number) => void;
  error: (err: CpaasError) => void;
};

export interface PhoneCallOptions {
  /** Microphone to send (its audio track); omit for listen-only. */
  media?: LocalMedia;
  /** Play the remote audio through an internal <audio> element (default true). */
  playAudio?: boolean;
}

export interface DialOptions extends PhoneCallOptions {
  /** A number of your tenant to present as caller ID (ignored by the server otherwise). */
  callerId?: string;
  /** media-services: the room this call is placed from (rooms recorded by policy record its gateway calls). */
  roomId?: string;
}

/** Non-trickle: the SDP must carry every candidate (rtpengine takes no trickled ones). */
async function gathered(pc: RTCPeerConnection, timeoutMs = 3_000): Promise<string> {
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(t);
        pc.removeEventListener('icegatheringstatechange', check);
        resolve();
      }
      function check() {
        if (pc.iceGatheringState === 'complete') done();
      }
      pc.addEventListener('icegatheringstatechange', check);
    });
  }
  return pc.localDescription?.sdp ?? '';
}

export class PhoneCall extends Emitter<PhoneCallEvents> {
  id = '';
  readonly direction: 'outgoing' | 'incoming';
  /** The number / SIP URI dialled, or the caller's SIP URI. */
  readonly remote: string;
  state: PhoneCallState;
  held = false;
  endReason: HangupReason | null = null;
  readonly pc: RTCPeerConnection;
  private readonly ctx: ClientContext;
  private readonly onEnd: (call: PhoneCall) => void;
  private readonly audio: HTMLAudioElement | null = null;
  private offerSdp = '';
  private prevStats: StatsSnapshot | undefined;
  private qualityTimer: ReturnType<typeof setInterval> | undefined;

  /** @internal */
  constructor(ctx: ClientContext, init: { direction: 'outgoing' | 'incoming'; remote: string; id?: string; offerSdp?: string; onEnd: (c: PhoneCall) => void; playAudio?: boolean }) {
    super();
    this.ctx = ctx;
    this.direction = init.direction;
    this.remote = init.remote;
    this.id = init.id ?? '';
    this.offerSdp = init.offerSdp ?? '';
    this.onEnd = init.onEnd;
    this.state = init.direction === 'outgoing' ? 'dialing' : 'ringing';
    const cfg = ctx.rtcConfig();
    this.pc = new RTCPeerConnection({ ...cfg, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    if (init.playAudio !== false && typeof Audio !== 'undefined') this.audio = new Audio();
    this.pc.ontrack = (e) => {
      const stream = e.streams[0] ?? new MediaStream([e.track]);
      if (this.audio) {
        this.audio.srcObject = stream;
        this.audio.play().catch((err: unknown) => this.ctx.log('warn', 'remote audio did not start (autoplay policy?)', err));
      }
      this.emit('track', e.track, stream);
    };
    this.pc.onconnectionstatechange = () => {
      const s = this.pc.connectionState;
      if (s === 'connected' && this.state === 'connecting') {
        this.setState('active');
        this.emit('connected');
      } else if (s === 'failed' && this.state !== 'ended') {
        this.emit('error', new CpaasError('ICE_FAILED', 'media connection to the gateway failed'));
        void this.hangup();
      }
    };
    if (ctx.qualityIntervalMs > 0) this.qualityTimer = setInterval(() => void this.getQuality().then((q) => q && this.emit('quality', q)), ctx.qualityIntervalMs);
  }

  private setState(s: PhoneCallState): void {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s);
  }

  private addMedia(media: LocalMedia | undefined): void {
    const track = media?.audioTrack;
    if (track) this.pc.addTransceiver(track, { direction: 'sendrecv', streams: [media.stream] });
    else this.pc.addTransceiver('audio', { direction: 'recvonly' });
  }

  /** @internal Creates the offer and asks the gateway to dial. */
  async _dial(to: string, opts: DialOptions): Promise<void> {
    this.addMedia(opts.media);
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const sdp = await gathered(this.pc);
    const { callId } = await this.ctx.request('dial:start', { to, sdp, ...(opts.callerId ? { callerId: opts.callerId } : {}), ...(opts.roomId ? { roomId: opts.roomId } : {}) });
    this.id = callId;
  }

  /** Answers an incoming phone call. */
  async accept(opts: PhoneCallOptions = {}): Promise<void> {
    if (this.direction !== 'incoming' || this.state !== 'ringing') throw new CpaasError('INVALID_STATE', `cannot accept a phone call in state ${this.state}`);
    this.setState('connecting');
    try {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: this.offerSdp });
      const track = opts.media?.audioTrack;
      const tr = this.pc.getTransceivers()[0];
      if (tr && track) {
        await tr.sender.replaceTrack(track);
        tr.direction = 'sendrecv';
      }
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      await this.ctx.request('dial:answer', { callId: this.id, sdp: await gathered(this.pc) });
    } catch (err) {
      this.end('error');
      throw err;
    }
  }

  /** Declines an incoming phone call (the caller gets 603 Decline). */
  async reject(): Promise<void> {
    if (this.state === 'ended') return;
    await this.control('hangup').finally(() => this.end('rejected'));
  }

  /** Ends the call (cancels it while it is still ringing). */
  async hangup(): Promise<void> {
    if (this.state === 'ended') return;
    if (!this.id) return this.end('cancelled');
    await this.control('hangup').finally(() => this.end(this.state === 'active' || this.state === 'connecting' ? 'local-hangup' : 'cancelled'));
  }

  /** Puts the far end on hold (re-INVITE sendonly on the SIP side); our microphone is muted meanwhile. */
  async hold(): Promise<void> {
    await this.control('hold');
    this.setHeld(true);
  }

  async resume(): Promise<void> {
    await this.control('resume');
    this.setHeld(false);
  }

  private setHeld(held: boolean): void {
    this.held = held;
    for (const s of this.pc.getSenders()) if (s.track) s.track.enabled = !held;
    this.emit('hold', held);
  }

  /** Sends DTMF digits (0-9, *, #, A-D) to the far end (RFC 2833 or SIP INFO, chosen by the gateway). */
  async sendDtmf(digits: string): Promise<void> {
    await this.control('dtmf', { digits });
  }

  /** Blind transfer: the far end is asked (REFER) to call `target` (a number, SIP user or SIP URI); we drop off. */
  async transfer(target: string): Promise<void> {
    await this.control('transfer', { target });
  }

  // --- media-services (docs/recordings.md): server-side recording of this call in rtpengine; needs the `record` grant ---
  /** Starts recording the call (both parties, on the media server); `announce` plays the consent tone to both. */
  async startRecording(opts: { announce?: boolean } = {}): Promise<void> {
    await this.control('record', { recording: 'start', ...(opts.announce !== undefined ? { announce: opts.announce } : {}) });
  }

  /** Stops recording; the file is finalized (and cannot be restarted in this call: pause/resume instead). */
  async stopRecording(): Promise<void> {
    await this.control('record', { recording: 'stop' });
  }

  /** Pauses recording: the stretch until resumeRecording() is silence in the file. */
  async pauseRecording(): Promise<void> {
    await this.control('record', { recording: 'pause' });
  }

  async resumeRecording(opts: { announce?: boolean } = {}): Promise<void> {
    await this.control('record', { recording: 'resume', ...(opts.announce !== undefined ? { announce: opts.announce } : {}) });
  }
  // --- end media-services ---

  private async control(action: 'hangup' | 'hold' | 'resume' | 'dtmf' | 'transfer' | 'record', extra: { digits?: string; target?: string; recording?: 'start' | 'stop' | 'pause' | 'resume'; announce?: boolean } = {}): Promise<void> {
    if (!this.id) throw new CpaasError('INVALID_STATE', 'the call has no id yet');
    await this.ctx.request('dial:control', { callId: this.id, action, ...extra });
  }

  /** Round trip, loss, jitter, bitrate and MOS estimate of the audio (null once ended). */
  async getQuality(): Promise<QualitySample | null> {
    if (this.state === 'ended') return null;
    const report = await this.pc.getStats();
    const entries: StatsEntry[] = [];
    report.forEach((v: StatsEntry) => entries.push(v));
    const cur = readStats(entries, performance.now());
    const q = computeQuality(cur, this.prevStats);
    this.prevStats = cur.snapshot;
    return q;
  }

  /** @internal */
  _onEvent<K extends 'dial:progress' | 'dial:answered' | 'dial:ended'>(event: K, e: Parameters<ServerToClientEvents[K]>[0]): void {
    if (event === 'dial:progress') {
      const p = e as { status: string; sdp?: string };
      if (this.state !== 'dialing' && this.state !== 'ringing') return;
      this.setState('ringing');
      if (p.sdp) void this.pc.setRemoteDescription({ type: 'pranswer', sdp: p.sdp }).catch((err: unknown) => this.ctx.log('warn', 'early media SDP refused', err));
      this.emit('ringing', !!p.sdp);
    } else if (event === 'dial:answered') {
      if (this.state === 'ended' || this.state === 'active' || this.state === 'connecting') return;
      this.setState('connecting');
      this.emit('answered');
      this.pc.setRemoteDescription({ type: 'answer', sdp: (e as { sdp: string }).sdp }).catch((err: unknown) => {
        this.emit('error', new CpaasError('MEDIA_FAILED', `gateway answer refused: ${String((err as Error)?.message ?? err)}`));
        void this.hangup();
      });
    } else {
      const en = e as { reason: HangupReason; sipStatus?: number };
      this.end(en.reason, en.sipStatus);
    }
  }

  private end(reason: HangupReason, sipStatus?: number): void {
    if (this.state === 'ended') return;
    this.endReason = reason;
    clearInterval(this.qualityTimer);
    this.pc.close();
    if (this.audio) this.audio.srcObject = null;
    this.setState('ended');
    this.emit('ended', reason, sipStatus);
    this.onEnd(this);
  }
}
