/**
 * The one HTTP client of the SBC's private control API (runtime/sbc/control/server.ts) in signalling. The gateway,
 * voice and conference clients, the call-media routes and the security routes are all built on it:
 *  - every request carries the shared secret header (`x-cpaas-gateway-secret`, `gateway.secret` on both sides) and
 *    a JSON body when there is one, and is aborted after `timeoutMs`;
 *  - an unreachable SBC (connection refused, timeout) is SERVICE_UNAVAILABLE, retryable (`<what> is unreachable`);
 *  - an SBC error with a known AppError code comes back as that code (and its message, `retryable`, `field`);
 *    an unknown code becomes `fallbackCode`; NOT_AUTHENTICATED (a wrong secret, logged) becomes SERVICE_UNAVAILABLE —
 *    the tenant is not the one who is unauthenticated.
 */
import { AppError, ERROR_CODES, type ErrorCode, type ErrorDetails } from '../core/errors.js';
import type { Logger } from '../core/logging.js';

export const GATEWAY_SECRET_HEADER = 'x-cpaas-gateway-secret';

export type SbcMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface SbcControlOptions {
  url: string;
  /** The shared secret; without one no header is sent (the SBC then answers 401). */
  secret?: string;
  timeoutMs: number;
  /** Logs an unreachable SBC (warn) and a refused secret (error). */
  log?: Logger;
  /** Names the SBC in the unreachable error's message: `${what} is unreachable`. Default `the SBC`. */
  what?: string;
  /** The code of an SBC error whose code is not an AppError code. Default SERVICE_UNAVAILABLE. */
  fallbackCode?: ErrorCode;
  /** Which details of the SBC's error body pass through to the AppError. Default both. */
  passthrough?: readonly ('retryable' | 'field')[];
  /** Translates some SBC errors before the generic mapping (e.g. an SBC without the feature: ROUTE_NOT_FOUND). */
  translate?: (status: number, body: Record<string, unknown>) => AppError | undefined;
}

export interface SbcControl {
  /** Sends one request (`path` may hold a query string); resolves with the parsed JSON body (`{}` when empty). */
  request<T>(method: SbcMethod, path: string, body?: unknown): Promise<T>;
}

export function createSbcControl(o: SbcControlOptions): SbcControl {
  const base = o.url.replace(/\/$/, '');
  const what = o.what ?? 'the SBC';
  const fallback = o.fallbackCode ?? 'SERVICE_UNAVAILABLE';
  const passthrough = o.passthrough ?? ['retryable', 'field'];
  return {
    async request<T>(method: SbcMethod, path: string, body?: unknown): Promise<T> {
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers: { ...(o.secret ? { [GATEWAY_SECRET_HEADER]: o.secret } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(o.timeoutMs),
        });
      } catch (err) {
        o.log?.warn({ err, path }, 'SBC control API unreachable');
        throw new AppError('SERVICE_UNAVAILABLE', `${what} is unreachable`, { retryable: true }, { cause: err });
      }
      const text = await res.text();
      let json: Record<string, unknown> = {};
      try {
        json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        /* not JSON: treated as an empty body */
      }
      if (res.ok) return json as T;
      if (res.status === 401) o.log?.error({ path }, 'SBC refused the control secret (check gateway.secret on both sides)');
      const translated = o.translate?.(res.status, json);
      if (translated) throw translated;
      const code = typeof json.code === 'string' && json.code in ERROR_CODES ? (json.code as ErrorCode) : fallback;
      const details: ErrorDetails = {
        ...(passthrough.includes('retryable') && typeof json.retryable === 'boolean' ? { retryable: json.retryable } : {}),
        ...(passthrough.includes('field') && typeof json.field === 'string' ? { field: json.field } : {}),
      };
      throw new AppError(code === 'NOT_AUTHENTICATED' ? 'SERVICE_UNAVAILABLE' : code, typeof json.message === 'string' ? json.message : `SBC answered ${res.status}`, details);
    },
  };
}
