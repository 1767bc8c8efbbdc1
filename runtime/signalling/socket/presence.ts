import { Type } from 'typebox';
import { AppError } from '../../core/errors.js';
import { isoTime } from '../../core/clock.js';
import { PresenceSubscribeRequest, PresenceUpdateRequest } from '../../core/protocol/events.js';
import type { ConnectionContext } from './context.js';
import { handle } from './handle.js';
import { presenceChannel } from './names.js';

const MAX_SUBSCRIPTIONS = 500;

export function registerPresenceHandlers(ctx: ConnectionContext): void {
  const { socket, services, tenantId, identity, io } = ctx;

  socket.on(
    'presence:update',
    handle(ctx.log, 'presence:update', PresenceUpdateRequest, async (req) => {
      const info = await services.presence.set(tenantId, identity, req.status, req.note);
      io.to(presenceChannel(tenantId, identity)).emit('presence:changed', info);
      return info;
    }),
  );

  // Subscribing to identities of the same tenant: current status now, `presence:changed` later.
  socket.on(
    'presence:subscribe',
    handle(ctx.log, 'presence:subscribe', PresenceSubscribeRequest, async (req) => {
      if (!socket.data.grants.presence) throw AppError.forbidden('token does not grant presence');
      const ids = [...new Set(req.identities)];
      if (ctx.state.presenceSubscriptions.size + ids.length > MAX_SUBSCRIPTIONS) throw AppError.invalid(`at most ${MAX_SUBSCRIPTIONS} presence subscriptions per connection`, '/identities');
      for (const id of ids) ctx.state.presenceSubscriptions.add(id);
      await socket.join(ids.map((id) => presenceChannel(tenantId, id)));
      return { presence: await services.presence.get(tenantId, ids) };
    }),
  );

  // Fresh TURN credentials before the old ones expire.
  socket.on(
    'ice:refresh',
    handle(ctx.log, 'ice:refresh', Type.Object({}, { additionalProperties: false }), async () => {
      const ice = services.iceServers(identity);
      return { iceServers: ice.iceServers, iceServersExpireAt: isoTime(ice.expiresAt) };
    }),
  );
}
