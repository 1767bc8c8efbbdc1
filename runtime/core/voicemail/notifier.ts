/**
 * Sink → signalling: `POST <signallingUrl>/internal/voicemail/events` with the gateway's shared secret in
 * `x-cpaas-gateway-secret` (same pattern as runtime/sbc/gateway/notifier.ts). Signalling emits `voicemail:new`
 * to every socket of the owner identity, on whichever instance holds them. Best effort: the message is stored
 * already, the owner also sees it in `voicemail:list`.
 */
import type { Logger } from '../logging.js';
import type { VoicemailMessage } from '../storage/voicemail.js';

export const VOICEMAIL_SECRET_HEADER = 'x-cpaas-gateway-secret';
export const VOICEMAIL_EVENTS_PATH = '/internal/voicemail/events';

export interface VoicemailEvent {
  type: 'new';
  tenantId: string;
  /** The identity whose sockets get `voicemail:new`. */
  owner: string;
  message: VoicemailMessage;
}

export interface VoicemailNotifier {
  /** Resolves with how many sockets the event reached; rejects when signalling refused it or is unreachable. */
  send(e: VoicemailEvent): Promise<number>;
}

export function httpVoicemailNotifier(o: { url: string; secret: string; log: Logger; timeoutMs?: number }): VoicemailNotifier {
  const endpoint = `${o.url.replace(/\/$/, '')}${VOICEMAIL_EVENTS_PATH}`;
  return {
    async send(e) {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [VOICEMAIL_SECRET_HEADER]: o.secret },
        body: JSON.stringify(e),
        signal: AbortSignal.timeout(o.timeoutMs ?? 3_000),
      });
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        throw new Error(`signalling answered ${res.status} to ${VOICEMAIL_EVENTS_PATH}`);
      }
      return ((await res.json()) as { delivered?: number }).delivered ?? 0;
    },
  };
}
