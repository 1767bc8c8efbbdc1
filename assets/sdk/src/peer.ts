/**
 * One RTCPeerConnection to one remote party, negotiated with the "perfect negotiation" pattern (W3C WebRTC 1.0
 * §10.7) so both sides may add tracks, restart ICE or share the screen at any time without glare. Each side is either
 * polite (rolls back its own offer on collision) or impolite (ignores the colliding offer); the caller of `new Peer`
 * decides, and both ends must decide oppositely (rooms: the smaller participant id is polite; calls: the callee).
 *
 * It also: labels remote tracks (camera / microphone / screen) through `a=x-cpaas-source` lines in the SDP it sends,
 * carries a negotiated control DataChannel (id 0) for peer messages, detects TURN failures that never reach `failed`
 * (gathering complete with zero candidates, 401 errors), restarts ICE on `failed`/`disconnected`, and samples quality.
 */
import { Emitter } from './emitter.js';
import { CpaasError } from './errors.js';
import type { LocalMedia, TrackSource } from './devices.js';
import type { RtcSignal } from './protocol.js';
import type { LogFn } from './log.js';
import { computeQuality, readStats, type QualitySample, type StatsEntry, type StatsSnapshot } from './quality.js';

export interface RemoteTrack {
  track: MediaStreamTrack;
  stream: MediaStream;
  source: TrackSource;
}

export interface TurnErrorInfo {
  errorCode: number;
  errorText: string;
  url: string;
}

type PeerEvents = {
  track: (t: RemoteTrack) => void;
  'track-removed': (t: RemoteTrack) => void;
  /** RTCPeerConnectionState changes. */
  state: (state: RTCPeerConnectionState) => void;
  /** A JSON message on the control channel. */
  control: (msg: { t: string; [k: string]: unknown }) => void;
  /** A DataChannel opened by the far end (other than the control channel). */
  datachannel: (ch: RTCDataChannel) => void;
  /** A failure the app should show; `fatal` ones mean no media will flow without action. */
  error: (err: CpaasError) => void;
};

export interface PeerOptions {
  /** The remote participant id (rooms) or the call id (calls). */
  id: string;
  polite: boolean;
  config: () => RTCConfiguration;
  send: (signal: RtcSignal) => Promise<void>;
  media: LocalMedia | null;
  log: LogFn;
  /** Asks the client for fresh ICE servers (used once after a TURN auth failure). */
  refreshIceServers?: () => Promise<void>;
}

const SOURCE_LINE = /^a=x-cpaas-source:(\S+) (microphone|camera|screen)\r?$/gm;

export class Peer extends Emitter<PeerEvents> {
  readonly id: string;
  readonly polite: boolean;
  readonly pc: RTCPeerConnection;
  readonly control: RTCDataChannel;
  private readonly opts: PeerOptions;
  private makingOffer = false;
  private ignoreOffer = false;
  private chain: Promise<void> = Promise.resolve();
  private readonly senders = new Map<TrackSource, RTCRtpSender>();
  private readonly remoteSources = new Map<string, TrackSource>();
  private readonly remote = new Map<string, RemoteTrack>();
  private localCandidates = 0;
  private turnErrors: TurnErrorInfo[] = [];
  private gatherFailures = 0;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private authWatchdog: ReturnType<typeof setTimeout> | undefined;
  private lastRestart = 0;
  private failedRestarts = 0;
  private held = false;
  private failed = false;
  private closed = false;
  private prevStats: StatsSnapshot | undefined;
  private readonly offMedia: Array<() => void> = [];
  /** Time the peer was created and when media first flowed (ms, performance.now()). */
  readonly createdAt = performance.now();
  connectedAt: number | null = null;

  constructor(opts: PeerOptions) {
    super();
    this.opts = opts;
    this.id = opts.id;
    this.polite = opts.polite;
    const pc = (this.pc = new RTCPeerConnection(opts.config()));
    this.control = pc.createDataChannel('cpaas', { negotiated: true, id: 0, ordered: true });
    this.control.onmessage = (e) => {
      if (typeof e.data !== 'string') return;
      try {
        this.emit('control', JSON.parse(e.data) as { t: string });
      } catch {
        opts.log('warn', 'bad control message', e.data);
      }
    };
    pc.onnegotiationneeded = () => void this.negotiate();
    pc.onicecandidate = (e) => {
      if (!e.candidate) return;
      this.localCandidates++;
      void this.safeSend({ type: 'candidate', candidate: e.candidate.toJSON() as Extract<RtcSignal, { type: 'candidate' }>['candidate'] });
    };
    pc.onicecandidateerror = (e) => {
      const ev = e as RTCPeerConnectionIceErrorEvent;
      this.turnErrors.push({ errorCode: ev.errorCode, errorText: ev.errorText, url: ev.url });
      opts.log('debug', `ICE candidate error ${ev.errorCode} ${ev.errorText} (${ev.url})`);
    };
    pc.onicegatheringstatechange = () => {
      if (pc.iceGatheringState === 'complete') this.onGatheringComplete();
    };
    pc.onconnectionstatechange = () => this.onConnectionState();
    pc.ontrack = (e) => this.onTrack(e);
    pc.ondatachannel = (e) => this.emit('datachannel', e.channel);
    if (opts.media) this.attach(opts.media);
  }

  // ---- local media -------------------------------------------------------------------------------

  /** Starts sending `media` (tracks added later follow automatically). */
  attach(media: LocalMedia): void {
    if (this.opts.media && this.opts.media !== media) throw new CpaasError('INVALID_STATE', 'this peer already publishes another LocalMedia');
    if (this.offMedia.length) return;
    this.opts.media = media;
    for (const source of ['microphone', 'camera', 'screen'] as const) {
      const t = media.track(source);
      if (t) this.setSourceTrack(source, t);
    }
    this.offMedia.push(media.on('track', (source, track) => this.setSourceTrack(source, track)));
  }

  private setSourceTrack(source: TrackSource, track: MediaStreamTrack | null): void {
    if (this.closed) return;
    const media = this.opts.media!;
    const sender = this.senders.get(source);
    if (sender && track) {
      void sender.replaceTrack(this.held ? null : track).catch((err: unknown) => this.opts.log('warn', 'replaceTrack failed', err));
    } else if (sender && !track) {
      this.pc.removeTrack(sender);
      this.senders.delete(source);
    } else if (track) {
      const s = this.pc.addTrack(track, media.streamOf(source));
      if (this.held) void s.replaceTrack(null);
      this.senders.set(source, s);
    }
  }

  /** Hold: stop sending every track (no renegotiation); resume puts them back. */
  setHold(hold: boolean): void {
    this.held = hold;
    const media = this.opts.media;
    for (const [source, sender] of this.senders) void sender.replaceTrack(hold ? null : (media?.track(source) ?? null));
  }

  // ---- negotiation --------------------------------------------------------------------------------

  private async negotiate(): Promise<void> {
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      await this.sendDescription();
    } catch (err) {
      this.opts.log('warn', `negotiation with ${this.id} failed`, err);
    } finally {
      this.makingOffer = false;
    }
  }

  private async sendDescription(): Promise<void> {
    const d = this.pc.localDescription;
    if (!d) return;
    await this.safeSend({ type: 'description', description: { type: d.type, sdp: this.labelSdp(d.sdp) } });
  }

  /** Adds `a=x-cpaas-source:<streamId> <source>` session lines so the far end can tell the screen from the camera. */
  private labelSdp(sdp: string): string {
    const media = this.opts.media;
    if (!media || !sdp) return sdp;
    const lines: string[] = [];
    for (const source of this.senders.keys()) lines.push(`a=x-cpaas-source:${media.streamOf(source).id} ${source === 'microphone' ? 'camera' : source}`);
    if (!lines.length) return sdp;
    return sdp.replace(/\r\nt=([^\r\n]*)\r\n/, (m) => `${m}${[...new Set(lines)].join('\r\n')}\r\n`);
  }

  private async safeSend(signal: RtcSignal): Promise<void> {
    if (this.closed) return;
    try {
      await this.opts.send(signal);
    } catch (err) {
      this.opts.log('debug', `signal to ${this.id} not delivered`, err);
    }
  }

  /** Feeds a signal from the far end (serialized: candidates may arrive while a description is being applied). */
  handleSignal(signal: RtcSignal): Promise<void> {
    this.chain = this.chain.then(() => this.applySignal(signal)).catch((err: unknown) => this.opts.log('warn', `signal from ${this.id} failed`, err));
    return this.chain;
  }

  private async applySignal(signal: RtcSignal): Promise<void> {
    if (this.closed) return;
    const pc = this.pc;
    if (signal.type === 'description') {
      const description = signal.description;
      if (description.sdp) for (const m of description.sdp.matchAll(SOURCE_LINE)) this.remoteSources.set(m[1]!, m[2] as TrackSource);
      const offerCollision = description.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
      this.ignoreOffer = !this.polite && offerCollision;
      if (this.ignoreOffer) {
        this.opts.log('debug', `glare with ${this.id}: ignoring their offer (impolite)`);
        return;
      }
      await pc.setRemoteDescription(description as RTCSessionDescriptionInit);
      if (description.type === 'offer') {
        await pc.setLocalDescription();
        await this.sendDescription();
      }
    } else {
      try {
        if (signal.candidate) await pc.addIceCandidate(signal.candidate as RTCIceCandidateInit);
      } catch (err) {
        if (!this.ignoreOffer) throw err;
      }
    }
  }

  // ---- ICE health ---------------------------------------------------------------------------------

  private onGatheringComplete(): void {
    if (this.localCandidates > 0 || this.closed) return;
    // Chromium never reports `failed` when TURN refuses us: connectionState stays `new`. Gathering that completes with
    // zero candidates is the reliable, fast signal (FACTS §8.3).
    const auth = this.turnErrors.some((e) => e.errorCode === 401);
    const relayOnly = this.opts.config().iceTransportPolicy === 'relay';
    this.gatherFailures++;
    if (auth && this.gatherFailures === 1 && this.opts.refreshIceServers) {
      // Expired credentials: fetch new ones and try once more before giving up.
      this.opts.log('warn', `TURN refused the credentials for ${this.id}; refreshing them and restarting ICE`);
      void this.opts.refreshIceServers().then(() => this.restartIce('turn-auth'), (err: unknown) => this.fail(auth, relayOnly, err));
      // Watchdog: if the retry does not get us connected quickly (its gathering may not even start when the far end
      // is stuck too), give the verdict anyway.
      this.authWatchdog = setTimeout(() => {
        if (this.pc.connectionState !== 'connected' && this.gatherFailures < 2) {
          this.gatherFailures = 2;
          this.fail(true, relayOnly);
        }
      }, 3_000);
      return;
    }
    this.fail(auth, relayOnly);
  }

  private fail(auth: boolean, relayOnly: boolean, cause?: unknown): void {
    clearTimeout(this.authWatchdog);
    if (this.failed || this.closed) return;
    this.failed = true;
    const details = { peer: this.id, turnErrors: this.turnErrors.slice(-5), fatal: true };
    const err = auth
      ? new CpaasError('TURN_AUTH_FAILED', 'The TURN server refused the credentials (401): they are wrong or expired. No media path is available.', { details, cause })
      : new CpaasError('ICE_NO_CANDIDATES', relayOnly ? 'No relay candidate could be gathered: the TURN server is unreachable.' : 'No ICE candidate could be gathered.', { details, cause });
    this.emit('error', err);
  }

  private onConnectionState(): void {
    const st = this.pc.connectionState;
    this.emit('state', st);
    clearTimeout(this.restartTimer);
    if (st === 'connected') {
      clearTimeout(this.authWatchdog);
      this.failed = false;
      this.gatherFailures = 0;
      this.connectedAt ??= performance.now();
      this.failedRestarts = 0;
    } else if (st === 'disconnected') {
      this.restartTimer = setTimeout(() => this.restartIce('disconnected'), 2_000);
    } else if (st === 'failed') {
      if (this.failedRestarts++ < 2) this.restartIce('failed');
      else this.emit('error', new CpaasError('ICE_FAILED', `The media connection to ${this.id} failed and ICE restarts did not recover it.`, { details: { peer: this.id, fatal: true } }));
    }
  }

  /** Restarts ICE (new candidates through possibly new interfaces or TURN credentials). Safe to call on both ends. */
  restartIce(why: string): void {
    if (this.closed || this.pc.signalingState === 'closed') return;
    const now = performance.now();
    if (now - this.lastRestart < 1_000) return;
    this.lastRestart = now;
    this.opts.log('info', `ICE restart with ${this.id} (${why})`);
    this.localCandidates = 0;
    this.turnErrors = [];
    this.pc.setConfiguration(this.opts.config());
    this.pc.restartIce();
  }

  /** New ICE servers (refreshed TURN credentials): used from the next gathering on. */
  updateConfig(): void {
    if (!this.closed) this.pc.setConfiguration(this.opts.config());
  }

  // ---- remote tracks ------------------------------------------------------------------------------

  private onTrack(e: RTCTrackEvent): void {
    const stream = e.streams[0] ?? new MediaStream([e.track]);
    const source: TrackSource = e.track.kind === 'audio' ? 'microphone' : this.remoteSources.get(stream.id) === 'screen' ? 'screen' : 'camera';
    const rt: RemoteTrack = { track: e.track, stream, source };
    this.remote.set(e.track.id, rt);
    stream.addEventListener('removetrack', (ev) => {
      const gone = this.remote.get(ev.track.id);
      if (gone) {
        this.remote.delete(ev.track.id);
        this.emit('track-removed', gone);
      }
    });
    this.emit('track', rt);
  }

  get remoteTracks(): RemoteTrack[] {
    return [...this.remote.values()];
  }

  // ---- messages, stats, close ---------------------------------------------------------------------

  sendControl(msg: { t: string; [k: string]: unknown }): boolean {
    if (this.control.readyState !== 'open') return false;
    this.control.send(JSON.stringify(msg));
    return true;
  }

  /** Waits until the control channel is open (the SCTP association is up). */
  async controlOpen(timeoutMs = 15_000): Promise<void> {
    if (this.control.readyState === 'open') return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new CpaasError('TIMEOUT', 'peer data channel did not open')), timeoutMs);
      this.control.addEventListener('open', () => (clearTimeout(t), resolve()), { once: true });
    });
  }

  async getQuality(): Promise<QualitySample> {
    const report = await this.pc.getStats();
    const entries: StatsEntry[] = [];
    report.forEach((v: StatsEntry) => entries.push(v));
    const cur = readStats(entries, performance.now());
    const q = computeQuality(cur, this.prevStats);
    this.prevStats = cur.snapshot;
    return q;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.authWatchdog);
    for (const off of this.offMedia) off();
    this.pc.close();
    this.removeAllListeners();
  }
}
