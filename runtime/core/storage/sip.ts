import { createHash } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { AppError } from '../errors.js';
import { isoTime } from '../clock.js';
import { newId } from '../ids.js';
import type { CallRecord, CallState } from './calls.js';
import { sipAddressPk, type SipAddressItem } from './applications.js'; // voice-sip-address
import { Db, encodeCursor, stripKeys, type Item, type PageResult } from './db.js';
import type {
  GatewayHealth,
  MediaNode,
  PhoneNumber,
  Registration,
  Route,
  SipCallRecord,
  SipRepository,
  SipUser,
  Trunk,
} from './sip-types.js';

// ---- keys (see the table in sip-types.ts) ---------------------------------------------------------

const userPk = (tid: string) => `T#${tid}#SIPUSER`;
const regPk = (tid: string, username: string) => `T#${tid}#REG#${username}`;
const trunkPk = (tid: string) => `T#${tid}#TRUNK`;
const routePk = (tid: string) => `T#${tid}#ROUTE`;
const numberPk = (tid: string) => `T#${tid}#NUMBER`;
const healthPk = (tid: string) => `T#${tid}#GWHEALTH`;
const callsPk = (tid: string) => `T#${tid}#CALL`;
/** The tenant's SIP settings (its domain). */
const sipConfPk = (tid: string) => `T#${tid}#SIPCONF`;
const domainPk = (domain: string) => `SIPDOMAIN#${domain}`;
const numberLookupPk = (e164: string) => `NUMBER#${e164}`;
/** Global index of every trunk's inbound CIDRs: sk `<tenantId>#<trunkId>`. */
const TRUNK_CIDR_PK = 'TRUNKCIDR';
const MEDIA_NODE_PK = 'MEDIANODE';

/** Weight of a new MOS sample in the gateway's exponential moving average. */
export const MOS_EMA_ALPHA = 0.2;

/** The SIP domain a tenant gets until it sets its own. */
export const defaultSipDomain = (tenantId: string): string => `${tenantId.toLowerCase()}.sip.cpaas.local`;

/** HA1 of RFC 2617/7616 digest (MD5): md5(`username:realm:password`), lower-case hex. */
export function digestHa1(username: string, realm: string, password: string): string {
  return createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest('hex');
}

// ---- CIDR matching -------------------------------------------------------------------------------

export interface Cidr {
  family: 'ipv4' | 'ipv6';
  address: string;
  prefix: number;
}

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address (a host route). Throws INVALID_PAYLOAD otherwise. */
export function parseCidr(text: string, field = 'cidr'): Cidr {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  const version = isIP(address);
  if (!version || rest.length > 0) throw AppError.invalid(`${text} is not an IPv4 or IPv6 CIDR`, field);
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) throw AppError.invalid(`${text}: the prefix length must be a number`, field);
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) throw AppError.invalid(`${text}: the prefix length must be at most ${max}`, field);
  return { family: version === 4 ? 'ipv4' : 'ipv6', address, prefix };
}

/** Builds a matcher over CIDRs (IPv4 rules also match IPv4-mapped IPv6 sources such as `::ffff:10.0.0.1`). */
export function cidrMatcher(cidrs: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const c of cidrs) {
    const cidr = parseCidr(c);
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return (address: string) => {
    const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
    const version = isIP(bare);
    if (!version) return false;
    return list.check(bare, version === 4 ? 'ipv4' : 'ipv6');
  };
}

// ---- items ---------------------------------------------------------------------------------------

type UserItem = Item & SipUser;
type RegItem = Item & Registration;
type TrunkItem = Item & Trunk;
type TrunkCidrItem = Item & { tenantId: string; trunkId: string; cidrs: string[]; enabled: boolean };
type RouteItem = Item & Route;
type NumberItem = Item & PhoneNumber;
type HealthItem = Item & GatewayHealth;
type MediaNodeItem = Item & MediaNode;
type CallItem = Item & SipCallRecord;
type DomainItem = Item & { tenantId: string; domain: string };

/** Filters of the call listing (GET /v1/calls); all optional. */
export interface CallFilter {
  kind?: CallRecord['kind'];
  direction?: 'inbound' | 'outbound';
  state?: CallState;
  /** createdAt >= from (ISO time). */
  from?: string;
  /** createdAt < to (ISO time). */
  to?: string;
  trunkId?: string;
}

/** The call listing reads at most this many items per request before returning a (short) page with a cursor. */
const CALL_SCAN_BUDGET = 2_000;

export class DynamoSipRepository implements SipRepository {
  constructor(private readonly db: Db) {}

  private now(): string {
    return isoTime(this.db.clock.now());
  }

  // ---- tenants by SIP domain / number ---------------------------------------------------------------

  async tenantByDomain(domain: string): Promise<string | undefined> {
    const item = await this.db.get<DomainItem>(domainPk(normalizeDomain(domain)), 'META');
    return item?.tenantId;
  }

  /** The tenant's SIP domain; the default `<tenantId>.sip.cpaas.local` is claimed the first time it is needed. */
  async tenantDomain(tenantId: string): Promise<string> {
    const conf = await this.db.get<DomainItem>(sipConfPk(tenantId), 'DOMAIN');
    if (conf) return conf.domain;
    const domain = defaultSipDomain(tenantId);
    await this.setTenantDomain(tenantId, domain);
    return domain;
  }

  /** Claims `domain` for the tenant (CONFLICT when another tenant has it) and releases its previous one. */
  async setTenantDomain(tenantId: string, domain: string): Promise<void> {
    const next = normalizeDomain(domain);
    const conf = await this.db.get<DomainItem>(sipConfPk(tenantId), 'DOMAIN');
    if (conf?.domain === next) return;
    try {
      await this.db.put({ pk: domainPk(next), sk: 'META', tenantId, domain: next, createdAt: this.now() }, { ifNotExists: true });
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'CONFLICT')) throw err;
      const owner = await this.tenantByDomain(next);
      if (owner !== tenantId) throw new AppError('CONFLICT', `SIP domain ${next} is used by another tenant`, { field: 'body/domain' });
    }
    await this.db.put({ pk: sipConfPk(tenantId), sk: 'DOMAIN', tenantId, domain: next, updatedAt: this.now() });
    if (conf && conf.domain !== next) {
      const old = await this.db.get<DomainItem>(domainPk(conf.domain), 'META');
      if (old?.tenantId === tenantId) await this.db.delete(domainPk(conf.domain), 'META');
    }
  }

  async tenantByNumber(e164: string): Promise<PhoneNumber | undefined> {
    const item = await this.db.get<NumberItem>(numberLookupPk(e164), 'META');
    return item ? stripKeys<PhoneNumber>(item) : undefined;
  }

  // ---- sip users ---------------------------------------------------------------------------------------

  async createUser(u: Omit<SipUser, 'createdAt' | 'ha1'> & { password: string }): Promise<SipUser> {
    const { password, ...rest } = u;
    const domain = u.domain ? normalizeDomain(u.domain) : await this.tenantDomain(u.tenantId);
    const user: SipUser = { ...rest, domain, ha1: digestHa1(u.username, domain, password), createdAt: this.now() };
    // --- voice-sip-address: a name is a SIP user or an application's SIP address, never both ---
    const taken = () => new AppError('SIP_USERNAME_IS_SIP_ADDRESS', `${u.username} is a SIP address of a voice application`, { field: 'body/username' });
    if (await this.applicationBySipAddress(u.tenantId, u.username)) throw taken();
    // --- end voice-sip-address ---
    try {
      await this.db.put({ pk: userPk(u.tenantId), sk: u.username, ...dropUndefined(user) } as UserItem, { ifNotExists: true });
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONFLICT') throw new AppError('CONFLICT', `SIP user ${u.username} already exists`, { field: 'body/username' });
      throw err;
    }
    // --- voice-sip-address: re-check after the write (an application claiming the name concurrently sees the user or we see it) ---
    if (await this.applicationBySipAddress(u.tenantId, u.username)) {
      await this.db.delete(userPk(u.tenantId), u.username);
      throw taken();
    }
    // --- end voice-sip-address ---
    return user;
  }

  // --- voice-sip-address ---
  async applicationBySipAddress(tenantId: string, name: string): Promise<string | undefined> {
    const item = await this.db.get<SipAddressItem>(sipAddressPk(tenantId), name);
    return item?.applicationId;
  }
  // --- end voice-sip-address ---

  async getUser(tenantId: string, username: string): Promise<SipUser | undefined> {
    const item = await this.db.get<UserItem>(userPk(tenantId), username);
    return item ? stripKeys<SipUser>(item) : undefined;
  }

  async listUsers(tenantId: string, limit: number, cursor?: string): Promise<PageResult<SipUser>> {
    const page = await this.db.page<UserItem>(userPk(tenantId), { limit, ...(cursor ? { cursor } : {}) });
    return { ...page, items: page.items.map((i) => stripKeys<SipUser>(i)) };
  }

  /** Deletes the user and its registrations. */
  async deleteUser(tenantId: string, username: string): Promise<void> {
    await this.db.delete(userPk(tenantId), username);
    const regs = await this.db.all<RegItem>(regPk(tenantId, username));
    await Promise.all(regs.map((r) => this.db.delete(r.pk, r.sk)));
  }

  // ---- registrations -----------------------------------------------------------------------------------

  async putRegistration(r: Registration): Promise<void> {
    await this.db.put({ pk: regPk(r.tenantId, r.username), sk: r.contactId, ...dropUndefined(r) } as RegItem);
  }

  async removeRegistration(tenantId: string, username: string, contactId: string): Promise<void> {
    await this.db.delete(regPk(tenantId, username), contactId);
  }

  /** Live bindings only: expired ones are filtered on read (TTL deletion is lazy). */
  async registrations(tenantId: string, username: string): Promise<Registration[]> {
    const items = await this.db.all<RegItem>(regPk(tenantId, username), 100);
    return items.map((i) => ({ ...stripKeys<Omit<Registration, 'expiresAt'>>(i), expiresAt: i.expiresAt }));
  }

  // ---- trunks ------------------------------------------------------------------------------------------

  async createTrunk(t: Omit<Trunk, 'id' | 'createdAt'>): Promise<Trunk> {
    for (const [i, c] of t.inboundCidrs.entries()) parseCidr(c, `body/inboundCidrs/${i}`);
    const id = newId('tr', this.db.clock.now());
    const trunk: Trunk = { ...t, id, createdAt: this.now() };
    await this.db.put({ pk: trunkPk(t.tenantId), sk: id, ...dropUndefined(trunk) } as TrunkItem, { ifNotExists: true });
    await this.writeCidrIndex(trunk);
    return trunk;
  }

  async getTrunk(tenantId: string, trunkId: string): Promise<Trunk | undefined> {
    const item = await this.db.get<TrunkItem>(trunkPk(tenantId), trunkId);
    return item ? stripKeys<Trunk>(item) : undefined;
  }

  async listTrunks(tenantId: string): Promise<Trunk[]> {
    const items = await this.db.all<TrunkItem>(trunkPk(tenantId));
    return items.map((i) => stripKeys<Trunk>(i));
  }

  /** Replaces the given top-level fields (`inboundDigest`/`outboundAuth`/`countryCode` set to undefined are removed). */
  async updateTrunk(tenantId: string, trunkId: string, patch: Partial<Omit<Trunk, 'id' | 'tenantId' | 'createdAt'>>): Promise<Trunk> {
    const current = await this.getTrunk(tenantId, trunkId);
    if (!current) throw AppError.notFound('trunk', trunkId);
    if (patch.inboundCidrs) for (const [i, c] of patch.inboundCidrs.entries()) parseCidr(c, `body/inboundCidrs/${i}`);
    const next: Trunk = { ...current, ...patch, id: trunkId, tenantId, createdAt: current.createdAt };
    for (const k of Object.keys(patch) as Array<keyof Trunk>) if (patch[k as keyof typeof patch] === undefined) delete next[k];
    await this.db.put({ pk: trunkPk(tenantId), sk: trunkId, ...dropUndefined(next) } as TrunkItem);
    await this.writeCidrIndex(next);
    return next;
  }

  /** Deletes the trunk, its CIDR index entry and its gateway health rows (routes and numbers are the caller's concern). */
  async deleteTrunk(tenantId: string, trunkId: string): Promise<void> {
    await this.db.delete(trunkPk(tenantId), trunkId);
    await this.db.delete(TRUNK_CIDR_PK, `${tenantId}#${trunkId}`);
    const health = await this.db.page<HealthItem>(healthPk(tenantId), { limit: 100, skBeginsWith: `${trunkId}#` });
    await Promise.all(health.items.map((h) => this.db.delete(h.pk, h.sk)));
  }

  private async writeCidrIndex(t: Trunk): Promise<void> {
    if (t.inboundCidrs.length === 0) {
      await this.db.delete(TRUNK_CIDR_PK, `${t.tenantId}#${t.id}`);
      return;
    }
    const item: TrunkCidrItem = { pk: TRUNK_CIDR_PK, sk: `${t.tenantId}#${t.id}`, tenantId: t.tenantId, trunkId: t.id, cidrs: t.inboundCidrs, enabled: t.enabled };
    await this.db.put(item);
  }

  /** Enabled trunks of every tenant whose inbound CIDRs contain `address` (the carrier's source IP). */
  async trunksForSource(address: string): Promise<Trunk[]> {
    const index = await this.db.all<TrunkCidrItem>(TRUNK_CIDR_PK, 10_000);
    const hits = index.filter((i) => i.enabled && safeMatch(i.cidrs, address));
    const trunks = await Promise.all(hits.map((h) => this.getTrunk(h.tenantId, h.trunkId)));
    return trunks.filter((t): t is Trunk => !!t && t.enabled);
  }

  // ---- routes (LCR) ------------------------------------------------------------------------------------

  async createRoute(r: Omit<Route, 'id' | 'createdAt'>): Promise<Route> {
    if (!/^\d{0,15}$/.test(r.prefix)) throw AppError.invalid('prefix must be 0-15 digits', 'body/prefix');
    const id = newId('rt', this.db.clock.now());
    const route: Route = { ...r, id, createdAt: this.now() };
    await this.db.put({ pk: routePk(r.tenantId), sk: id, ...route } as RouteItem, { ifNotExists: true });
    return route;
  }

  async listRoutes(tenantId: string): Promise<Route[]> {
    const items = await this.db.all<RouteItem>(routePk(tenantId));
    return items.map((i) => stripKeys<Route>(i));
  }

  async getRoute(tenantId: string, routeId: string): Promise<Route | undefined> {
    const item = await this.db.get<RouteItem>(routePk(tenantId), routeId);
    return item ? stripKeys<Route>(item) : undefined;
  }

  async deleteRoute(tenantId: string, routeId: string): Promise<void> {
    await this.db.delete(routePk(tenantId), routeId);
  }

  // ---- numbers (DIDs) ----------------------------------------------------------------------------------

  /** Creates or replaces the number's destination; CONFLICT when another tenant owns the number. */
  async putNumber(n: Omit<PhoneNumber, 'createdAt'>): Promise<PhoneNumber> {
    const existing = await this.db.get<NumberItem>(numberPk(n.tenantId), n.e164);
    const number: PhoneNumber = { ...n, createdAt: existing?.createdAt ?? this.now() };
    const lookup = { pk: numberLookupPk(n.e164), sk: 'META', ...number } as NumberItem;
    try {
      await this.db.put(lookup, { ifNotExists: true });
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'CONFLICT')) throw err;
      const owner = await this.tenantByNumber(n.e164);
      if (owner && owner.tenantId !== n.tenantId) throw new AppError('CONFLICT', `number ${n.e164} belongs to another tenant`, { field: 'params/e164' });
      await this.db.put(lookup);
    }
    await this.db.put({ pk: numberPk(n.tenantId), sk: n.e164, ...number } as NumberItem);
    return number;
  }

  async getNumber(tenantId: string, e164: string): Promise<PhoneNumber | undefined> {
    const item = await this.db.get<NumberItem>(numberPk(tenantId), e164);
    return item ? stripKeys<PhoneNumber>(item) : undefined;
  }

  async listNumbers(tenantId: string): Promise<PhoneNumber[]> {
    const items = await this.db.all<NumberItem>(numberPk(tenantId));
    return items.map((i) => stripKeys<PhoneNumber>(i));
  }

  async deleteNumber(tenantId: string, e164: string): Promise<void> {
    await this.db.delete(numberPk(tenantId), e164);
    const owner = await this.tenantByNumber(e164);
    if (owner?.tenantId === tenantId) await this.db.delete(numberLookupPk(e164), 'META');
  }

  // ---- gateway health and quality ------------------------------------------------------------------

  /** Writes the probe result (status, failures, time); `mosAverage` and `calls` belong to recordGatewayQuality. */
  async putGatewayHealth(h: GatewayHealth): Promise<void> {
    await this.db.update({
      Key: { pk: healthPk(h.tenantId), sk: `${h.trunkId}#${h.gatewayId}` },
      UpdateExpression: 'SET tenantId = :t, trunkId = :tr, gatewayId = :g, #st = :s, lastCheckedAt = :at, consecutiveFailures = :f, calls = if_not_exists(calls, :zero)',
      ExpressionAttributeNames: { '#st': 'status' },
      ExpressionAttributeValues: { ':t': h.tenantId, ':tr': h.trunkId, ':g': h.gatewayId, ':s': h.status, ':at': h.lastCheckedAt, ':f': h.consecutiveFailures, ':zero': 0 },
    });
  }

  async gatewayHealth(tenantId: string): Promise<GatewayHealth[]> {
    const items = await this.db.all<HealthItem>(healthPk(tenantId));
    return items.map((i) => stripKeys<GatewayHealth>(i));
  }

  /** Folds one call's MOS into the gateway's EMA (alpha 0.2); optimistic concurrency on `calls`, retried. */
  async recordGatewayQuality(tenantId: string, trunkId: string, gatewayId: string, mos: number): Promise<void> {
    if (!Number.isFinite(mos) || mos < 1 || mos > 5) throw AppError.invalid(`MOS must be between 1 and 5, got ${mos}`, 'mos');
    const key = { pk: healthPk(tenantId), sk: `${trunkId}#${gatewayId}` };
    for (let attempt = 0; attempt < 8; attempt++) {
      const cur = await this.db.get<HealthItem>(key.pk, key.sk);
      const calls = cur?.calls ?? 0;
      const avg = cur?.mosAverage === undefined ? mos : MOS_EMA_ALPHA * mos + (1 - MOS_EMA_ALPHA) * cur.mosAverage;
      try {
        await this.db.update({
          Key: key,
          UpdateExpression:
            'SET tenantId = :t, trunkId = :tr, gatewayId = :g, mosAverage = :avg, calls = :next, ' +
            '#st = if_not_exists(#st, :up), lastCheckedAt = if_not_exists(lastCheckedAt, :now), consecutiveFailures = if_not_exists(consecutiveFailures, :zero)',
          ConditionExpression: !cur ? 'attribute_not_exists(pk)' : cur.calls === undefined ? 'attribute_not_exists(calls)' : 'calls = :calls',
          ExpressionAttributeNames: { '#st': 'status' },
          ExpressionAttributeValues: {
            ':t': tenantId, ':tr': trunkId, ':g': gatewayId, ':avg': Math.round(avg * 1000) / 1000, ':next': calls + 1,
            ':up': 'up', ':now': this.now(), ':zero': 0, ...(cur?.calls !== undefined ? { ':calls': calls } : {}),
          },
        });
        return;
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'CONFLICT')) throw err;
      }
    }
    throw new AppError('CONFLICT', `gateway ${gatewayId} quality is being updated concurrently`, { retryable: true });
  }

  // ---- media nodes -----------------------------------------------------------------------------------

  async heartbeatMediaNode(n: Omit<MediaNode, 'expiresAt' | 'lastHeartbeat'>, ttlSeconds: number): Promise<void> {
    const item: MediaNodeItem = { pk: MEDIA_NODE_PK, sk: n.id, ...n, lastHeartbeat: this.now(), expiresAt: this.db.nowSeconds() + ttlSeconds };
    await this.db.put(item);
  }

  /** Media nodes whose last heartbeat is within their TTL. */
  async mediaNodes(): Promise<MediaNode[]> {
    const items = await this.db.all<MediaNodeItem>(MEDIA_NODE_PK);
    return items.map((i) => ({ ...stripKeys<Omit<MediaNode, 'expiresAt'>>(i), expiresAt: i.expiresAt }));
  }

  // ---- call records ----------------------------------------------------------------------------------

  /** Creates a SIP call record (CONFLICT when the id exists). Use time-sortable ids (`newId('ca')`) so listings stay newest first. */
  async putCall(c: SipCallRecord): Promise<void> {
    await this.db.put({ pk: callsPk(c.tenantId), sk: c.id, ...dropUndefined(c) } as CallItem, { ifNotExists: true });
  }

  /** Sets the given fields; `sip` is merged field by field (so `{ sip: { sipStatus: 486 } }` keeps the rest). */
  async updateCall(tenantId: string, callId: string, patch: Partial<SipCallRecord>): Promise<void> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    let n = 0;
    const set = (path: string[], value: unknown) => {
      const refs = path.map((p) => {
        const ref = `#k${n++}`;
        names[ref] = p;
        return ref;
      });
      const v = `:v${n++}`;
      values[v] = value;
      sets.push(`${refs.join('.')} = ${v}`);
    };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined || k === 'id' || k === 'tenantId' || k === 'pk' || k === 'sk') continue;
      if (k === 'sip' && v && typeof v === 'object') {
        for (const [sk, sv] of Object.entries(v as Record<string, unknown>)) if (sv !== undefined) set(['sip', sk], sv);
      } else set([k], v);
    }
    if (sets.length === 0) return;
    try {
      await this.db.update({
        Key: { pk: callsPk(tenantId), sk: callId },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: patch.sip ? 'attribute_exists(pk) AND attribute_exists(sip)' : 'attribute_exists(pk)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'NONE',
      });
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONFLICT') throw new AppError('CALL_NOT_FOUND', `SIP call ${callId} not found`);
      throw err;
    }
  }

  /**
   * Calls of the tenant (1:1 WebRTC and SIP), newest first, filtered in code. The cursor points at the last
   * item examined, so pages neither skip nor repeat; a page may be short when the scan budget runs out.
   */
  async listCalls(tenantId: string, filter: CallFilter, limit: number, cursor?: string): Promise<PageResult<CallRecord | SipCallRecord>> {
    const pk = callsPk(tenantId);
    const match = (c: CallItem) =>
      (!filter.kind || c.kind === filter.kind) &&
      (!filter.state || c.state === filter.state) &&
      (!filter.direction || c.sip?.direction === filter.direction) &&
      (!filter.trunkId || c.sip?.trunkId === filter.trunkId) &&
      (!filter.from || c.createdAt >= filter.from) &&
      (!filter.to || c.createdAt < filter.to);
    const items: Array<CallRecord | SipCallRecord> = [];
    let next: string | undefined = cursor;
    let scanned = 0;
    while (items.length < limit && scanned < CALL_SCAN_BUDGET) {
      const page = await this.db.page<CallItem>(pk, { limit: Math.min(100, Math.max(limit, 25)), descending: true, ...(next ? { cursor: next } : {}) });
      next = page.nextCursor;
      for (const item of page.items) {
        scanned++;
        if (!match(item)) continue;
        items.push(stripKeys(item));
        if (items.length === limit) {
          // stopped inside this page: resume right after this item (unless it was the partition's last)
          const isLast = item === page.items[page.items.length - 1] && !page.nextCursor;
          next = isLast ? undefined : encodeCursor({ pk: item.pk, sk: item.sk });
          break;
        }
      }
      if (!next) break;
    }
    return { items, ...(next ? { nextCursor: next } : {}) };
  }
}

function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

function safeMatch(cidrs: string[], address: string): boolean {
  try {
    return cidrMatcher(cidrs)(address);
  } catch {
    // An index entry written before validation tightened: it cannot match anything.
    return false;
  }
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
