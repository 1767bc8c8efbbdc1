import { AppError } from '../../core/errors.js';
import { FileOfferRequest, FileReplyRequest } from '../../core/protocol/events.js';
import type { ConnectionContext } from './context.js';
import { handle } from './handle.js';
import { callChannel, participantChannel } from './names.js';
import { requireMembership } from './rooms.js';

/**
 * File transfer control (offer/accept/decline/cancel) relayed to one peer: a room participant
 * (`roomId` + `to`) or the other party of a 1:1 call (`callId`). The bytes go over a DataChannel.
 */
export function registerFileHandlers(ctx: ConnectionContext): void {
  const { socket, tenantId, identity, io } = ctx;

  const target = (req: { roomId?: string; callId?: string; to?: string }): { channel: string; from: string } => {
    if (req.roomId) {
      const from = requireMembership(ctx, req.roomId);
      if (!req.to) throw AppError.invalid('`to` (participant id) is required with roomId', '/to');
      return { channel: participantChannel(tenantId, req.roomId, req.to), from };
    }
    if (req.callId) {
      const side = ctx.state.calls.get(req.callId);
      if (!side) throw new AppError('CALL_NOT_FOUND', `call ${req.callId} not found on this connection`);
      return { channel: callChannel(tenantId, req.callId, side === 'a' ? 'b' : 'a'), from: identity };
    }
    throw AppError.invalid('roomId or callId is required', '/roomId');
  };

  socket.on(
    'file:offer',
    handle(ctx.log, 'file:offer', FileOfferRequest, async (req) => {
      const { channel, from } = target(req);
      io.to(channel).emit('file:offer', { ...req, from, fromIdentity: identity });
      return {};
    }),
  );
  for (const [event, out] of [
    ['file:accept', 'file:accepted'],
    ['file:decline', 'file:declined'],
    ['file:cancel', 'file:cancelled'],
  ] as const) {
    socket.on(
      event,
      handle(ctx.log, event, FileReplyRequest, async (req) => {
        const { channel, from } = target(req);
        io.to(channel).emit(out, { ...req, from });
        return {};
      }),
    );
  }
}
