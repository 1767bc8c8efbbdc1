import { AppError } from '../../core/errors.js';
import { isoTime } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import { mayJoinRoom } from '../../core/auth/tokens.js';
import { JoinRoomRequest, RoomRef, RoomSignalRequest, UpdateStateRequest, type ParticipantLeftReason } from '../../core/protocol/events.js';
import type { Participant } from '../../core/protocol/http.js';
import type { ConnectionContext, LayerContext } from './context.js';
import { handle } from './handle.js';
import { participantChannel, roomChannel } from './names.js';

const timerKey = (tid: string, roomId: string, pid: string) => `${tid}/${roomId}/${pid}`;

/** The participant id this socket holds in a room, or NOT_IN_ROOM. */
export function requireMembership(ctx: ConnectionContext, roomId: string): string {
  const pid = ctx.state.rooms.get(roomId);
  if (!pid || !ctx.socket.rooms.has(roomChannel(ctx.tenantId, roomId))) {
    ctx.state.rooms.delete(roomId);
    throw new AppError('NOT_IN_ROOM', `join room ${roomId} first`);
  }
  return pid;
}

export function registerRoomHandlers(ctx: ConnectionContext): void {
  const { socket, services, tenantId, identity, io } = ctx;
  const joined = services.metrics.counter('room_joins_total', 'Room joins (fresh or resumed)');
  const relayed = services.metrics.counter('signals_relayed_total', 'WebRTC signalling messages relayed').bind({ kind: 'room' });

  socket.on(
    'room:join',
    handle(ctx.log, 'room:join', JoinRoomRequest, async (req) => {
      if (!mayJoinRoom(socket.data.grants, req.roomId)) throw AppError.forbidden(`token does not grant room ${req.roomId}`);
      if (ctx.state.rooms.has(req.roomId) && socket.rooms.has(roomChannel(tenantId, req.roomId))) throw new AppError('CONFLICT', `already joined room ${req.roomId}`);
      const room = await services.rooms.requireJoinable(tenantId, req.roomId);

      let participant: Participant | undefined;
      let resumed = false;
      if (req.resumeParticipantId) {
        const prior = await services.rooms.participant(tenantId, room.id, req.resumeParticipantId);
        if (prior && prior.identity === identity) {
          const key = timerKey(tenantId, room.id, prior.id);
          const t = ctx.leaveTimers.get(key);
          if (t) clearTimeout(t);
          ctx.leaveTimers.delete(key);
          const oldSocket = prior.socketId;
          participant = await services.rooms.updateParticipant(tenantId, room.id, prior.id, {
            socketId: socket.id,
            state: { ...prior.state, ...(req.state ?? {}), connection: 'connected' },
          });
          if (participant) {
            resumed = true;
            // A still-connected old socket (e.g. a half-open connection) loses the participant.
            if (oldSocket !== socket.id) io.in(oldSocket).socketsLeave([roomChannel(tenantId, room.id), participantChannel(tenantId, room.id, prior.id)]);
          }
        }
      }
      if (!participant) {
        const state = { audio: false, video: false, screen: false, ...(req.state ?? {}), connection: 'connected' as const };
        participant = {
          id: newId('pa', services.clock.now()),
          identity,
          ...((req.displayName ?? socket.data.displayName) ? { displayName: req.displayName ?? socket.data.displayName } : {}),
          joinedAt: isoTime(services.clock.now()),
          state,
          ...(req.metadata ? { metadata: req.metadata } : {}),
        };
        await services.rooms.addParticipant(tenantId, room, participant, socket.id, false);
      }

      ctx.state.rooms.set(room.id, participant.id);
      await socket.join([roomChannel(tenantId, room.id), participantChannel(tenantId, room.id, participant.id)]);
      socket.to(roomChannel(tenantId, room.id)).emit(resumed ? 'room:participant-updated' : 'room:participant-joined', { roomId: room.id, participant });
      joined.inc({ resumed: String(resumed) });
      ctx.log.info({ roomId: room.id, participantId: participant.id, resumed }, 'joined room');

      const [participants, recentMessages] = await Promise.all([services.rooms.participants(tenantId, room.id), services.rooms.messages(tenantId, room.id, 50)]);
      const ice = services.iceServers(identity);
      return { room, participantId: participant.id, resumed, participants, iceServers: ice.iceServers, iceServersExpireAt: isoTime(ice.expiresAt), recentMessages };
    }),
  );

  socket.on(
    'room:leave',
    handle(ctx.log, 'room:leave', RoomRef, async (req) => {
      const pid = requireMembership(ctx, req.roomId);
      await leaveRoom(ctx, req.roomId, pid, 'left');
      return {};
    }),
  );

  socket.on(
    'room:state',
    handle(ctx.log, 'room:state', UpdateStateRequest, async (req) => {
      const pid = requireMembership(ctx, req.roomId);
      if (!socket.data.grants.publish && (req.state.audio || req.state.video || req.state.screen)) throw AppError.forbidden('token does not allow publishing');
      const updated = await services.rooms.updateParticipant(tenantId, req.roomId, pid, { state: { ...req.state, connection: 'connected' } });
      if (!updated) throw new AppError('NOT_IN_ROOM', `participant ${pid} is no longer in room ${req.roomId}`);
      socket.to(roomChannel(tenantId, req.roomId)).emit('room:participant-updated', { roomId: req.roomId, participant: updated });
      return updated;
    }),
  );

  // Targeted relay of offers/answers/candidates to one participant of the same room (same tenant).
  socket.on(
    'room:signal',
    handle(ctx.log, 'room:signal', RoomSignalRequest, async (req) => {
      const from = requireMembership(ctx, req.roomId);
      if (req.to === from) throw AppError.invalid('cannot signal yourself', '/to');
      io.to(participantChannel(tenantId, req.roomId, req.to)).emit('room:signal', { roomId: req.roomId, from, fromIdentity: identity, signal: req.signal });
      relayed.inc();
      return {};
    }),
  );
}

async function leaveRoom(ctx: ConnectionContext, roomId: string, participantId: string, reason: ParticipantLeftReason): Promise<void> {
  const { socket, tenantId, services, identity } = ctx;
  ctx.state.rooms.delete(roomId);
  await socket.leave(roomChannel(tenantId, roomId));
  await socket.leave(participantChannel(tenantId, roomId, participantId));
  await services.rooms.removeParticipant(tenantId, roomId, participantId, reason);
  ctx.io.to(roomChannel(tenantId, roomId)).emit('room:participant-left', { roomId, participantId, identity, reason });
  ctx.log.info({ roomId, participantId, reason }, 'left room');
}

/**
 * After a disconnect: each participant of this socket becomes `reconnecting` for a grace period; if the
 * client has not resumed it (from any instance) by then, it is removed and announced as left.
 */
export async function leaveAllRooms(ctx: ConnectionContext, reason: ParticipantLeftReason): Promise<void> {
  const { tenantId, services, identity, socket } = ctx;
  const rooms = [...ctx.state.rooms.entries()];
  ctx.state.rooms.clear();
  for (const [roomId, pid] of rooms) {
    const current = await services.rooms.participant(tenantId, roomId, pid);
    if (!current || current.socketId !== socket.id) continue; // already gone or resumed elsewhere
    const reconnecting = await services.rooms.updateParticipant(tenantId, roomId, pid, { state: { ...current.state, connection: 'reconnecting' } });
    if (reconnecting) ctx.io.to(roomChannel(tenantId, roomId)).emit('room:participant-updated', { roomId, participant: reconnecting });
    scheduleLeave(ctx, tenantId, roomId, pid, identity, socket.id, reason);
  }
}

function scheduleLeave(ctx: LayerContext, tenantId: string, roomId: string, pid: string, identity: string, socketId: string, reason: ParticipantLeftReason): void {
  const key = timerKey(tenantId, roomId, pid);
  const prev = ctx.leaveTimers.get(key);
  if (prev) clearTimeout(prev);
  const timer = setTimeout(() => {
    ctx.leaveTimers.delete(key);
    void (async () => {
      const current = await ctx.services.rooms.participant(tenantId, roomId, pid);
      if (!current || current.socketId !== socketId) return; // resumed by a new socket
      await ctx.services.rooms.removeParticipant(tenantId, roomId, pid, reason);
      ctx.io.to(roomChannel(tenantId, roomId)).emit('room:participant-left', { roomId, participantId: pid, identity, reason });
      ctx.log.info({ tenantId, roomId, participantId: pid, reason }, 'participant left after grace period');
    })().catch((err: unknown) => ctx.log.warn({ err, roomId, participantId: pid }, 'removing a disconnected participant failed'));
  }, ctx.reconnectGraceMs);
  timer.unref();
  ctx.leaveTimers.set(key, timer);
}
