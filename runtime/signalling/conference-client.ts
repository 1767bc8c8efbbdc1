/**
 * Signalling's client of the SBC's conference control routes (runtime/sbc/voice/conference/control.ts,
 * docs/conferences.md): same SBC URL and shared secret header as the gateway client. SBC errors come back as the
 * same AppError codes; an unreachable SBC is SERVICE_UNAVAILABLE (retryable).
 */
import type { Logger } from '../core/logging.js';
import type { Conference, ConferenceDialRequest, ConferenceDialResult, ConferenceParticipant, ConferenceParticipantUpdate } from '../core/protocol/conference.js';
import { createSbcControl } from './sbc-control.js';

export interface ConferenceControl {
  list(tenantId: string): Promise<{ items: Conference[] }>;
  get(tenantId: string, name: string): Promise<Conference>;
  update(tenantId: string, name: string, participantId: string, change: ConferenceParticipantUpdate): Promise<ConferenceParticipant>;
  kick(tenantId: string, name: string, participantId: string): Promise<void>;
  end(tenantId: string, name: string): Promise<void>;
  dial(tenantId: string, name: string, req: ConferenceDialRequest): Promise<ConferenceDialResult>;
}

export function createConferenceClient(o: { url: string; secret: string; timeoutMs: number; log: Logger }): ConferenceControl {
  const sbc = createSbcControl(o);
  const call = <T>(method: 'GET' | 'POST' | 'DELETE', path: string, tenantId: string, body?: unknown): Promise<T> =>
    sbc.request<T>(method, `${path}?tenantId=${encodeURIComponent(tenantId)}`, body);
  const c = (name: string) => `/v1/conferences/${encodeURIComponent(name)}`;
  return {
    list: (t) => call('GET', '/v1/conferences', t),
    get: (t, name) => call('GET', c(name), t),
    update: (t, name, pid, change) => call('POST', `${c(name)}/participants/${encodeURIComponent(pid)}`, t, change),
    kick: async (t, name, pid) => void (await call('DELETE', `${c(name)}/participants/${encodeURIComponent(pid)}`, t)),
    end: async (t, name) => void (await call('DELETE', c(name), t)),
    dial: (t, name, req) => call('POST', `${c(name)}/participants`, t, req),
  };
}
