/**
 * SBC → signalling events of the WebRTC ⇄ SIP gateway: `POST <signallingUrl>/internal/gateway/events` with the
 * shared secret header. Signalling turns them into `dial:*` socket events (to one socket, or to every socket of
 * an identity). Delivery is best effort (a lost `progress` is harmless; a lost `ended` is covered by the SDK's
 * own media checks); failures are logged at warn.
 */
import type { Logger } from '../../core/logging.js';
import type { HangupReason } from '../../core/protocol/events.js';

export const GATEWAY_SECRET_HEADER = 'x-cpaas-gateway-secret';

interface Base { tenantId: string; identity: string; callId: string }
export type GatewayEvent =
  | (Base & { type: 'progress'; socketId: string; status: 'trying' | 'ringing' | 'early-media'; sdp?: string })
  | (Base & { type: 'answered'; socketId: string; sdp: string })
  /** Without socketId: to every socket of the identity (ringing stopped), `exceptSocketId` excluded. */
  | (Base & { type: 'ended'; socketId?: string; exceptSocketId?: string; reason: HangupReason; sipStatus?: number })
  | (Base & { type: 'incoming'; from: string; sdp: string });

export interface GatewayNotifier {
  /** Resolves with how many sockets the event reached (0 when signalling is unreachable). */
  send(e: GatewayEvent): Promise<number>;
}

export function httpNotifier(o: { url: string; secret: string; log: Logger; timeoutMs?: number }): GatewayNotifier {
  const endpoint = `${o.url.replace(/\/$/, '')}/internal/gateway/events`;
  return {
    async send(e) {
      try {
        const res = await fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [GATEWAY_SECRET_HEADER]: o.secret },
          body: JSON.stringify(e),
          signal: AbortSignal.timeout(o.timeoutMs ?? 3_000),
        });
        if (!res.ok) {
          o.log.warn({ status: res.status, type: e.type, callId: e.callId }, 'gateway event refused by signalling');
          return 0;
        }
        const body = (await res.json()) as { delivered?: number };
        return body.delivered ?? 0;
      } catch (err) {
        o.log.warn({ err, type: e.type, callId: e.callId }, 'gateway event not delivered');
        return 0;
      }
    },
  };
}
