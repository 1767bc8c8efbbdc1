import type { Server } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents, ConnectErrorData } from '../../core/protocol/events.js';
import { PROTOCOL_VERSION } from '../../core/protocol/events.js';
import { AppError, errorAck, toAppError } from '../../core/errors.js';
import { isoTime } from '../../core/clock.js';
import type { Services } from '../services.js';
import type { AppSocket, ConnectionContext, LayerContext, SocketData, SocketState } from './context.js';
import { identityChannel, presenceChannel, roomChannel, participantChannel } from './names.js';
import { TokenBucket } from './rate-limit.js';
import { registerRoomHandlers, leaveAllRooms } from './rooms.js';
import { registerChatHandlers } from './chat.js';
import { registerPresenceHandlers } from './presence.js';
import { registerCallHandlers, dropCallsOf } from './calls.js';
import { registerFileHandlers } from './files.js';
import { registerDialHandlers } from './dial.js';
import { registerVoicemailHandlers, voicemailEventSink, VOICEMAIL_EVENTS } from './voicemail.js'; // voicemail (docs/voicemail.md)

export type { SocketData };
export type Io = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** How often a connected socket refreshes its participant and presence records (their TTL is 10 min). */
const HEARTBEAT_MS = 4 * 60_000;

/**
 * The socket.io signalling layer: token-authenticated handshake, per-socket limits (payload size, event
 * rate), typed handlers per domain, and the bridge from REST (room closed) to live sockets.
 */
export function attachSocketLayer(io: Io, services: Services): { stop(): Promise<void> } {
  const log = services.log.child({ component: 'socket' });
  const layer: LayerContext = { io, services, log, leaveTimers: new Map(), ringTimers: new Map(), reconnectGraceMs: services.config.limits.reconnectGraceSeconds * 1000 };
  const { limits } = services.config;
  const connected = services.metrics.gauge('sockets_connected', 'Connected signalling sockets').collect(() => io.of('/').sockets.size);
  void connected;
  const events = services.metrics.counter('socket_events_total', 'Socket events received by event name and outcome');
  const rejected = services.metrics.counter('socket_events_rejected_total', 'Socket events rejected by reason');
  const perEvent = new Map<string, { inc(by?: number): void }>();
  const eventCounter = (event: unknown) => {
    const name = typeof event === 'string' && KNOWN_EVENTS.has(event) ? event : 'unknown';
    let c = perEvent.get(name);
    if (!c) {
      c = events.bind({ event: name });
      perEvent.set(name, c);
    }
    return c;
  };
  // Clean-up work started by disconnects; close() waits for it before storage and Redis go away.
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  // Handshake: a valid access token is required; failures reach the client as connect_error with err.data.code.
  io.use((socket, next) => {
    const token = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
    services.tokens
      .verify(typeof token === 'string' ? token : '')
      .then(async (claims) => {
        const tenant = await services.tenants.get(claims.tenantId);
        if (!tenant || tenant.status !== 'active') throw AppError.forbidden('tenant is disabled');
        socket.data = {
          tenantId: claims.tenantId,
          identity: claims.identity,
          ...(claims.displayName ? { displayName: claims.displayName } : {}),
          grants: claims.grants,
          tokenExpiresAt: claims.expiresAt,
        };
        next();
      })
      .catch((err: unknown) => {
        const e = toAppError(err);
        rejected.inc({ reason: e.code });
        const out = new Error(e.toJSON().message) as Error & { data: ConnectErrorData };
        out.data = { code: e.code, message: e.toJSON().message };
        next(out);
      });
  });

  services.voicemailEvents = voicemailEventSink(io); // voicemail (docs/voicemail.md): sink → owner's sockets
  services.events = {
    async roomClosed(tenantId, roomId) {
      io.to(roomChannel(tenantId, roomId)).emit('room:closed', { roomId });
      const participants = await services.rooms.participants(tenantId, roomId);
      for (const p of participants) {
        io.in(participantChannel(tenantId, roomId, p.id)).socketsLeave([participantChannel(tenantId, roomId, p.id), roomChannel(tenantId, roomId)]);
        await services.rooms.removeParticipant(tenantId, roomId, p.id, 'room-closed');
      }
    },
  };

  io.on('connection', (raw) => {
    const socket = raw as AppSocket;
    const { tenantId, identity } = socket.data;
    const state: SocketState = { rooms: new Map(), calls: new Map(), presenceSubscriptions: new Set() };
    const ctx: ConnectionContext = { ...layer, socket, state, tenantId, identity, log: log.child({ socketId: socket.id, tenantId, identity }) };
    const bucket = new TokenBucket(limits.socketEventsPerSecond, limits.socketEventBurst, () => services.clock.now());
    // Size of the packet being dispatched, read from the transport (cheaper than re-serializing the payload).
    let packetBytes = 0;
    socket.conn.on('packet', (packet: { type: string; data?: unknown }) => {
      if (packet.type !== 'message') return;
      const d = packet.data;
      packetBytes = typeof d === 'string' ? d.length : d instanceof Buffer ? d.length : 0;
    });

    // Limits before any handler: event rate per socket and payload size per event.
    socket.use((packet, next) => {
      const [event, ...args] = packet as [string, ...unknown[]];
      const ack = typeof args[args.length - 1] === 'function' ? (args[args.length - 1] as (r: unknown) => void) : undefined;
      if (!bucket.take()) {
        rejected.inc({ reason: 'RATE_LIMITED' });
        ack?.(errorAck(new AppError('RATE_LIMITED', 'too many events, slow down', { retryable: true })));
        return;
      }
      const size = packetBytes;
      if (size > limits.maxSocketPayloadBytes) {
        rejected.inc({ reason: 'PAYLOAD_TOO_LARGE' });
        ack?.(errorAck(new AppError('PAYLOAD_TOO_LARGE', `event payload is ${size} bytes, the limit is ${limits.maxSocketPayloadBytes}`)));
        return;
      }
      if (typeof event !== 'string' || !KNOWN_EVENTS.has(event)) {
        // Unknown events are dropped; if they carry an ack it gets an error.
        rejected.inc({ reason: 'UNKNOWN_EVENT' });
        ack?.(errorAck(AppError.invalid(`unknown event ${String(event).slice(0, 40)}`, '/event')));
        return;
      }
      eventCounter(event).inc();
      next();
    });

    void socket.join([identityChannel(tenantId, identity)]);
    registerRoomHandlers(ctx);
    registerChatHandlers(ctx);
    registerPresenceHandlers(ctx);
    registerCallHandlers(ctx);
    registerFileHandlers(ctx);
    registerDialHandlers(ctx);
    registerVoicemailHandlers(ctx); // voicemail (docs/voicemail.md)

    const heartbeat = setInterval(() => {
      for (const [roomId, participantId] of state.rooms) {
        services.rooms.updateParticipant(tenantId, roomId, participantId, {}).catch((err: unknown) => ctx.log.warn({ err }, 'participant heartbeat failed'));
      }
      services.presence.connect(tenantId, identity, socket.id).catch((err: unknown) => ctx.log.warn({ err }, 'presence heartbeat failed'));
    }, HEARTBEAT_MS);
    heartbeat.unref();

    socket.on('disconnect', (reason) => {
      clearInterval(heartbeat);
      ctx.log.info({ reason }, 'socket disconnected');
      track(leaveAllRooms(ctx, 'disconnected').catch((err: unknown) => ctx.log.warn({ err }, 'leaving rooms after disconnect failed')));
      track(dropCallsOf(ctx).catch((err: unknown) => ctx.log.warn({ err }, 'ending calls after disconnect failed')));
      track(
        services.presence
          .disconnect(tenantId, identity, socket.id)
          .then((p) => io.to(presenceChannel(tenantId, identity)).emit('presence:changed', p))
          .catch((err: unknown) => ctx.log.warn({ err }, 'presence update after disconnect failed')),
      );
    });

    void (async () => {
      try {
        const presence = await services.presence.connect(tenantId, identity, socket.id);
        io.to(presenceChannel(tenantId, identity)).emit('presence:changed', presence);
        const ice = services.iceServers(identity);
        socket.emit('session:ready', {
          protocolVersion: PROTOCOL_VERSION,
          tenantId,
          identity,
          ...(socket.data.displayName ? { displayName: socket.data.displayName } : {}),
          grants: socket.data.grants,
          tokenExpiresAt: isoTime(socket.data.tokenExpiresAt),
          iceServers: ice.iceServers,
          iceServersExpireAt: isoTime(ice.expiresAt),
          serverTime: isoTime(services.clock.now()),
        });
        ctx.log.info('socket connected');
      } catch (err) {
        ctx.log.error({ err }, 'socket set-up failed');
        socket.disconnect(true);
      }
    })();
  });

  return {
    async stop() {
      for (const t of layer.leaveTimers.values()) clearTimeout(t);
      for (const t of layer.ringTimers.values()) clearTimeout(t);
      layer.leaveTimers.clear();
      layer.ringTimers.clear();
      // Disconnect handlers may fire a little after disconnectSockets(): wait for them and their work.
      for (let i = 0; i < 100 && (io.of('/').sockets.size > 0 || pending.size > 0); i++) {
        await Promise.allSettled([...pending]);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

const KNOWN_EVENTS = new Set<string>([
  'room:join', 'room:leave', 'room:state', 'room:signal',
  'chat:send', 'chat:history', 'chat:typing',
  'presence:update', 'presence:subscribe',
  'call:invite', 'call:accept', 'call:reject', 'call:cancel', 'call:hangup', 'call:hold', 'call:signal', 'call:resume',
  'file:offer', 'file:accept', 'file:decline', 'file:cancel',
  'ice:refresh', 'dial:start', 'dial:control', 'dial:answer',
  ...VOICEMAIL_EVENTS, // voicemail (docs/voicemail.md)
]);

