/**
 * The connection to signalling: `connect()` authenticates with an access token (never an API key), receives ICE
 * servers, refreshes TURN credentials before they expire, reconnects automatically (rooms are re-joined with
 * `resumeParticipantId`), restarts ICE when the network changes, and routes server events to rooms and calls.
 */
import { io, type Socket } from 'socket.io-client';
import { Emitter } from './emitter.js';
import { CpaasError, toCpaasError } from './errors.js';
import { consoleLog, type LogFn } from './log.js';
import { Room, type JoinOptions } from './room.js';
import { Call, type CallOptions } from './call.js';
import { PhoneCall, type DialOptions } from './phone.js';
import { Voicemail, type VoicemailMessage } from './voicemail.js'; // voicemail (docs/voicemail.md)
import type { ClientContext } from './context.js';
import {
  SDK_PROTOCOL_VERSION,
  type Ack,
  type CallInfo,
  type ConnectErrorData,
  type ClientToServerEvents,
  type IceServer,
  type PresenceInfo,
  type PresenceStatus,
  type RequestName,
  type RequestPayload,
  type ResponseData,
  type ServerToClientEvents,
  type SessionInfo,
} from './protocol.js';

export interface ConnectOptions {
  /** An access token from your backend (`POST /v1/tokens`), or a function returning a fresh one (used on reconnect). */
  token: string | (() => string | Promise<string>);
  /** Signalling base URL (`https://example.com`); defaults to the page's origin. */
  url?: string;
  /** socket.io path; default `/socket.io`. */
  path?: string;
  /** Only use TURN relay candidates (`iceTransportPolicy: 'relay'`). */
  relayOnly?: boolean;
  /** Rewrites the ICE servers received from the server (e.g. to add your own STUN). */
  iceServers?: (fromServer: IceServer[]) => IceServer[];
  /** Ack timeout per request; default 10 s. */
  requestTimeoutMs?: number;
  /** Give up the first connection after this long; default 15 s. */
  connectTimeoutMs?: number;
  /** Emit `quality` events every N ms (0 = off); default 2000. */
  qualityIntervalMs?: number;
  /** Verbose console logging. */
  debug?: boolean;
  /** Custom logger (replaces the console one). */
  logger?: LogFn;
}

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

type ClientEvents = {
  state: (state: ConnectionState) => void;
  /** Signalling came back after a drop; rooms have been re-joined. */
  reconnected: () => void;
  /** Final: `disconnect()` was called or the server refused us (see `error`). */
  disconnected: (reason: string) => void;
  error: (err: CpaasError) => void;
  'incoming-call': (call: Call) => void;
  /** A phone (SIP) call to this identity through the gateway: `accept()` or `reject()` it. */
  'incoming-phone-call': (call: PhoneCall) => void;
  presence: (p: PresenceInfo) => void;
  'ice-servers': (servers: IceServer[], expiresAt: string) => void;
  // --- voicemail ---
  /** A new voicemail message in one of this identity's mailboxes. */
  voicemail: (message: VoicemailMessage) => void;
  // --- end voicemail ---
};

type AnySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const ROOM_EVENTS = ['room:participant-joined', 'room:participant-updated', 'room:participant-left', 'room:closed', 'room:signal', 'chat:message', 'chat:typing'] as const;
const CALL_EVENTS = ['call:ringing', 'call:accepted', 'call:held', 'call:ended', 'call:signal'] as const;
const FILE_EVENTS = ['file:offer', 'file:accepted', 'file:declined', 'file:cancelled'] as const;

export class CpaasClient extends Emitter<ClientEvents> {
  session!: SessionInfo;
  state: ConnectionState = 'connecting';
  readonly rooms = new Map<string, Room>();
  readonly calls = new Map<string, Call>();
  /** Phone calls through the WebRTC ⇄ SIP gateway, by call id. */
  readonly phoneCalls = new Map<string, PhoneCall>();
  // --- voicemail ---
  /** This identity's voicemail: `list()`, `url(id)`, `markRead(id)`, `remove(id)`; new messages arrive as `'voicemail'` events. */
  readonly voicemail: Voicemail;
  // --- end voicemail ---
  private readonly socket: AnySocket;
  private readonly opts: ConnectOptions;
  private readonly log: LogFn;
  private iceServers: IceServer[] = [];
  private iceExpiresAt = 0;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshing: Promise<void> | null = null;
  private readonly ctx: ClientContext;
  private everConnected = false;
  private closing = false;
  private readonly earlyCallEvents = new Map<string, Array<[string, unknown]>>();
  private readonly offNetwork: Array<() => void> = [];

  /** @internal use `connect()` */
  constructor(opts: ConnectOptions) {
    super();
    this.opts = opts;
    this.log = opts.logger ?? consoleLog(!!opts.debug);
    const url = opts.url ?? globalThis.location?.origin ?? '';
    this.socket = io(url, {
      path: opts.path ?? '/socket.io',
      transports: ['websocket'],
      autoConnect: false,
      reconnectionDelay: 300,
      reconnectionDelayMax: 3_000,
      randomizationFactor: 0.3,
      auth: (cb) => {
        const t = opts.token;
        void Promise.resolve(typeof t === 'function' ? t() : t).then((token) => cb({ token }), () => cb({ token: '' }));
      },
    }) as AnySocket;
    this.ctx = {
      request: (event, payload) => this.request(event, payload),
      notify: (event, payload) => (this.socket.emit as (e: string, p: unknown) => void)(event, payload),
      rtcConfig: () => ({ iceServers: this.iceServers as RTCIceServer[], iceTransportPolicy: opts.relayOnly ? 'relay' : 'all', bundlePolicy: 'max-bundle' }),
      refreshIceServers: () => this.refreshIceServers(),
      log: this.log,
      qualityIntervalMs: opts.qualityIntervalMs ?? 2_000,
      reportError: (err) => this.emit('error', err),
      // --- media-services: REST access for client-side room recording uploads (same origin as signalling) ---
      rest: { baseUrl: url, token: async () => { const t = opts.token; return typeof t === 'function' ? await t() : t; } },
      // --- end media-services ---
    };
    this.voicemail = new Voicemail(this.ctx); // voicemail
    this.wire();
  }

  get identity(): string {
    return this.session.identity;
  }

  /** @internal */
  async _start(): Promise<this> {
    const timeoutMs = this.opts.connectTimeoutMs ?? 15_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new CpaasError('CONNECT_FAILED', `could not connect to signalling within ${timeoutMs} ms`, { retryable: true })), timeoutMs);
      const fail = (err: CpaasError) => {
        clearTimeout(timer);
        this.socket.off('connect_error', onErr);
        this.closing = true;
        this.socket.disconnect();
        reject(err);
      };
      const onErr = (err: Error & { data?: ConnectErrorData }) => {
        if (err.data?.code) fail(new CpaasError(err.data.code, err.data.message ?? err.message));
        // transport errors: socket.io keeps retrying until the timeout
      };
      this.socket.on('connect_error', onErr);
      const offState = this.on('state', (st) => {
        if (st !== 'connected') return;
        offState();
        clearTimeout(timer);
        this.socket.off('connect_error', onErr);
        resolve();
      });
      this.socket.connect();
    });
    return this;
  }

  private setState(s: ConnectionState): void {
    if (this.state === s) return;
    this.state = s;
    this.log('info', `signalling ${s}`);
    this.emit('state', s);
  }

  private wire(): void {
    const s = this.socket;
    s.on('session:ready', (info) => void this.onSession(info));
    s.on('disconnect', (reason) => {
      if (this.closing) return;
      this.setState('reconnecting');
      if (reason === 'io server disconnect') setTimeout(() => !this.closing && s.connect(), 500); // server-side close: socket.io does not retry by itself
    });
    s.on('connect_error', (err: Error & { data?: ConnectErrorData }) => {
      if (!this.everConnected || this.closing) return;
      if (!s.active) {
        // refused by the server's middleware (e.g. expired token): retry only if we can get a new token
        const e = new CpaasError(err.data?.code ?? 'NOT_AUTHENTICATED', err.data?.message ?? err.message);
        if (typeof this.opts.token === 'function') setTimeout(() => !this.closing && s.connect(), 1_000);
        else {
          this.emit('error', e);
          this.disconnect(`refused: ${e.code}`);
        }
      }
    });
    for (const ev of ROOM_EVENTS) s.on(ev, ((e: { roomId: string }) => this.rooms.get(e.roomId)?._onEvent(ev, e as never)) as never);
    for (const ev of CALL_EVENTS) s.on(ev, ((e: { callId: string }) => this.routeCall(ev, e)) as never);
    for (const ev of FILE_EVENTS)
      s.on(ev, ((e: { roomId?: string; callId?: string }) => {
        if (e.roomId) this.rooms.get(e.roomId)?._onEvent(ev, e as never);
        else if (e.callId) this.routeCall(ev, e as { callId: string });
      }) as never);
    s.on('call:incoming', (info) => this.onIncoming(info));
    for (const ev of ['dial:progress', 'dial:answered', 'dial:ended'] as const) s.on(ev, ((e: { callId: string }) => this.routePhone(ev, e)) as never);
    s.on('dial:incoming', (e) => {
      const call = new PhoneCall(this.ctx, { direction: 'incoming', remote: e.from, id: e.callId, offerSdp: e.sdp, onEnd: (c) => this.phoneCalls.delete(c.id) });
      this.phoneCalls.set(e.callId, call);
      this.emit('incoming-phone-call', call);
    });
    s.on('presence:changed', (p) => this.emit('presence', p));
    s.on('voicemail:new', (e) => this.emit('voicemail', e.message)); // voicemail
    const onNet = () => this.networkChanged('network change');
    globalThis.addEventListener?.('online', onNet);
    this.offNetwork.push(() => globalThis.removeEventListener?.('online', onNet));
    const conn = (globalThis.navigator as Navigator & { connection?: EventTarget } | undefined)?.connection;
    if (conn?.addEventListener) {
      conn.addEventListener('change', onNet);
      this.offNetwork.push(() => conn.removeEventListener('change', onNet));
    }
  }

  private async onSession(info: SessionInfo): Promise<void> {
    if (info.protocolVersion !== SDK_PROTOCOL_VERSION) {
      this.emit('error', new CpaasError('PROTOCOL_MISMATCH', `server speaks protocol ${info.protocolVersion}, this SDK ${SDK_PROTOCOL_VERSION}`));
    }
    this.session = info;
    this.setIceServers(info.iceServers, info.iceServersExpireAt);
    const reconnect = this.everConnected;
    this.everConnected = true;
    this.setState('connected');
    if (!reconnect) return;
    const results = await Promise.allSettled([...this.rooms.values()].map((r) => r._resume()));
    for (const r of results) if (r.status === 'rejected') this.emit('error', toCpaasError(r.reason));
    for (const c of this.calls.values()) c._restartIce('signalling reconnected');
    this.emit('reconnected');
  }

  // ---- requests -----------------------------------------------------------------------------------

  /** Sends a request and resolves with its data, or throws a CpaasError with the server's code. */
  request<K extends RequestName>(event: K, payload: RequestPayload<K>): Promise<ResponseData<K>> {
    const timeoutMs = this.opts.requestTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      if (!this.socket.connected) return reject(new CpaasError('DISCONNECTED', `cannot send ${event}: signalling is ${this.state}`, { retryable: true }));
      const emit = this.socket.timeout(timeoutMs).emit as unknown as (e: string, p: unknown, cb: (err: Error | null, res: Ack<ResponseData<K>>) => void) => void;
      emit.call(this.socket.timeout(timeoutMs), event, payload, (err, res) => {
        if (err) return reject(new CpaasError('TIMEOUT', `${event}: no answer within ${timeoutMs} ms`, { retryable: true }));
        if (res.ok) resolve(res.data);
        else reject(new CpaasError(res.error.code, res.error.message, { retryable: res.error.retryable, details: res.error.field ? { field: res.error.field } : {} }));
      });
    });
  }

  // ---- ICE servers --------------------------------------------------------------------------------

  private setIceServers(servers: IceServer[], expiresAt: string): void {
    this.iceServers = this.opts.iceServers ? this.opts.iceServers(servers) : servers;
    this.iceExpiresAt = Date.parse(expiresAt) || 0;
    for (const r of this.rooms.values()) r._updateIce();
    for (const c of this.calls.values()) c._updateIce();
    this.emit('ice-servers', this.iceServers, expiresAt);
    clearTimeout(this.refreshTimer);
    if (this.iceExpiresAt) {
      const lifetime = this.iceExpiresAt - Date.now();
      // refresh at 80 % of the lifetime, at least 30 s before expiry, never more often than every 5 s
      const at = Math.max(5_000, Math.min(lifetime * 0.8, lifetime - 30_000));
      this.refreshTimer = setTimeout(() => void this.refreshIceServers().catch((err: unknown) => this.log('warn', 'ICE server refresh failed', err)), at);
    }
  }

  /** Fetches fresh TURN credentials now (done automatically before they expire). */
  refreshIceServers(): Promise<void> {
    this.refreshing ??= this.request('ice:refresh', {})
      .then((r) => this.setIceServers(r.iceServers, r.iceServersExpireAt))
      .finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /** The current ICE servers (with TURN credentials) and when they expire. */
  get ice(): { servers: IceServer[]; expiresAt: number; relayOnly: boolean } {
    return { servers: this.iceServers, expiresAt: this.iceExpiresAt, relayOnly: !!this.opts.relayOnly };
  }

  private networkChanged(why: string): void {
    this.log('info', `network changed (${why}): restarting ICE`);
    for (const r of this.rooms.values()) r._restartIce(why);
    for (const c of this.calls.values()) c._restartIce(why);
  }

  // ---- rooms --------------------------------------------------------------------------------------

  /** Joins a room (the token must grant it). Publishes `opts.media` to everyone in it. */
  async joinRoom(roomId: string, opts: JoinOptions = {}): Promise<Room> {
    if (this.rooms.has(roomId)) throw new CpaasError('INVALID_STATE', `already in room ${roomId}`);
    const room = new Room(this.ctx, roomId, opts);
    this.rooms.set(roomId, room);
    room.on('closed', () => this.rooms.delete(roomId));
    try {
      await room._join();
    } catch (err) {
      this.rooms.delete(roomId);
      throw toCpaasError(err);
    }
    return room;
  }

  // ---- calls --------------------------------------------------------------------------------------

  /** Calls an identity of the same tenant; resolves once the server has the call (it is then ringing). */
  async call(identity: string, opts: CallOptions & { metadata?: Record<string, string | number | boolean>; ringTimeoutSeconds?: number } = {}): Promise<Call> {
    const media = { audio: !!opts.media?.audioTrack, video: !!opts.media?.videoTrack };
    const { callId } = await this.request('call:invite', { to: identity, media, metadata: opts.metadata, ringTimeoutSeconds: opts.ringTimeoutSeconds ?? 30 });
    const call = new Call(this.ctx, { id: callId, direction: 'outgoing', remoteIdentity: identity, media: opts.media, onEnd: () => this.calls.delete(callId) });
    this.calls.set(callId, call);
    for (const [ev, e] of this.earlyCallEvents.get(callId) ?? []) call._onEvent(ev as never, e as never);
    this.earlyCallEvents.delete(callId);
    return call;
  }

  private onIncoming(info: CallInfo): void {
    const call = new Call(this.ctx, { id: info.callId, direction: 'incoming', remoteIdentity: info.from.identity, info, onEnd: () => this.calls.delete(info.callId) });
    this.calls.set(info.callId, call);
    this.emit('incoming-call', call);
  }

  private routeCall(ev: string, e: { callId: string }): void {
    const call = this.calls.get(e.callId);
    if (call) return call._onEvent(ev as never, e as never);
    // events can overtake the invite's ack: keep them briefly
    const list = this.earlyCallEvents.get(e.callId) ?? [];
    list.push([ev, e]);
    this.earlyCallEvents.set(e.callId, list);
    setTimeout(() => this.earlyCallEvents.delete(e.callId), 10_000);
  }

  // ---- phone calls (WebRTC ⇄ SIP gateway) ---------------------------------------------------------

  /** Dials a phone number (E.164) or SIP URI through the gateway (the token needs the `dialOut` grant). */
  async dial(to: string, opts: DialOptions = {}): Promise<PhoneCall> {
    const call = new PhoneCall(this.ctx, { direction: 'outgoing', remote: to, onEnd: (c) => this.phoneCalls.delete(c.id), ...(opts.playAudio === false ? { playAudio: false } : {}) });
    try {
      await call._dial(to, opts);
    } catch (err) {
      call.pc.close();
      throw toCpaasError(err);
    }
    this.phoneCalls.set(call.id, call);
    for (const [ev, e] of this.earlyCallEvents.get(call.id) ?? []) call._onEvent(ev as never, e as never);
    this.earlyCallEvents.delete(call.id);
    return call;
  }

  private routePhone(ev: 'dial:progress' | 'dial:answered' | 'dial:ended', e: { callId: string }): void {
    const call = this.phoneCalls.get(e.callId);
    if (call) return call._onEvent(ev, e as never);
    this.routeCall(ev, e); // buffered until dial() has the id (events can overtake the ack)
  }

  // ---- presence -----------------------------------------------------------------------------------

  setPresence(status: Exclude<PresenceStatus, 'offline'>, note?: string): Promise<PresenceInfo> {
    // `status as never`: the protocol's Static<> of a mapped literal union collapses to never (reported)
    return this.request('presence:update', { status: status as never, ...(note ? { note } : {}) });
  }

  /** Subscribes to presence changes of identities (`presence` events) and returns their current presence. */
  async subscribePresence(identities: string[]): Promise<PresenceInfo[]> {
    return (await this.request('presence:subscribe', { identities })).presence;
  }

  // ---- shutdown -----------------------------------------------------------------------------------

  /** Hangs up calls, leaves rooms and closes the connection. */
  async disconnect(reason = 'client disconnect'): Promise<void> {
    if (this.closing && this.state === 'disconnected') return;
    if (this.socket.connected) {
      await Promise.allSettled([...this.calls.values()].map((c) => c.hangup('local-hangup')));
      await Promise.allSettled([...this.phoneCalls.values()].map((c) => c.hangup()));
      await Promise.allSettled([...this.rooms.values()].map((r) => r.leave()));
    }
    this.closing = true;
    clearTimeout(this.refreshTimer);
    for (const off of this.offNetwork) off();
    this.socket.disconnect();
    this.setState('disconnected');
    this.emit('disconnected', reason);
  }

  /** For tests and diagnostics: drop the signalling connection without leaving (it reconnects and resumes). */
  _dropConnection(): void {
    this.socket.io.engine?.close();
  }
}

/** Connects to signalling and resolves once the session is ready (ICE servers received). */
export async function connect(opts: ConnectOptions): Promise<CpaasClient> {
  return new CpaasClient(opts)._start();
}
