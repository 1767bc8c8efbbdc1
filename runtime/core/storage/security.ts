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

// --------------------------------------------------------------------------------- shared bans

/**
 * Bans shared between SBC instances (docs/security.md § Shared bans): one item per banned source at
 * `GLOBAL#SECBAN` / `<source>`, with the DynamoDB TTL `expiresAt` = the end of the ban. Each SBC writes the bans
 * it decides, deletes the ones lifted by hand, and polls the partition to adopt the others' bans.
 */
export interface SharedBan {
  source: string;
  reason: string;
  /** Epoch ms the ban ends. */
  until: number;
  offence: number;
  /** The SBC instance that decided it. */
  instanceId: string;
}

const BAN_PK = 'GLOBAL#SECBAN';

export class BanStore {
  constructor(private readonly db: Db) {}

  async put(b: SharedBan): Promise<void> {
    await this.db.put({ pk: BAN_PK, sk: b.source, ...b, expiresAt: Math.ceil(b.until / 1000) });
  }

  async delete(source: string): Promise<void> {
    await this.db.delete(BAN_PK, source);
  }

  /** Live bans (expired items are filtered even before DynamoDB's TTL sweeper removes them). */
  async list(max = 5000): Promise<SharedBan[]> {
    const items = await this.db.all<Item>(BAN_PK, max);
    const now = this.db.clock.now();
    return items.map((i) => stripKeys<SharedBan>(i)).filter((b) => b.until > now);
  }
}

// ------------------------------------------------------------------------- lawful interception

/**
 * Lawful-interception targets and their audit trail (admin only; docs/security.md § Lawful interception):
 *
 * | item   | pk             | sk                         | notes                                        |
 * |--------|----------------|----------------------------|----------------------------------------------|
 * | target | GLOBAL#LI      | TARGET#<id>                | number or SIP URI, window, collection point  |
 * | audit  | GLOBAL#LIAUDIT | <iso time>#<audit id>      | append-only (put if not exists), never updated |
 *
 * Nothing here is keyed by tenant, so no tenant-scoped read can reach it.
 */
export interface LiTarget {
  id: string;
  /** E.164 number (digits, `+` optional) or a SIP URI (`sip:user@domain`). */
  match: { kind: 'number'; value: string } | { kind: 'uri'; value: string };
  validFrom: string;
  validUntil: string;
  collection: {
    /** host:port receiving a copy of both parties' RTP. */
    media: { host: string; port: number };
    /** HTTPS (HTTP in tests) URL receiving signed call events. */
    eventsUrl: string;
  };
  /** Reference of the warrant / case (free text, audited). */
  reference?: string;
  createdAt: string;
  updatedAt: string;
}

export interface LiAuditEntry {
  id: string;
  at: string;
  action: 'create' | 'update' | 'delete';
  targetId: string;
  /** Who made the change (the admin principal; `admin` for the admin key). */
  actor: string;
  /** The target after the change (before it, for delete). */
  target: LiTarget;
}

const LI_PK = 'GLOBAL#LI';
const LI_AUDIT_PK = 'GLOBAL#LIAUDIT';

export class LiRepository {
  constructor(private readonly db: Db) {}

  private async audit(action: LiAuditEntry['action'], target: LiTarget, actor: string): Promise<void> {
    const now = this.db.clock.now();
    const id = `lia_${now.toString(36)}${Math.random().toString(36).slice(2, 10)}`;
    const at = isoTime(now);
    const entry: LiAuditEntry = { id, at, action, targetId: target.id, actor, target };
    await this.db.put({ pk: LI_AUDIT_PK, sk: `${at}#${id}`, ...entry }, { ifNotExists: true });
  }

  async list(): Promise<LiTarget[]> {
    return (await this.db.all<Item>(LI_PK)).map((i) => stripKeys<LiTarget>(i));
  }

  async get(id: string): Promise<LiTarget | undefined> {
    const item = await this.db.get<Item>(LI_PK, `TARGET#${id}`);
    return item ? stripKeys<LiTarget>(item) : undefined;
  }

  /** Creates or replaces a target; the audit entry is written first (no unaudited change). */
  async put(target: Omit<LiTarget, 'createdAt' | 'updatedAt'>, actor: string): Promise<LiTarget> {
    const now = isoTime(this.db.clock.now());
    const before = await this.get(target.id);
    const out: LiTarget = { ...target, createdAt: before?.createdAt ?? now, updatedAt: now };
    await this.audit(before ? 'update' : 'create', out, actor);
    await this.db.put({ pk: LI_PK, sk: `TARGET#${out.id}`, ...out });
    return out;
  }

  async delete(id: string, actor: string): Promise<boolean> {
    const before = await this.get(id);
    if (!before) return false;
    await this.audit('delete', before, actor);
    await this.db.delete(LI_PK, `TARGET#${id}`);
    return true;
  }

  /** The audit trail, oldest first. */
  async auditLog(limit = 100, cursor?: string): Promise<{ items: LiAuditEntry[]; nextCursor?: string }> {
    const page = await this.db.page<Item>(LI_AUDIT_PK, { limit, ...(cursor ? { cursor } : {}) });
    return { items: page.items.map((i) => stripKeys<LiAuditEntry>(i)), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  }
}
