/**
 * Fetching call-control documents: a signed POST of a `VoiceHookEvent` (the platform's one webhook signing scheme,
 * runtime/core/webhooks.ts), a per-attempt timeout, one retry on network errors/5xx/timeouts, then the fallback
 * URL. The response must be a `CallDocument` (validated with its defaults applied) or an empty body (= hang up).
 */
import { Value } from 'typebox/value';
import { CallDocument, type VoiceHookEvent } from '../../core/protocol/voice.js';
import { webhookHeaders } from '../../core/webhooks.js';
import { newId } from '../../core/ids.js';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isPrivateAddress } from '../media-services/sources.js';

export type HookFailure = 'timeout' | 'http-error' | 'network' | 'invalid-document' | 'no-secret' | 'private-address';

export class HookError extends Error {
  constructor(readonly reason: HookFailure, message: string) {
    super(message);
  }
}

export interface HookClientOptions {
  /** The tenant's webhook signing secret (X-Cpaas-Signature). */
  secretFor(tenantId: string): Promise<string | undefined>;
  timeoutMs?: number;
  /** Attempts per URL (default 2: one retry). */
  attempts?: number;
  fetch?: typeof fetch;
  now?: () => number;
  /**
   * Refuse application URLs that resolve to loopback/private/link-local addresses (the SBC sits in the VPC: a tenant
   * URL must not reach its neighbours). Deployments set it (`SbcConfig.voice.allowPrivateHookUrls: false`); it is
   * off by default so that local setups (`npm start`, tests) can run their webhook servers on loopback.
   */
  blockPrivateUrls?: boolean;
}

/** Applies the schema defaults and validates; throws HookError('invalid-document') with the first errors. */
export function parseDocument(input: unknown): CallDocument {
  const doc = Value.Default(CallDocument, Value.Clone(input));
  if (!Value.Check(CallDocument, doc)) {
    const errs = [...Value.Errors(CallDocument, doc)].slice(0, 3).map((e) => `${(e as { instancePath?: string }).instancePath ?? ''} ${e.message}`);
    throw new HookError('invalid-document', `invalid call document: ${errs.join('; ')}`);
  }
  return doc;
}

export class HookClient {
  constructor(private readonly o: HookClientOptions) {}

  /** Posts the event and returns the next document (`[]` = the application said nothing: hang up). */
  async fetchDocument(url: string, event: VoiceHookEvent, fallbackUrl?: string): Promise<CallDocument> {
    const secret = await this.o.secretFor(event.tenantId);
    if (!secret) throw new HookError('no-secret', `tenant ${event.tenantId} has no webhook signing secret`);
    const body = JSON.stringify(event);
    const eventId = newId('evt');
    let last: HookError = new HookError('network', 'no attempt');
    for (const u of [url, ...(fallbackUrl ? [fallbackUrl] : [])]) {
      for (let i = 0; i < (this.o.attempts ?? 2); i++) {
        const r = await this.attempt(u, body, eventId, secret);
        if (r.ok) {
          const text = r.text.trim();
          if (text === '') return [];
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            throw new HookError('invalid-document', 'response is not JSON');
          }
          return parseDocument(json);
        }
        last = r.error;
        if (!r.retry) break;
      }
    }
    throw last;
  }

  private async attempt(url: string, body: string, eventId: string, secret: string): Promise<{ ok: true; text: string } | { ok: false; retry: boolean; error: HookError }> {
    const f = this.o.fetch ?? globalThis.fetch;
    if (this.o.blockPrivateUrls) {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
      const addrs = isIP(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
      if (addrs.length === 0) return { ok: false, retry: true, error: new HookError('network', `cannot resolve ${host}`) };
      if (addrs.some(isPrivateAddress)) return { ok: false, retry: false, error: new HookError('private-address', `${url} resolves to a private address`) };
    }
    try {
      const res = await f(url, {
        method: 'POST', body, redirect: 'manual',
        headers: { ...webhookHeaders(secret, body, eventId, (this.o.now ?? Date.now)()), accept: 'application/json' },
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 5000),
      });
      const text = await res.text();
      if (res.status >= 200 && res.status < 300) return { ok: true, text: text.length > 256_000 ? '' : text };
      return { ok: false, retry: res.status >= 500 || res.status === 429 || res.status === 408, error: new HookError('http-error', `HTTP ${res.status} from ${url}`) };
    } catch (err) {
      const timeout = (err as Error).name === 'TimeoutError';
      return { ok: false, retry: true, error: new HookError(timeout ? 'timeout' : 'network', `${timeout ? 'timeout' : String((err as Error).message)} (${url})`) };
    }
  }
}
