/**
 * Signalling's side of the WebRTC ⇄ SIP gateway (docs/gateway.md): `DialGateway` as an HTTP client of the SBC's
 * private control API (`sbcControlUrl`), authenticated with the shared secret header. Errors of the SBC come back
 * as the same AppError codes (NOT_FOUND, IDENTITY_UNAVAILABLE, MEDIA_UNAVAILABLE, …); an unreachable SBC is
 * SERVICE_UNAVAILABLE (retryable).
 */
import { AppError, ERROR_CODES, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import type { HangupReason } from '../core/protocol/events.js';
import type { DialGateway } from './services.js';

export const GATEWAY_SECRET_HEADER = 'x-cpaas-gateway-secret';

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
  const base = o.url.replace(/\/$/, '');
  const post = async <T>(path: string, body: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [GATEWAY_SECRET_HEADER]: o.secret },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(o.timeoutMs),
      });
    } catch (err) {
      o.log.warn({ err, path }, 'SBC control API unreachable');
      throw new AppError('SERVICE_UNAVAILABLE', 'the SIP gateway is unreachable', { retryable: true }, { cause: err });
    }
    const text = await res.text();
    const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (res.ok) return json as T;
    const code = typeof json.code === 'string' && json.code in ERROR_CODES ? (json.code as ErrorCode) : 'UPSTREAM_SIP_FAILURE';
    if (res.status === 401) o.log.error({ path }, 'SBC refused the gateway secret (check gateway.secret on both sides)');
    throw new AppError(code === 'NOT_AUTHENTICATED' ? 'SERVICE_UNAVAILABLE' : code, typeof json.message === 'string' ? json.message : `SBC answered ${res.status}`, {
      ...(typeof json.retryable === 'boolean' ? { retryable: json.retryable } : {}),
    });
  };
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
