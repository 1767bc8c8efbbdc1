/**
 * Signalling's side of the WebRTC ⇄ SIP gateway (docs/gateway.md): `DialGateway` as an HTTP client of the SBC's
 * private control API (`sbcControlUrl`), authenticated with the shared secret header. Errors of the SBC come back
 * as the same AppError codes (NOT_FOUND, IDENTITY_UNAVAILABLE, MEDIA_UNAVAILABLE, …); an unreachable SBC is
 * SERVICE_UNAVAILABLE (retryable).
 */
import type { HangupReason } from '../core/protocol/events.js';
import type { Logger } from '../core/logging.js';
import type { DialGateway } from './services.js';
import { createSbcControl } from './sbc-control.js';

export { GATEWAY_SECRET_HEADER } from './sbc-control.js';

/** Events the SBC pushes to `POST /internal/gateway/events` (mirrors runtime/sbc/gateway/notifier.ts). */
interface Base { tenantId: string; identity: string; callId: string }
export type GatewayEvent =
  | (Base & { type: 'progress'; socketId: string; status: 'trying' | 'ringing' | 'early-media'; sdp?: string })
  | (Base & { type: 'answered'; socketId: string; sdp: string })
  | (Base & { type: 'ended'; socketId?: string; exceptSocketId?: string; reason: HangupReason; sipStatus?: number })
  | (Base & { type: 'incoming'; from: string; sdp: string });

/** Delivers one event to the right sockets (any instance); resolves with how many sockets it reached. */
export type GatewayEventSink = (e: GatewayEvent) => Promise<number>;

export function createGatewayClient(o: { url: string; secret: string; timeoutMs: number; log: Logger }): DialGateway {
  const sbc = createSbcControl({ ...o, what: 'the SIP gateway', fallbackCode: 'UPSTREAM_SIP_FAILURE', passthrough: ['retryable'] });
  const post = <T>(path: string, body: unknown): Promise<T> => sbc.request<T>('POST', path, body);
  const id = (callId: string) => encodeURIComponent(callId);
  return {
    dial: (req) => post<{ callId: string }>('/v1/gateway/calls', req),
    async control(req) {
      const { callId, ...rest } = req;
      await post(`/v1/gateway/calls/${id(callId)}/control`, rest);
    },
    async answer(req) {
      const { callId, ...rest } = req;
      await post(`/v1/gateway/calls/${id(callId)}/answer`, rest);
    },
  };
}
