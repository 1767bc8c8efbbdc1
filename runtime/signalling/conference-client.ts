/**
 * Signalling's client of the SBC's conference control routes (runtime/sbc/voice/conference/control.ts,
 * docs/conferences.md): same SBC URL and shared secret header as the gateway client. SBC errors come back as the
 * same AppError codes; an unreachable SBC is SERVICE_UNAVAILABLE (retryable).
 */
import { AppError, ERROR_CODES, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import type { Conference, ConferenceDialRequest, ConferenceDialResult, ConferenceParticipant, ConferenceParticipantUpdate } from '../core/protocol/conference.js';
import { GATEWAY_SECRET_HEADER } from './gateway-client.js';

export interface ConferenceControl {
  list(tenantId: string): Promise<{ items: Conference[] }>;
  get(tenantId: string, name: string): Promise<Conference>;
  update(tenantId: string, name: string, participantId: string, change: ConferenceParticipantUpdate): Promise<ConferenceParticipant>;
  kick(tenantId: string, name: string, participantId: string): Promise<void>;
  end(tenantId: string, name: string): Promise<void>;
  dial(tenantId: string, name: string, req: ConferenceDialRequest): Promise<ConferenceDialResult>;
}

export function createConferenceClient(o: { url: string; secret: string; timeoutMs: number; log: Logger }): ConferenceControl {
  const base = o.url.replace(/\/$/, '');
  const call = async <T>(method: 'GET' | 'POST' | 'DELETE', path: string, tenantId: string, body?: unknown): Promise<T> => {
    let res: Response;
    const url = `${base}${path}?tenantId=${encodeURIComponent(tenantId)}`;
    try {
      res = await fetch(url, {
        method,
        headers: { [GATEWAY_SECRET_HEADER]: o.secret, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(o.timeoutMs),
      });
    } catch (err) {
      o.log.warn({ err, path }, 'SBC control API unreachable');
      throw new AppError('SERVICE_UNAVAILABLE', 'the SBC is unreachable', { retryable: true }, { cause: err });
    }
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      json = {};
    }
    if (res.ok) return json as T;
    const code = typeof json.code === 'string' && json.code in ERROR_CODES ? (json.code as ErrorCode) : 'SERVICE_UNAVAILABLE';
    if (res.status === 401) o.log.error({ path }, 'SBC refused the control secret (check gateway.secret on both sides)');
    throw new AppError(code === 'NOT_AUTHENTICATED' ? 'SERVICE_UNAVAILABLE' : code, typeof json.message === 'string' ? json.message : `SBC answered ${res.status}`, {
      ...(typeof json.retryable === 'boolean' ? { retryable: json.retryable } : {}),
      ...(typeof json.field === 'string' ? { field: json.field } : {}),
    });
  };
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
