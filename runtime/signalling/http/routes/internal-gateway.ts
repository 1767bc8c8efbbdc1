/**
 * `POST /internal/gateway/events`: the SBC's WebRTC ⇄ SIP gateway reports call progress here (docs/gateway.md), and
 * signalling emits the matching `dial:*` event to one socket (`io.to(socketId)`) or to every socket of an identity
 * (`identityChannel`), on whichever instance holds them (Redis adapter). Not for browsers: it is registered only
 * when `gateway` is configured, is hidden from the OpenAPI document, and requires the shared secret in
 * `x-cpaas-gateway-secret` (constant-time compare). Put it behind the private listener/ALB rule on AWS.
 */
import { Type, type Static } from 'typebox';
import { AppError } from '../../../core/errors.js';
import { safeEqual } from '../../../core/auth/api-keys.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import type { Io } from '../../socket/index.js';
import { identityChannel } from '../../socket/names.js';
import { GATEWAY_SECRET_HEADER, type GatewayEvent, type GatewayEventSink } from '../../gateway-client.js';
import { HANGUP_REASONS } from '../../../core/protocol/events.js';

const Str = (max: number) => Type.String({ minLength: 1, maxLength: max });
const Base = { tenantId: Str(64), identity: Str(128), callId: Str(64) };
const EventBody = Type.Union([
  Type.Object({ ...Base, type: Type.Literal('progress'), socketId: Str(64), status: Type.Union([Type.Literal('trying'), Type.Literal('ringing'), Type.Literal('early-media')]), sdp: Type.Optional(Str(60_000)) }),
  Type.Object({ ...Base, type: Type.Literal('answered'), socketId: Str(64), sdp: Str(60_000) }),
  Type.Object({
    ...Base, type: Type.Literal('ended'), socketId: Type.Optional(Str(64)), exceptSocketId: Type.Optional(Str(64)),
    reason: Type.Union(HANGUP_REASONS.map((r) => Type.Literal(r))), sipStatus: Type.Optional(Type.Integer({ minimum: 100, maximum: 699 })),
  }),
  Type.Object({ ...Base, type: Type.Literal('incoming'), from: Str(512), sdp: Str(60_000) }),
]);

/** Emits gateway events through socket.io; a socket-addressed event only reaches a socket of that tenant + identity. */
export function gatewayEventSink(io: Io): GatewayEventSink {
  const ownSocket = async (e: { tenantId: string; identity: string }, socketId: string) => {
    const found = await io.in(socketId).fetchSockets();
    return found.some((s) => s.id === socketId && s.data.tenantId === e.tenantId && s.data.identity === e.identity);
  };
  return async (e: GatewayEvent) => {
    const channel = identityChannel(e.tenantId, e.identity);
    switch (e.type) {
      case 'progress':
        if (!(await ownSocket(e, e.socketId))) return 0;
        io.to(e.socketId).emit('dial:progress', { callId: e.callId, status: e.status, ...(e.sdp ? { sdp: e.sdp } : {}) });
        return 1;
      case 'answered':
        if (!(await ownSocket(e, e.socketId))) return 0;
        io.to(e.socketId).emit('dial:answered', { callId: e.callId, sdp: e.sdp });
        return 1;
      case 'ended': {
        const payload = { callId: e.callId, reason: e.reason, ...(e.sipStatus !== undefined ? { sipStatus: e.sipStatus } : {}) };
        if (e.socketId) {
          if (!(await ownSocket(e, e.socketId))) return 0;
          io.to(e.socketId).emit('dial:ended', payload);
          return 1;
        }
        (e.exceptSocketId ? io.to(channel).except(e.exceptSocketId) : io.to(channel)).emit('dial:ended', payload);
        return 1;
      }
      case 'incoming': {
        const sockets = await io.in(channel).fetchSockets();
        if (sockets.length === 0) return 0;
        io.to(channel).emit('dial:incoming', { callId: e.callId, from: e.from, sdp: e.sdp });
        return sockets.length;
      }
    }
  };
}

export async function internalGatewayRoutes(app: Http, services: Services): Promise<void> {
  const secret = services.secrets.gatewaySecret ?? services.config.gateway?.secret.value;
  if (!services.config.gateway || !secret) return;
  app.post(
    '/internal/gateway/events',
    { config: { auth: 'public' }, schema: { hide: true, body: EventBody } as Record<string, unknown> },
    async (req) => {
      if (!safeEqual(String(req.headers[GATEWAY_SECRET_HEADER] ?? ''), secret)) throw AppError.unauthenticated('bad or missing gateway secret');
      const sink = services.gatewayEvents;
      if (!sink) throw new AppError('SERVICE_UNAVAILABLE', 'socket layer not ready');
      return { delivered: await sink(req.body as Static<typeof EventBody>) };
    },
  );
}
