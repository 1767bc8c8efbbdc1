import { AppError } from '../../core/errors.js';
import { mayJoinRoom } from '../../core/auth/tokens.js'; // media-services
import { DialAnswerRequest, DialControlRequest, DialRequest } from '../../core/protocol/events.js';
import type { ConnectionContext } from './context.js';
import { handle } from './handle.js';

/**
 * WebRTC ⇄ SIP gateway requests. They go to the SBC's private control API through `services.gateway`
 * (absent when no SBC is configured: the request fails with SERVICE_UNAVAILABLE).
 */
export function registerDialHandlers(ctx: ConnectionContext): void {
  const { socket, services, tenantId, identity } = ctx;

  const gateway = () => {
    if (!services.gateway) throw new AppError('SERVICE_UNAVAILABLE', 'dial-out is not configured on this platform (no SBC)');
    return services.gateway;
  };

  socket.on(
    'dial:start',
    handle(ctx.log, 'dial:start', DialRequest, async (req) => {
      if (!socket.data.grants.dialOut) throw AppError.forbidden('token does not allow dialling out');
      if (req.roomId && !mayJoinRoom(socket.data.grants, req.roomId)) throw AppError.forbidden(`token does not grant room ${req.roomId}`); // media-services
      return gateway().dial({ tenantId, identity, socketId: socket.id, to: req.to, sdp: req.sdp, ...(req.callerId ? { callerId: req.callerId } : {}), ...(req.roomId ? { roomId: req.roomId } : {}) });
    }),
  );
  socket.on(
    'dial:control',
    handle(ctx.log, 'dial:control', DialControlRequest, async (req) => {
      if (req.action === 'record' && !socket.data.grants.record) throw AppError.forbidden('token does not allow recording'); // media-services
      await gateway().control({ tenantId, identity, ...req });
      return {};
    }),
  );
  socket.on(
    'dial:answer',
    handle(ctx.log, 'dial:answer', DialAnswerRequest, async (req) => {
      await gateway().answer({ tenantId, identity, socketId: socket.id, callId: req.callId, sdp: req.sdp });
      return {};
    }),
  );
}
