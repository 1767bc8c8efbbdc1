/**
 * A 1:1 call: invite → ringing → accept/reject/cancel → media → hold/resume → hangup with a reason.
 * The caller is the impolite peer and makes the first offer after `call:accepted`; the callee is polite.
 * Peer-to-peer chat in a call goes over the control DataChannel (room chat has server-side history instead).
 */
import { Emitter } from './emitter.js';
import { CpaasError } from './errors.js';
import { FileManager, type FileTransfer } from './files.js';
import { Peer, type RemoteTrack } from './peer.js';
import type { LocalMedia } from './devices.js';
import type { ClientContext } from './context.js';
import type { QualitySample } from './quality.js';
import type { CallInfo, FileOfferRequest, HangupReason, RtcSignal, ServerToClientEvents } from './protocol.js';

export type CallState = 'ringing' | 'connecting' | 'active' | 'ended';

export interface CallMessage {
  from: 'local' | 'remote';
  text: string;
  at: number;
}

type CallEvents = {
  /** Outgoing: the callee's devices are ringing. */
  ringing: () => void;
  /** The callee accepted; media is being negotiated. */
  accepted: () => void;
  /** Media is flowing (ICE + DTLS connected). */
  connected: () => void;
  state: (state: CallState) => void;
  track: (t: RemoteTrack) => void;
  'track-removed': (t: RemoteTrack) => void;
  /** Hold changed (either side); `byRemote` tells who. While held, no media flows in either direction. */
  hold: (held: boolean, byRemote: boolean) => void;
  message: (m: CallMessage) => void;
  'file-offer': (t: FileTransfer) => void;
  quality: (q: QualitySample) => void;
  ended: (reason: HangupReason, byRemote: boolean) => void;
  error: (err: CpaasError) => void;
};

export interface CallOptions {
  /** Local media to send; omit for receive-only. */
  media?: LocalMedia;
}

export class Call extends Emitter<CallEvents> {
  readonly id: string;
  readonly direction: 'outgoing' | 'incoming';
  readonly remoteIdentity: string;
  readonly remoteDisplayName?: string;
  readonly info?: CallInfo;
  state: CallState = 'ringing';
  held = false;
  endReason: HangupReason | null = null;
  peer: Peer | null = null;
  readonly messages: CallMessage[] = [];
  readonly files: FileManager;
  media: LocalMedia | null;
  private readonly ctx: ClientContext;
  private readonly onEnd: () => void;
  private qualityTimer: ReturnType<typeof setInterval> | undefined;
  private pendingSignals: RtcSignal[] = [];
  /** performance.now() at invite/accept and at first connection (for time-to-media figures). */
  readonly startedAt = performance.now();
  connectedAt: number | null = null;

  /** @internal */
  constructor(ctx: ClientContext, init: { id: string; direction: 'outgoing' | 'incoming'; remoteIdentity: string; info?: CallInfo; media?: LocalMedia; onEnd: () => void }) {
    super();
    this.ctx = ctx;
    this.id = init.id;
    this.direction = init.direction;
    this.remoteIdentity = init.remoteIdentity;
    this.remoteDisplayName = init.info?.from.displayName;
    this.info = init.info;
    this.media = init.media ?? null;
    this.onEnd = init.onEnd;
    this.files = new FileManager({
      address: () => ({ callId: this.id }),
      request: (event, payload) => this.ctx.request(event, payload as never),
      peer: () => this.peer ?? undefined,
    });
  }

  private setState(s: CallState): void {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s);
  }

  private createPeer(): Peer {
    if (this.peer) return this.peer;
    const peer = (this.peer = new Peer({
      id: this.id,
      polite: this.direction === 'incoming',
      config: () => this.ctx.rtcConfig(),
      send: async (signal) => void (await this.ctx.request('call:signal', { callId: this.id, signal })),
      media: this.media,
      log: this.ctx.log,
      refreshIceServers: () => this.ctx.refreshIceServers(),
    }));
    peer.on('track', (t) => this.emit('track', t));
    peer.on('track-removed', (t) => this.emit('track-removed', t));
    peer.on('error', (err) => this.emit('error', err));
    peer.on('datachannel', (ch) => this.files.onChannel(ch));
    peer.on('control', (m) => {
      if (m.t === 'chat' && typeof m.text === 'string') {
        const msg: CallMessage = { from: 'remote', text: m.text, at: Date.now() };
        this.messages.push(msg);
        this.emit('message', msg);
      }
    });
    peer.on('state', (s) => {
      if (s === 'connected' && this.state === 'connecting') {
        this.connectedAt = performance.now();
        this.setState('active');
        this.emit('connected');
      }
    });
    if (this.ctx.qualityIntervalMs > 0) this.qualityTimer = setInterval(() => void this.getQuality().then((q) => q && this.emit('quality', q)), this.ctx.qualityIntervalMs);
    for (const s of this.pendingSignals) void peer.handleSignal(s);
    this.pendingSignals = [];
    return peer;
  }

  // ---- callee -------------------------------------------------------------------------------------

  /** Answers an incoming call. */
  async accept(opts: CallOptions = {}): Promise<void> {
    if (this.direction !== 'incoming' || this.state !== 'ringing') throw new CpaasError('INVALID_STATE', `cannot accept a call in state ${this.state}`);
    if (opts.media) this.media = opts.media;
    this.setState('connecting');
    await this.ctx.request('call:accept', { callId: this.id });
    this.createPeer();
  }

  /** Declines an incoming call (`rejected` by default, or `busy`). */
  async reject(reason: Extract<HangupReason, 'rejected' | 'busy'> = 'rejected'): Promise<void> {
    if (this.state === 'ended') return;
    // `reason as never`: the protocol's Static<> of a mapped literal union collapses to undefined (reported)
    await this.ctx.request('call:reject', { callId: this.id, reason: reason as never }).finally(() => this.end(reason, false));
  }

  // ---- caller -------------------------------------------------------------------------------------

  /** Withdraws an outgoing call before it is answered. */
  async cancel(): Promise<void> {
    if (this.state === 'ended') return;
    await this.ctx.request('call:cancel', { callId: this.id }).finally(() => this.end('cancelled', false));
  }

  // ---- both ---------------------------------------------------------------------------------------

  /** Ends the call; the other side's `ended` event carries the reason. */
  async hangup(reason: HangupReason = 'local-hangup'): Promise<void> {
    if (this.state === 'ended') return;
    if (this.state === 'ringing') return this.direction === 'outgoing' ? this.cancel() : this.reject();
    await this.ctx.request('call:hangup', { callId: this.id, reason: reason as never }).finally(() => this.end(reason, false));
  }

  /** Puts the call on hold: media stops in both directions until `resume()`. */
  async hold(): Promise<void> {
    await this.setHold(true);
  }

  async resume(): Promise<void> {
    await this.setHold(false);
  }

  private async setHold(hold: boolean): Promise<void> {
    if (this.state !== 'active' && this.state !== 'connecting') throw new CpaasError('INVALID_STATE', `cannot ${hold ? 'hold' : 'resume'} a call in state ${this.state}`);
    await this.ctx.request('call:hold', { callId: this.id, hold });
    this.applyHold(hold, false);
  }

  private applyHold(hold: boolean, byRemote: boolean): void {
    this.held = hold;
    this.peer?.setHold(hold);
    this.emit('hold', hold, byRemote);
  }

  /** Peer-to-peer text message (needs the media connection up). */
  sendMessage(text: string): CallMessage {
    if (!this.peer?.sendControl({ t: 'chat', text })) throw new CpaasError('INVALID_STATE', 'the call has no open data channel yet');
    const msg: CallMessage = { from: 'local', text, at: Date.now() };
    this.messages.push(msg);
    return msg;
  }

  sendFile(file: Blob, name?: string): Promise<FileTransfer> {
    if (!this.peer) return Promise.reject(new CpaasError('INVALID_STATE', 'the call is not connected'));
    return this.files.send(this.id, file, name);
  }

  async getQuality(): Promise<QualitySample | null> {
    return this.peer ? this.peer.getQuality() : null;
  }

  get remoteTracks(): RemoteTrack[] {
    return this.peer?.remoteTracks ?? [];
  }

  // ---- server events ------------------------------------------------------------------------------

  /** @internal */
  _onEvent<K extends keyof ServerToClientEvents>(event: K, e: Parameters<ServerToClientEvents[K]>[0]): void {
    switch (event) {
      case 'call:ringing':
        if (this.state === 'ringing') this.emit('ringing');
        break;
      case 'call:accepted':
        if (this.state !== 'ringing') return;
        this.setState('connecting');
        this.emit('accepted');
        this.createPeer();
        break;
      case 'call:signal': {
        const { signal } = e as { signal: RtcSignal };
        if (this.peer) void this.peer.handleSignal(signal);
        else this.pendingSignals.push(signal);
        break;
      }
      case 'call:held': {
        const h = e as { hold: boolean; by: string };
        this.applyHold(h.hold, true);
        break;
      }
      case 'call:ended': {
        const en = e as { reason: HangupReason };
        this.end(en.reason, true);
        break;
      }
      case 'file:offer': {
        const o = e as FileOfferRequest & { fromIdentity: string };
        this.emit('file-offer', this.files.onOffer(o, this.id));
        break;
      }
      case 'file:accepted':
      case 'file:declined':
      case 'file:cancelled': {
        const r = e as { transferId: string; reason?: string };
        this.files.onReply(event === 'file:accepted' ? 'accepted' : event === 'file:declined' ? 'declined' : 'cancelled', r.transferId, r.reason);
        break;
      }
      default:
        break;
    }
  }

  /** @internal */
  _updateIce(): void {
    this.peer?.updateConfig();
  }

  /** @internal */
  _restartIce(why: string): void {
    this.peer?.restartIce(why);
  }

  private end(reason: HangupReason, byRemote: boolean): void {
    if (this.state === 'ended') return;
    this.endReason = reason;
    clearInterval(this.qualityTimer);
    this.files.failAll();
    this.peer?.close();
    this.setState('ended');
    this.emit('ended', reason, byRemote);
    this.onEnd();
  }
}
