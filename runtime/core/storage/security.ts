/**
 * The SBC firewall's per-tenant data on the single table (docs/security.md):
 *
 * | item                 | pk               | sk       | notes                                            |
 * |----------------------|------------------|----------|--------------------------------------------------|
 * | tenant lists         | T#<tid>#SECLIST  | LISTS    | allow/block CIDRs, blocked caller/callee numbers |
 * | tenant policy        | T#<tid>#SECLIST  | POLICY   | destinations, CPS, concurrency, max call length  |
 * | global lists (admin) | GLOBAL#SECLIST   | LISTS    | merged with the SBC config's lists               |
 *
 * Written by the REST API (runtime/signalling/http/routes/security.ts), read by the SBC through a short cache.
 */
import { isoTime } from '../clock.js';
import type { Db, Item } from './db.js';
import { stripKeys } from './db.js';
import { parseCidr } from './sip.js';

export interface SecurityLists {
  /** Sources always let through the rate limits and bans (CIDRs or addresses). */
  allowCidrs: string[];
  /** Sources refused (dropped) before anything else. */
  blockCidrs: string[];
  /** Caller numbers (E.164 digit prefixes, `+` optional) refused with 403. */
  blockCallers: string[];
  /** Called numbers (prefixes) refused with 403. */
  blockCallees: string[];
  updatedAt?: string;
}

export interface SecurityPolicy {
  /** Outbound (PSTN) destinations allowed, as E.164 digit prefixes (country codes); empty = any. */
  allowedPrefixes: string[];
  /** Destinations always refused (premium ranges), longest match wins over allowedPrefixes. */
  blockedPrefixes: string[];
  /** Calls per second of the tenant (0 or absent = the SBC default). */
  cps?: number;
  /** Concurrent calls of the tenant. */
  maxConcurrent?: number;
  /** Hard cap on a call's length in seconds (absent = the SBC's limits.maxCallSeconds). */
  maxCallSeconds?: number;
  /** Countries (calling-code prefixes) the tenant usually calls; others raise a `security.alert`. Empty = no check. */
  usualPrefixes: string[];
  /** Calls per minute that raise a `security.alert` (0/absent = the SBC default). */
  alertCallsPerMinute?: number;
  updatedAt?: string;
}

export const EMPTY_LISTS: SecurityLists = { allowCidrs: [], blockCidrs: [], blockCallers: [], blockCallees: [] };
export const EMPTY_POLICY: SecurityPolicy = { allowedPrefixes: [], blockedPrefixes: [], usualPrefixes: [] };

const tenantPk = (tid: string) => `T#${tid}#SECLIST`;
const GLOBAL_PK = 'GLOBAL#SECLIST';

/** Normalizes a number prefix: digits only (a leading `+` is dropped). */
export const digitsOf = (n: string): string => n.replace(/^\+/, '').replace(/[^0-9]/g, '');

export function validateLists(l: SecurityLists): SecurityLists {
  [...l.allowCidrs, ...l.blockCidrs].forEach((c, i) => parseCidr(c, `body/cidrs/${i}`));
  return {
    allowCidrs: [...new Set(l.allowCidrs.map((c) => c.trim()))],
    blockCidrs: [...new Set(l.blockCidrs.map((c) => c.trim()))],
    blockCallers: [...new Set(l.blockCallers.map(digitsOf))],
    blockCallees: [...new Set(l.blockCallees.map(digitsOf))],
  };
}

export class SecurityRepository {
  constructor(private readonly db: Db) {}

  private async getLists(pk: string): Promise<SecurityLists> {
    const item = await this.db.get<Item>(pk, 'LISTS', false);
    return item ? { ...EMPTY_LISTS, ...stripKeys<SecurityLists>(item) } : { ...EMPTY_LISTS };
  }

  private async putLists(pk: string, lists: SecurityLists): Promise<SecurityLists> {
    const out = { ...validateLists(lists), updatedAt: isoTime(this.db.clock.now()) };
    await this.db.put({ pk, sk: 'LISTS', ...out });
    return out;
  }

  tenantLists(tenantId: string): Promise<SecurityLists> {
    return this.getLists(tenantPk(tenantId));
  }

  putTenantLists(tenantId: string, lists: SecurityLists): Promise<SecurityLists> {
    return this.putLists(tenantPk(tenantId), lists);
  }

  globalLists(): Promise<SecurityLists> {
    return this.getLists(GLOBAL_PK);
  }

  putGlobalLists(lists: SecurityLists): Promise<SecurityLists> {
    return this.putLists(GLOBAL_PK, lists);
  }

  async policy(tenantId: string): Promise<SecurityPolicy> {
    const item = await this.db.get<Item>(tenantPk(tenantId), 'POLICY', false);
    return item ? { ...EMPTY_POLICY, ...stripKeys<SecurityPolicy>(item) } : { ...EMPTY_POLICY };
  }

  async putPolicy(tenantId: string, p: SecurityPolicy): Promise<SecurityPolicy> {
    const out: SecurityPolicy = {
      ...p,
      allowedPrefixes: [...new Set(p.allowedPrefixes.map(digitsOf))],
      blockedPrefixes: [...new Set(p.blockedPrefixes.map(digitsOf))],
      usualPrefixes: [...new Set(p.usualPrefixes.map(digitsOf))],
      updatedAt: isoTime(this.db.clock.now()),
    };
    await this.db.put({ pk: tenantPk(tenantId), sk: 'POLICY', ...out });
    return out;
  }
}

/** What the SBC needs from the repository (a memory fake in tests). */
export type SecuritySource = Pick<SecurityRepository, 'tenantLists' | 'globalLists' | 'policy'>;
