/**
 * Short-lived read cache in front of the SipRepository for the per-call lookups that change rarely
 * (carrier CIDRs, numbers, domains, users, routes, trunks, gateway health). A change made through the REST
 * API reaches the SBC within `ttlMs`. Registrations, media nodes and writes are never cached; a write by the
 * SBC itself (gateway health, MOS) drops the affected entries. Failed lookups are not cached.
 */
import type { Clock } from '../core/clock.js';
import type { SipRepository } from '../core/storage/sip-types.js';

const CACHED = [
  'trunksForSource', 'tenantByNumber', 'tenantByDomain', 'getUser', 'listRoutes', 'listTrunks', 'gatewayHealth', 'getTrunk',
  'applicationBySipAddress', // voice-sip-address (optional on the repository: absent stays absent)
] as const;
type Cached = (typeof CACHED)[number];

export function withReadCache(repo: SipRepository, ttlMs: number, clock: Clock): SipRepository {
  if (ttlMs <= 0) return repo;
  const entries = new Map<string, { at: number; value: Promise<unknown> }>();
  const memo = (name: Cached) => (...args: unknown[]): Promise<unknown> => {
    const key = `${name}\u0000${args.join('\u0000')}`;
    const now = clock.now();
    const hit = entries.get(key);
    if (hit && now - hit.at < ttlMs) return hit.value;
    const value = (repo[name] as (...a: unknown[]) => Promise<unknown>).apply(repo, args);
    entries.set(key, { at: now, value });
    value.catch(() => entries.delete(key));
    if (entries.size > 50_000) entries.clear();
    return value;
  };
  const dropTenant = (tenantId: string) => {
    for (const k of entries.keys()) if (k.includes(`\u0000${tenantId}`)) entries.delete(k);
  };
  const cached = Object.fromEntries(CACHED.map((n) => [n, memo(n)]));
  return new Proxy(repo, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && prop in cached) return typeof (target as unknown as Record<string, unknown>)[prop] === 'function' ? cached[prop] : undefined;
      if (prop === 'putGatewayHealth' || prop === 'recordGatewayQuality') {
        return async (...args: unknown[]) => {
          const tenantId = prop === 'putGatewayHealth' ? (args[0] as { tenantId: string }).tenantId : (args[0] as string);
          try {
            return await (target[prop] as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } finally {
            dropTenant(tenantId);
          }
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
