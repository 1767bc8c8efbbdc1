/**
 * Signalling's client of the SBC's programmable-voice control API (runtime/sbc/voice/control.ts): originate,
 * inspect, list and modify live programmable calls. Same private URL and shared secret header as the gateway
 * client (gateway-client.ts). SBC errors come back as the same AppError codes (CALL_NOT_FOUND, INVALID_PAYLOAD,
 * …); an unreachable SBC is SERVICE_UNAVAILABLE (retryable).
 */
import { AppError, ERROR_CODES, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import type { CallModify, LiveCallView, OriginateRequest } from '../sbc/voice/contracts.js';
import { GATEWAY_SECRET_HEADER } from './gateway-client.js';

/** The voice engine as signalling reaches it (the async mirror of `VoiceEngine`). */
export interface VoiceControl {
  originate(r: OriginateRequest): Promise<LiveCallView>;
  /** Undefined when the call is not live (or belongs to another tenant). */
  get(tenantId: string, callId: string): Promise<LiveCallView | undefined>;
  list(tenantId: string): Promise<LiveCallView[]>;
  modify(tenantId: string, callId: string, m: CallModify): Promise<LiveCallView>;
}

export function createVoiceClient(o: { url: string; secret: string; timeoutMs: number; log: Logger }): VoiceControl {
  const base = o.url.replace(/\/$/, '');
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: { [GATEWAY_SECRET_HEADER]: o.secret, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(o.timeoutMs),
      });
    } catch (err) {
      o.log.warn({ err, path }, 'SBC voice control API unreachable');
      throw new AppError('SERVICE_UNAVAILABLE', 'the voice service (SBC) is unreachable', { retryable: true }, { cause: err });
    }
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      json = {};
    }
    if (res.ok) return json as T;
    if (res.status === 401) o.log.error({ path }, 'SBC refused the control secret (check gateway.secret on both sides)');
    // A route the SBC does not know: an SBC without programmable voice.
    if (json.code === 'ROUTE_NOT_FOUND') throw new AppError('SERVICE_UNAVAILABLE', 'programmable voice is not enabled on the SBC', { retryable: false });
    const code = typeof json.code === 'string' && json.code in ERROR_CODES ? (json.code as ErrorCode) : 'UPSTREAM_SIP_FAILURE';
    throw new AppError(code === 'NOT_AUTHENTICATED' ? 'SERVICE_UNAVAILABLE' : code, typeof json.message === 'string' ? json.message : `SBC answered ${res.status}`, {
      ...(typeof json.retryable === 'boolean' ? { retryable: json.retryable } : {}),
      ...(typeof json.field === 'string' ? { field: json.field } : {}),
    });
  };
  const id = (callId: string) => encodeURIComponent(callId);
  const tq = (tenantId: string) => `tenantId=${encodeURIComponent(tenantId)}`;
  return {
    originate: (r) => call<LiveCallView>('POST', '/v1/voice/calls', r),
    async get(tenantId, callId) {
      try {
        return await call<LiveCallView>('GET', `/v1/voice/calls/${id(callId)}?${tq(tenantId)}`);
      } catch (err) {
        if (err instanceof AppError && err.code === 'CALL_NOT_FOUND') return undefined;
        throw err;
      }
    },
    list: async (tenantId) => (await call<{ items: LiveCallView[] }>('GET', `/v1/voice/calls?${tq(tenantId)}`)).items ?? [],
    modify: (tenantId, callId, change) => call<LiveCallView>('POST', `/v1/voice/calls/${id(callId)}`, { tenantId, change }),
  };
}
