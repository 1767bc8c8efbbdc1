import { Type } from 'typebox';
import { AppError } from '../core/errors.js';
import { Id, Identity } from '../core/protocol/common.js';
import type { Http } from '../signalling/http/types.js';
import type { Services } from '../signalling/services.js';

export const LOCAL_TENANT_ID = 'local';

/**
 * `POST /local/token`: a try-it-out helper of `npm start` only (never registered on AWS). Gives the demo
 * pages an access token of the `local` tenant without an API key, and creates a room by name if asked.
 * Served only to loopback clients.
 */
export function localRoutes(app: Http, services: Services): void {
  app.post(
    '/local/token',
    {
      config: { auth: 'public' },
      schema: {
        body: Type.Object(
          {
            identity: Identity,
            displayName: Type.Optional(Type.String({ maxLength: 100 })),
            roomId: Type.Optional(Id),
            roomName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(req.ip)) throw AppError.forbidden('the local token helper only answers loopback clients');
      let roomId = req.body.roomId;
      if (!roomId && req.body.roomName) {
        const rooms = await services.rooms.list(LOCAL_TENANT_ID, 100);
        roomId = rooms.items.find((r) => r.name === req.body.roomName && r.status === 'open')?.id ?? (await services.rooms.create(LOCAL_TENANT_ID, { name: req.body.roomName, type: 'group' })).id;
      }
      const out = await services.tokens.mint({
        tenantId: LOCAL_TENANT_ID,
        identity: req.body.identity,
        ...(req.body.displayName ? { displayName: req.body.displayName } : {}),
        grants: { rooms: ['*'], publish: true, call: true, dialOut: true, presence: true },
        ttlSeconds: 4 * 3600,
      });
      return { token: out.token, identity: req.body.identity, tenantId: LOCAL_TENANT_ID, ...(roomId ? { roomId } : {}), expiresAt: new Date(out.expiresAt).toISOString() };
    },
  );
}
