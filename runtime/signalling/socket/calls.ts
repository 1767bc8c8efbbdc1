import { AppError } from '../../core/errors.js';
import { isoTime } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import { CallEndRequest, CallHoldRequest, CallInviteRequest, CallRef, CallSignalRequest, type HangupReason } from '../../core/protocol/events.js';
import type { CallRecord } from '../../core/storage/calls.js';
import type { ConnectionContext } from './context.js';
import { handle } from './handle.js';
import { callChannel, identityChannel } from './names.js';

const other = (side: 'a' | 'b'): 'a' | 'b' => (side === 'a' ? 'b' : 'a');

/**
 * 1:1 calls between identities of a tenant. The call record in DynamoDB is the source of truth for the
 * state (ringing → active → ended, conditional writes), so either party may be on any instance; relays go
 * through per-call socket.io rooms (`c:<tenant>:<call>:a|b`).
 */
export function registerCallHandlers(ctx: ConnectionContext): void {
  const { socket, services, tenantId, identity, io } = ctx;
  const started = services.metrics.counter('calls_started_total', '1:1 calls started');
  const endedCounter = services.metrics.counter('calls_ended_total', '1:1 calls ended by reason');

  const sideOf = (callId: string): 'a' | 'b' => {
    const side = ctx.state.calls.get(callId);
    if (!side) throw new AppError('CALL_NOT_FOUND', `call ${callId} not found on this connection`);
    return side;
  };

  async function finish(call: CallRecord, reason: HangupReason, by: string, notifyOther: { reasonForOther: HangupReason; onlyIfRinging?: boolean }): Promise<boolean> {
    const ended = await services.calls.end(tenantId, call.id, reason, by, notifyOther.onlyIfRinging ? { onlyIf: 'ringing' } : {});
    if (!ended) return false;
    endedCounter.inc({ reason });
    const t = ctx.ringTimers.get(call.id);
    if (t) clearTimeout(t);
    ctx.ringTimers.delete(call.id);
    const event = { callId: call.id, reason: notifyOther.reasonForOther, by };
    io.to(callChannel(tenantId, call.id, 'a')).to(callChannel(tenantId, call.id, 'b')).except(socket.id).emit('call:ended', event);
    if (call.state === 'ringing') io.to(identityChannel(tenantId, call.to.identity)).except(socket.id).emit('call:ended', event);
    io.in(callChannel(tenantId, call.id, 'a')).socketsLeave(callChannel(tenantId, call.id, 'a'));
    io.in(callChannel(tenantId, call.id, 'b')).socketsLeave(callChannel(tenantId, call.id, 'b'));
    ctx.state.calls.delete(call.id);
    ctx.log.info({ callId: call.id, reason }, 'call ended');
    return true;
  }

  socket.on(
    'call:invite',
    handle(ctx.log, 'call:invite', CallInviteRequest, async (req) => {
      if (!socket.data.grants.call) throw AppError.forbidden('token does not allow calls');
      if (req.to === identity) throw AppError.invalid('cannot call yourself', '/to');
      const [presence] = await services.presence.get(tenantId, [req.to]);
      if (!presence || presence.status === 'offline') throw new AppError('IDENTITY_UNAVAILABLE', `${req.to} is not connected`);
      const call: CallRecord = {
        id: newId('ca', services.clock.now()),
        tenantId,
        kind: 'webrtc',
        state: 'ringing',
        from: { identity, socketId: socket.id, ...(socket.data.displayName ? { displayName: socket.data.displayName } : {}) },
        to: { identity: req.to },
        media: { audio: req.media.audio, video: req.media.video },
        ...(req.metadata ? { metadata: req.metadata } : {}),
        createdAt: isoTime(services.clock.now()),
      };
      await services.calls.create(call);
      ctx.state.calls.set(call.id, 'a');
      await socket.join(callChannel(tenantId, call.id, 'a'));
      io.to(identityChannel(tenantId, req.to)).emit('call:incoming', {
        callId: call.id,
        from: { identity, ...(socket.data.displayName ? { displayName: socket.data.displayName } : {}) },
        to: { identity: req.to },
        media: call.media,
        ...(req.metadata ? { metadata: req.metadata } : {}),
      });
      socket.emit('call:ringing', { callId: call.id });
      started.inc();
      const timer = setTimeout(() => {
        ctx.ringTimers.delete(call.id);
        void finish(call, 'no-answer', 'system', { reasonForOther: 'no-answer', onlyIfRinging: true })
          .then((ended) => ended && socket.emit('call:ended', { callId: call.id, reason: 'no-answer' }))
          .catch((err: unknown) => ctx.log.warn({ err }, 'ring timeout failed'));
      }, req.ringTimeoutSeconds * 1000);
      timer.unref();
      ctx.ringTimers.set(call.id, timer);
      ctx.log.info({ callId: call.id, to: req.to }, 'call started');
      return { callId: call.id };
    }),
  );

  socket.on(
    'call:accept',
    handle(ctx.log, 'call:accept', CallRef, async (req) => {
      const call = await services.calls.get(tenantId, req.callId);
      if (!call || call.to.identity !== identity) throw new AppError('CALL_NOT_FOUND', `call ${req.callId} not found`);
      const accepted = await services.calls.accept(tenantId, req.callId, socket.id);
      ctx.state.calls.set(call.id, 'b');
      await socket.join(callChannel(tenantId, call.id, 'b'));
      // Stop the ring timer wherever it runs: it checks the state before ending the call.
      const t = ctx.ringTimers.get(call.id);
      if (t) clearTimeout(t);
      io.to(callChannel(tenantId, call.id, 'a')).emit('call:accepted', { callId: call.id });
      io.to(identityChannel(tenantId, identity)).except(socket.id).emit('call:ended', { callId: call.id, reason: 'answered-elsewhere' });
      ctx.log.info({ callId: accepted.id }, 'call accepted');
      return {};
    }),
  );

  socket.on(
    'call:reject',
    handle(ctx.log, 'call:reject', CallEndRequest, async (req) => {
      const call = await services.calls.get(tenantId, req.callId);
      if (!call || call.to.identity !== identity) throw new AppError('CALL_NOT_FOUND', `call ${req.callId} not found`);
      if (call.state !== 'ringing') throw new AppError('CALL_STATE_CONFLICT', `call ${req.callId} is not ringing`);
      const reason: HangupReason = req.reason === 'busy' ? 'busy' : 'rejected';
      await finish(call, reason, identity, { reasonForOther: reason });
      return {};
    }),
  );

  socket.on(
    'call:cancel',
    handle(ctx.log, 'call:cancel', CallRef, async (req) => {
      const call = await services.calls.get(tenantId, req.callId);
      if (!call || call.from.identity !== identity || ctx.state.calls.get(req.callId) !== 'a') throw new AppError('CALL_NOT_FOUND', `call ${req.callId} not found`);
      if (call.state !== 'ringing') throw new AppError('CALL_STATE_CONFLICT', `call ${req.callId} is not ringing`);
      await finish(call, 'cancelled', identity, { reasonForOther: 'cancelled' });
      return {};
    }),
  );

  socket.on(
    'call:hangup',
    handle(ctx.log, 'call:hangup', CallEndRequest, async (req) => {
      sideOf(req.callId);
      const call = await services.calls.get(tenantId, req.callId);
      if (!call || call.state === 'ended') throw new AppError('CALL_NOT_FOUND', `call ${req.callId} has ended`);
      const reason = req.reason ?? 'local-hangup';
      await finish(call, reason, identity, { reasonForOther: reason === 'local-hangup' ? 'remote-hangup' : reason });
      return {};
    }),
  );

  socket.on(
    'call:hold',
    handle(ctx.log, 'call:hold', CallHoldRequest, async (req) => {
      const side = sideOf(req.callId);
      await services.calls.setHold(tenantId, req.callId, req.hold);
      io.to(callChannel(tenantId, req.callId, other(side))).emit('call:held', { callId: req.callId, hold: req.hold, by: identity });
      return {};
    }),
  );

  socket.on(
    'call:resume',
    handle(ctx.log, 'call:resume', CallRef, async (req) => {
      const call = await services.calls.get(tenantId, req.callId);
      if (!call || call.state === 'ended') throw new AppError('CALL_NOT_FOUND', `call ${req.callId} has ended`);
      const side: 'a' | 'b' | undefined = call.from.identity === identity ? 'a' : call.to.identity === identity && call.state === 'active' ? 'b' : undefined;
      if (!side) throw new AppError('CALL_NOT_FOUND', `call ${req.callId} not found`);
      const graceKey = `call/${tenantId}/${call.id}/${side}`;
      const t = ctx.leaveTimers.get(graceKey);
      if (t) clearTimeout(t);
      ctx.leaveTimers.delete(graceKey);
      const previous = side === 'a' ? call.from.socketId : call.to.socketId;
      await services.calls.rebind(tenantId, call.id, side === 'a' ? 'from' : 'to', socket.id);
      if (previous && previous !== socket.id) io.in(previous).socketsLeave(callChannel(tenantId, call.id, side));
      ctx.state.calls.set(call.id, side);
      await socket.join(callChannel(tenantId, call.id, side));
      ctx.log.info({ callId: call.id, side }, 'call resumed');
      return { state: call.state === 'active' ? ('active' as const) : ('ringing' as const), held: Boolean(call.held) };
    }),
  );

  socket.on(
    'call:signal',
    handle(ctx.log, 'call:signal', CallSignalRequest, async (req) => {
      const side = sideOf(req.callId);
      io.to(callChannel(tenantId, req.callId, other(side))).emit('call:signal', { callId: req.callId, signal: req.signal });
      return {};
    }),
  );
}

/**
 * A disconnected party: its calls are kept for the reconnect grace period (media may still flow peer to
 * peer); a client that comes back sends `call:resume`. Calls not resumed in time end with `network`.
 */
export async function dropCallsOf(ctx: ConnectionContext): Promise<void> {
  const { tenantId, identity, socket } = ctx;
  for (const [callId, side] of [...ctx.state.calls.entries()]) {
    ctx.state.calls.delete(callId);
    const key = `call/${tenantId}/${callId}/${side}`;
    const timer = setTimeout(() => {
      ctx.leaveTimers.delete(key);
      void endIfNotResumed(ctx, callId, side, socket.id, identity).catch((err: unknown) => ctx.log.warn({ err, callId }, 'ending an abandoned call failed'));
    }, ctx.reconnectGraceMs);
    timer.unref();
    ctx.leaveTimers.set(key, timer);
  }
}

async function endIfNotResumed(ctx: ConnectionContext, id: string, side: 'a' | 'b', socketId: string, identity: string): Promise<void> {
  const { tenantId, services, io } = ctx;
  const call = await services.calls.get(tenantId, id);
  if (!call || call.state === 'ended') return;
  const holder = side === 'a' ? call.from.socketId : call.to.socketId;
  if (holder !== socketId) return; // resumed on another connection
  const reason: HangupReason = call.state === 'ringing' ? 'cancelled' : 'network';
  const ended = await services.calls.end(tenantId, id, reason, identity);
  if (!ended) return;
  const t = ctx.ringTimers.get(id);
  if (t) clearTimeout(t);
  ctx.ringTimers.delete(id);
  io.to(callChannel(tenantId, id, other(side))).emit('call:ended', { callId: id, reason, by: identity });
  if (call.state === 'ringing') io.to(identityChannel(tenantId, call.to.identity)).emit('call:ended', { callId: id, reason, by: identity });
  ctx.log.info({ callId: id, reason }, 'call ended: party did not come back');
}
