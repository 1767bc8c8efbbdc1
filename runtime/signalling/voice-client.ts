/**
 * Signalling's client of the SBC's programmable-voice control API (runtime/sbc/voice/control.ts): originate,
 * inspect, list and modify live programmable calls. Same private URL and shared secret header as the gateway
 * client (gateway-client.ts). SBC errors come back as the same AppError codes (CALL_NOT_FOUND, INVALID_PAYLOAD,
 * …); an unreachable SBC is SERVICE_UNAVAILABLE (retryable).
 */
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import type { CallModify, LiveCallView, OriginateRequest } from '../sbc/voice/contracts.js';
import { createSbcControl } from './sbc-control.js';

/** The voice engine as signalling reaches it (the async mirror of `VoiceEngine`). */
export interface VoiceControl {
  originate(r: OriginateRequest): Promise<LiveCallView>;
  /** Undefined when the call is not live (or belongs to another tenant). */
  get(tenantId: string, callId: string): Promise<LiveCallView | undefined>;
  list(tenantId: string): Promise<LiveCallView[]>;
  modify(tenantId: string, callId: string, m: CallModify): Promise<LiveCallView>;
}

export function createVoiceClient(o: { url: string; secret: string; timeoutMs: number; log: Logger }): VoiceControl {
  const sbc = createSbcControl({
    ...o,
    what: 'the voice service (SBC)',
    fallbackCode: 'UPSTREAM_SIP_FAILURE',
    // A route the SBC does not know: an SBC without programmable voice.
    translate: (_status, json) =>
      json.code === 'ROUTE_NOT_FOUND' ? new AppError('SERVICE_UNAVAILABLE', 'programmable voice is not enabled on the SBC', { retryable: false }) : undefined,
  });
  const call = <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => sbc.request<T>(method, path, body);
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
