import { AppError } from '../../core/errors.js';
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
      return gateway().dial({ tenantId, identity, socketId: socket.id, to: req.to, sdp: req.sdp, ...(req.callerId ? { callerId: req.callerId } : {}) });
    }),
  );
  socket.on(
    'dial:control',
    handle(ctx.log, 'dial:control', DialControlRequest, async (req) => {
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
