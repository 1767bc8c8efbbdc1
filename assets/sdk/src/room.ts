/**
 * A joined room: participants and presence in the room, a mesh of peer connections (one per remote participant,
 * perfect negotiation with `polite = own participant id < remote participant id`), publishing, chat with history,
 * file transfer and quality. Created by `CpaasClient.joinRoom()`.
 */
import { Emitter } from './emitter.js';
import { CpaasError } from './errors.js';
import { FileManager, type FileTransfer } from './files.js';
import { Peer, type RemoteTrack } from './peer.js';
import type { LocalMedia } from './devices.js';
import type { ClientContext } from './context.js';
import type { QualitySample } from './quality.js';
import type { ChatMessage, JoinRoomResult, MediaState, Participant, ParticipantLeftReason, RoomInfo, RtcSignal, ServerToClientEvents, FileOfferRequest } from './protocol.js';
import { LocalRoomRecording, type LocalRecordingOptions, type LocalRecordingResult } from './recording.js'; // media-services

export interface JoinOptions {
  displayName?: string;
  /** What to publish; omit to join receive-only and call `publish()` later. */
  media?: LocalMedia;
  metadata?: Record<string, string | number | boolean>;
}

export interface RemoteTrackEvent extends RemoteTrack {
  participant: Participant;
}

type RoomEvents = {
  'participant-joined': (p: Participant) => void;
  'participant-left': (p: Participant, reason: ParticipantLeftReason) => void;
  /** Mute / camera / screen / connection (`reconnecting`) changes. */
  'participant-updated': (p: Participant) => void;
  track: (e: RemoteTrackEvent) => void;
  'track-removed': (e: RemoteTrackEvent) => void;
  /** The peer connection state towards one participant. */
  'peer-state': (participantId: string, state: RTCPeerConnectionState) => void;
  message: (m: ChatMessage) => void;
  typing: (e: { participantId: string; identity: string; typing: boolean }) => void;
  'file-offer': (t: FileTransfer) => void;
  quality: (participantId: string, q: QualitySample) => void;
  /** After a signalling reconnect the room was joined again; `resumed` = same participant id kept. */
  resumed: (resumed: boolean) => void;
  /** The room was closed by the server or left. */
  closed: (reason: 'left' | 'room-closed' | 'kicked') => void;
  error: (err: CpaasError) => void;
};

export class Room extends Emitter<RoomEvents> {
  readonly id: string;
  info!: RoomInfo;
  participantId = '';
  /** Remote participants by participant id. */
  readonly participants = new Map<string, Participant>();
  /** Chat messages known so far, ordered by seq. */
  messages: ChatMessage[] = [];
  media: LocalMedia | null;
  readonly files: FileManager;
  private readonly peers = new Map<string, Peer>();
  private readonly ctx: ClientContext;
  private readonly opts: JoinOptions;
  private qualityTimer: ReturnType<typeof setInterval> | undefined;
  private left = false;
  private offMedia: (() => void) | undefined;

  /** @internal use CpaasClient.joinRoom */
  constructor(ctx: ClientContext, roomId: string, opts: JoinOptions) {
    super();
    this.ctx = ctx;
    this.id = roomId;
    this.opts = opts;
    this.media = opts.media ?? null;
    this.files = new FileManager({
      address: (pid) => ({ roomId: this.id, to: pid }),
      request: (event, payload) => this.ctx.request(event, payload as never),
      peer: (pid) => this.peers.get(pid),
    });
    if (this.media) this.offMedia = this.media.on('mute', () => void this.pushState());
  }

  private state(): MediaState {
    const m = this.media;
    return {
      audio: !!m?.audioTrack && !m.isMuted('microphone'),
      video: !!m?.videoTrack && !m.isMuted('camera'),
      screen: !!m?.screenTrack,
    };
  }

  /** @internal */
  async _join(resumeParticipantId?: string): Promise<JoinRoomResult> {
    const res = await this.ctx.request('room:join', {
      roomId: this.id,
      displayName: this.opts.displayName,
      state: this.state(),
      metadata: this.opts.metadata,
      ...(resumeParticipantId ? { resumeParticipantId } : {}),
    });
    const newId = res.participantId !== this.participantId;
    this.info = res.room;
    this.participantId = res.participantId;
    if (newId) this.closePeers(); // politeness and addressing depend on our id
    const present = new Set<string>();
    for (const p of res.participants) {
      if (p.id === this.participantId) continue;
      present.add(p.id);
      this.participants.set(p.id, p);
    }
    for (const [pid, p] of this.participants) {
      if (!present.has(pid)) {
        this.participants.delete(pid);
        this.dropPeer(pid);
        this.emit('participant-left', p, 'disconnected');
      }
    }
    for (const pid of present) {
      const peer = this.ensurePeer(pid);
      if (peer.pc.connectionState !== 'connected') peer.restartIce('room resumed');
    }
    this.mergeMessages(res.recentMessages);
    if (this.ctx.qualityIntervalMs > 0 && !this.qualityTimer) this.qualityTimer = setInterval(() => void this.sampleQuality(), this.ctx.qualityIntervalMs);
    return res;
  }

  /** @internal after a signalling reconnect */
  async _resume(): Promise<void> {
    if (this.left) return;
    const res = await this._join(this.participantId);
    this.emit('resumed', res.resumed);
  }

  private ensurePeer(pid: string): Peer {
    let peer = this.peers.get(pid);
    if (peer) return peer;
    peer = new Peer({
      id: pid,
      polite: this.participantId < pid,
      config: () => this.ctx.rtcConfig(),
      send: async (signal: RtcSignal) => void (await this.ctx.request('room:signal', { roomId: this.id, to: pid, signal })),
      media: this.media,
      log: this.ctx.log,
      refreshIceServers: () => this.ctx.refreshIceServers(),
    });
    this.peers.set(pid, peer);
    const participant = () => this.participants.get(pid) ?? ({ id: pid, identity: 'unknown', joinedAt: '', state: { audio: false, video: false, screen: false, connection: 'connected' } } as Participant);
    peer.on('track', (t) => this.emit('track', { ...t, participant: participant() }));
    peer.on('track-removed', (t) => this.emit('track-removed', { ...t, participant: participant() }));
    peer.on('state', (s) => this.emit('peer-state', pid, s));
    peer.on('datachannel', (ch) => this.files.onChannel(ch));
    peer.on('error', (err) => this.emit('error', err));
    return peer;
  }

  private dropPeer(pid: string): void {
    this.peers.get(pid)?.close();
    this.peers.delete(pid);
    this.files.failAll(pid);
  }

  private closePeers(): void {
    for (const pid of [...this.peers.keys()]) this.dropPeer(pid);
  }

  /** The peer connection to a participant (for advanced use: stats, transceivers). */
  peer(participantId: string): Peer | undefined {
    return this.peers.get(participantId);
  }

  // ---- server events (wired by the client) --------------------------------------------------------

  /** @internal */
  _onEvent<K extends keyof ServerToClientEvents>(event: K, e: Parameters<ServerToClientEvents[K]>[0]): void {
    switch (event) {
      case 'room:participant-joined': {
        const p = (e as { participant: Participant }).participant;
        if (p.id === this.participantId) return;
        this.participants.set(p.id, p);
        this.ensurePeer(p.id);
        this.emit('participant-joined', p);
        break;
      }
      case 'room:participant-updated': {
        const p = (e as { participant: Participant }).participant;
        if (p.id === this.participantId) return;
        this.participants.set(p.id, p);
        this.emit('participant-updated', p);
        break;
      }
      case 'room:participant-left': {
        const { participantId, identity, reason } = e as { participantId: string; identity: string; reason: ParticipantLeftReason };
        if (participantId === this.participantId) {
          if (reason === 'kicked' || reason === 'room-closed') this.close(reason);
          return;
        }
        const p = this.participants.get(participantId) ?? ({ id: participantId, identity } as Participant);
        this.participants.delete(participantId);
        this.dropPeer(participantId);
        this.emit('participant-left', p, reason);
        break;
      }
      case 'room:closed':
        this.close('room-closed');
        break;
      case 'room:signal': {
        const { from, signal } = e as { from: string; signal: RtcSignal };
        void this.ensurePeer(from).handleSignal(signal);
        break;
      }
      case 'chat:message':
        this.mergeMessages([e as ChatMessage]);
        break;
      case 'chat:typing': {
        const t = e as { participantId: string; identity: string; typing: boolean };
        if (t.participantId !== this.participantId) this.emit('typing', t);
        break;
      }
      case 'file:offer': {
        const o = e as FileOfferRequest & { from: string; fromIdentity: string };
        this.emit('file-offer', this.files.onOffer(o, o.from));
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

  /** @internal new TURN credentials */
  _updateIce(): void {
    for (const p of this.peers.values()) p.updateConfig();
  }

  /** @internal network changed */
  _restartIce(why: string): void {
    for (const p of this.peers.values()) p.restartIce(why);
  }

  // ---- media --------------------------------------------------------------------------------------

  /** Starts publishing `media` to every participant (current and future). */
  async publish(media: LocalMedia): Promise<void> {
    if (this.media && this.media !== media) throw new CpaasError('INVALID_STATE', 'already publishing another LocalMedia; use its methods to change tracks');
    this.media = media;
    this.offMedia ??= media.on('mute', () => void this.pushState());
    media.on('track', () => void this.pushState());
    for (const p of this.peers.values()) p.attach(media);
    await this.pushState();
  }

  /** Mutes or unmutes the microphone or camera (participants see it in `participant-updated`). */
  async mute(source: 'microphone' | 'camera', muted = true): Promise<void> {
    if (!this.media) throw new CpaasError('INVALID_STATE', 'nothing published');
    this.media.setMuted(source, muted);
  }

  async unmute(source: 'microphone' | 'camera'): Promise<void> {
    return this.mute(source, false);
  }

  async shareScreen(): Promise<MediaStreamTrack> {
    if (!this.media) throw new CpaasError('INVALID_STATE', 'publish() local media first');
    const t = await this.media.startScreen();
    await this.pushState();
    return t;
  }

  async stopScreen(): Promise<void> {
    this.media?.stopScreen();
    await this.pushState();
  }

  private async pushState(): Promise<void> {
    if (this.left || !this.participantId) return;
    await this.ctx.request('room:state', { roomId: this.id, state: this.state() }).catch((err: unknown) => this.ctx.log('warn', 'room:state failed', err));
  }

  // --- media-services (docs/recordings.md § Client-side recording): what THIS browser sends and hears, uploaded to S3 ---
  private localRecording: LocalRoomRecording | undefined;
  /** Starts recording this browser's view of the room (own microphone + every remote audio track). Needs the `record` grant. */
  startLocalRecording(opts: LocalRecordingOptions = {}): LocalRoomRecording {
    if (this.localRecording) throw new CpaasError('INVALID_STATE', 'a local recording is already running');
    if (!this.ctx.rest) throw new CpaasError('INVALID_STATE', 'no REST access for uploads');
    this.localRecording = new LocalRoomRecording(this.ctx.rest, this, opts);
    return this.localRecording;
  }

  /** Stops the local recording and uploads it; resolves with the recording id. */
  async stopLocalRecording(): Promise<LocalRecordingResult> {
    const r = this.localRecording;
    if (!r) throw new CpaasError('INVALID_STATE', 'no local recording is running');
    this.localRecording = undefined;
    return r.stop();
  }
  // --- end media-services ---

  /** Remote tracks currently received, per participant. */
  remoteTracks(): Array<RemoteTrackEvent> {
    const out: RemoteTrackEvent[] = [];
    for (const [pid, peer] of this.peers) {
      const participant = this.participants.get(pid);
      if (participant) for (const t of peer.remoteTracks) out.push({ ...t, participant });
    }
    return out;
  }

  // ---- chat ---------------------------------------------------------------------------------------

  private mergeMessages(ms: ChatMessage[]): void {
    const known = new Set(this.messages.map((m) => m.id));
    const fresh = ms.filter((m) => !known.has(m.id));
    if (!fresh.length) return;
    const newest = this.messages.at(-1)?.seq ?? 0;
    this.messages = [...this.messages, ...fresh].sort((a, b) => a.seq - b.seq);
    for (const m of fresh) if (m.seq > newest) this.emit('message', m);
  }

  /** Sends a chat message to the room; resolves with the stored message (seq, id). */
  async sendMessage(text: string): Promise<ChatMessage> {
    const clientId = `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const m = await this.ctx.request('chat:send', { roomId: this.id, text, clientId });
    this.mergeMessages([m]);
    return m;
  }

  /** Loads older messages (before the oldest known one by default) and merges them into `messages`. */
  async loadHistory(opts: { beforeSeq?: number; limit?: number } = {}): Promise<ChatMessage[]> {
    const beforeSeq = opts.beforeSeq ?? this.messages[0]?.seq;
    const res = await this.ctx.request('chat:history', { roomId: this.id, limit: opts.limit ?? 50, ...(beforeSeq ? { beforeSeq } : {}) });
    const known = new Set(this.messages.map((m) => m.id));
    this.messages = [...this.messages, ...res.messages.filter((m) => !known.has(m.id))].sort((a, b) => a.seq - b.seq);
    return res.messages;
  }

  setTyping(typing: boolean): void {
    this.ctx.notify('chat:typing', { roomId: this.id, typing });
  }

  // ---- files, quality, leave ----------------------------------------------------------------------

  /** Offers a file to one participant; the returned transfer reports progress and resolves `done()` when verified. */
  sendFile(participantId: string, file: Blob, name?: string): Promise<FileTransfer> {
    if (!this.peers.has(participantId)) return Promise.reject(new CpaasError('PARTICIPANT_NOT_FOUND', `no participant ${participantId}`));
    return this.files.send(participantId, file, name);
  }

  /** One quality sample per participant (rates are since the previous sample). */
  async getQuality(): Promise<Map<string, QualitySample>> {
    const out = new Map<string, QualitySample>();
    await Promise.all([...this.peers].map(async ([pid, p]) => out.set(pid, await p.getQuality())));
    return out;
  }

  private async sampleQuality(): Promise<void> {
    for (const [pid, q] of await this.getQuality()) this.emit('quality', pid, q);
  }

  private close(reason: 'left' | 'room-closed' | 'kicked'): void {
    if (this.left) return;
    this.left = true;
    clearInterval(this.qualityTimer);
    this.offMedia?.();
    this.closePeers();
    this.emit('closed', reason);
    this.ctx.log('info', `room ${this.id} closed (${reason})`);
  }

  /** Leaves the room (local media is not stopped: it may be reused). */
  async leave(): Promise<void> {
    if (this.left) return;
    await this.ctx.request('room:leave', { roomId: this.id }).catch((err: unknown) => this.ctx.log('warn', 'room:leave failed', err));
    this.close('left');
  }

  get isClosed(): boolean {
    return this.left;
  }
}
