/**
 * The SBC's SIP-aware firewall, run as the first srf middleware (before admission). Per request, in order:
 * global allow-list (exempt from everything below) → global block-list (dropped) → active ban (dropped) →
 * scanner signature (ban + drop) → per-source token bucket by method (drop; repeated overflow → ban) →
 * overload (INVITE: 503 + Retry-After when too many calls are in setup or no media node is usable;
 * emergency numbers pass) → REGISTER: digest lockout and unknown-user probing → next().
 *
 * "Dropped" = no response at all (`res.send` is never called). The engine (and drachtio-server) keep the
 * unanswered server transaction until the client gives up; see docs/security.md for that cost.
 * Counts every decision in metrics; one info line per ban/unban/lock.
 */
import type Srf from 'drachtio-srf';
import type { Logger } from '../../core/logging.js';
import type { Clock } from '../../core/clock.js';
import type { MetricsRegistry } from '../../core/metrics.js';
import { cidrMatcher } from '../../core/storage/sip.js';
import type { SipRepository } from '../../core/storage/sip-types.js';
import { EMPTY_LISTS, type SecurityLists, type SecurityPolicy, type SecuritySource, EMPTY_POLICY, type SharedBan } from '../../core/storage/security.js';
import { hostOf } from '../auth/admission.js';
import { userOf } from '../routing/numbers.js';
import type { SecurityConfig } from './config.js';
import { DistinctCounter, TokenBucket, WindowCounter, digits } from './limits.js';

export type DropReason = 'blocklist' | 'banned' | 'scanner' | 'rate';
export type BanReason = 'scanner' | 'flood' | 'unknown-users' | 'auth-failures' | 'manual';

export function createSecurityMetrics(registry: MetricsRegistry) {
  return {
    drops: registry.counter('security_dropped_total', 'Requests dropped by the firewall, by reason'),
    bans: registry.counter('security_bans_total', 'Sources banned, by reason'),
    unbans: registry.counter('security_unbans_total', 'Bans that expired or were lifted'),
    activeBans: registry.gauge('security_active_bans', 'Sources banned right now'),
    lockouts: registry.counter('security_lockouts_total', 'Users locked after repeated digest failures'),
    authFailures: registry.counter('security_auth_failures_total', 'Wrong digest responses'),
    overload: registry.counter('security_overload_rejected_total', 'INVITEs answered 503 for overload, by cause'),
    callsRefused: registry.counter('security_calls_refused_total', 'Calls refused by lists, destination policy or call admission control, by reason'),
    emergency: registry.counter('security_emergency_calls_total', 'Calls to emergency numbers (never limited)'),
    alerts: registry.counter('security_alerts_total', 'Anomaly alerts raised, by kind'),
  };
}
export type SecurityMetrics = ReturnType<typeof createSecurityMetrics>;

interface Ban { until: number; reason: BanReason; count: number; since: number; /** adopted from another instance */ shared?: string }

/** A ban as reported to `onBan` (alerts): `domain` is the SIP domain the source attacked, when known. */
export interface BanEvent { source: string; reason: BanReason; seconds: number; offence: number; domain?: string }

/** Where bans are shared between SBC instances (runtime/core/storage/security.ts BanStore). */
export interface SharedBanStore {
  put(b: SharedBan): Promise<void>;
  delete(source: string): Promise<void>;
  list(): Promise<SharedBan[]>;
}

type Matcher = (address: string) => boolean;
interface Compiled { lists: SecurityLists; allow: Matcher; block: Matcher }
const compile = (l: SecurityLists): Compiled => ({ lists: l, allow: cidrMatcher(l.allowCidrs), block: cidrMatcher(l.blockCidrs) });

export interface FirewallOptions {
  config: SecurityConfig;
  clock: Clock;
  log: Logger;
  metrics: SecurityMetrics;
  /** Per-tenant and admin lists/policies (absent = config only). */
  source?: SecuritySource;
  /** For the unknown-user check on REGISTER (the SBC's cached repository). */
  repo?: Pick<SipRepository, 'tenantByDomain' | 'getUser'>;
  /** Calls in setup and media availability for overload protection. */
  mediaAvailable?: () => boolean;
  /** Shared bans: written on ban/unban, polled every `pollMs` (default 2 s) to adopt other instances' bans. */
  shared?: { store: SharedBanStore; instanceId: string; pollMs?: number };
  /** Every new local ban (security.alert webhooks). */
  onBan?: (e: BanEvent) => void;
}

export class SipFirewall {
  private readonly bans = new Map<string, Ban>();
  /** Past bans (for escalation), forgotten after maxBanSeconds. */
  private readonly history = new Map<string, { count: number; at: number }>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly violations: WindowCounter;
  private readonly unknownUsers: DistinctCounter;
  private readonly userFailures: WindowCounter;
  private readonly sourceFailures: WindowCounter;
  private readonly locks = new Map<string, number>();
  private readonly inSetup = new Map<object, number>();
  private global: Compiled;
  private globalAt = -Infinity;
  private globalLoading?: Promise<void>;
  private readonly tenantCache = new Map<string, { at: number; lists: Promise<Compiled>; policy: Promise<SecurityPolicy> }>();
  private readonly timer: NodeJS.Timeout;
  private readonly pollTimer?: NodeJS.Timeout;
  private polling?: Promise<void>;

  constructor(private readonly o: FirewallOptions) {
    const w = o.config.windowSeconds * 1000;
    this.violations = new WindowCounter(w);
    this.unknownUsers = new DistinctCounter(w);
    this.userFailures = new WindowCounter(w);
    this.sourceFailures = new WindowCounter(w);
    this.global = compile({ ...EMPTY_LISTS, allowCidrs: o.config.allowCidrs, blockCidrs: o.config.blockCidrs, blockCallers: o.config.blockNumbers, blockCallees: o.config.blockNumbers });
    o.metrics.activeBans.collect(() => this.bans.size);
    this.timer = setInterval(() => this.sweep(), 1000);
    this.timer.unref();
    if (o.shared) {
      this.pollTimer = setInterval(() => void this.syncShared(), o.shared.pollMs ?? 2000);
      this.pollTimer.unref();
    }
  }

  /** Adopts the bans other instances wrote, and drops adopted bans they lifted. Resolves when done. */
  syncShared(): Promise<void> {
    const sh = this.o.shared;
    if (!sh) return Promise.resolve();
    if (this.polling) return this.polling;
    this.polling = (async () => {
      try {
        const list = await sh.store.list();
        const seen = new Set<string>();
        const now = this.now();
        for (const b of list) {
          seen.add(b.source);
          if (b.instanceId === sh.instanceId || b.until <= now) continue;
          const mine = this.bans.get(b.source);
          if (mine && mine.until >= b.until) continue;
          if (this.globalLists().allow(b.source)) continue;
          this.bans.set(b.source, { until: b.until, reason: b.reason as BanReason, count: b.offence, since: now, shared: b.instanceId });
          this.buckets.delete(b.source);
          this.o.log.info({ source: b.source, reason: b.reason, from: b.instanceId, until: new Date(b.until).toISOString() }, 'source banned (shared)');
        }
        for (const [a, b] of this.bans) if (b.shared && !seen.has(a)) this.unban(a, 'manual', false);
      } catch (err) {
        this.o.log.warn({ err }, 'reading shared bans failed');
      } finally {
        this.polling = undefined;
      }
    })();
    return this.polling;
  }

  get config(): SecurityConfig {
    return this.o.config;
  }

  close(): void {
    clearInterval(this.timer);
    if (this.pollTimer) clearInterval(this.pollTimer);
  }

  private now(): number {
    return this.o.clock.now();
  }

  // ------------------------------------------------------------------------------------------ lists

  /** Config lists merged with the admin's global lists (re-read every listCacheSeconds). */
  private globalLists(): Compiled {
    const ttl = this.o.config.listCacheSeconds * 1000;
    if (this.o.source && this.now() - this.globalAt >= ttl && !this.globalLoading) {
      this.globalLoading = this.o.source.globalLists().then((l) => {
        const c = this.o.config;
        this.global = compile({
          allowCidrs: [...c.allowCidrs, ...l.allowCidrs], blockCidrs: [...c.blockCidrs, ...l.blockCidrs],
          blockCallers: [...c.blockNumbers, ...l.blockCallers], blockCallees: [...c.blockNumbers, ...l.blockCallees],
        });
        this.globalAt = this.now();
      }).catch((err: unknown) => {
        this.globalAt = this.now(); // keep the last lists; retry after the TTL
        this.o.log.warn({ err }, 'reading global security lists failed');
      }).finally(() => {
        this.globalLoading = undefined;
      });
    }
    return this.global;
  }

  /** Waits for a pending global-list refresh (first request after start, tests). */
  async refreshed(): Promise<void> {
    this.globalLists();
    await this.globalLoading;
  }

  private tenant(tenantId: string) {
    const ttl = this.o.config.listCacheSeconds * 1000;
    let e = this.tenantCache.get(tenantId);
    if (!e || this.now() - e.at >= ttl) {
      const src = this.o.source;
      e = {
        at: this.now(),
        lists: src ? src.tenantLists(tenantId).then(compile) : Promise.resolve(compile(EMPTY_LISTS)),
        policy: src ? src.policy(tenantId) : Promise.resolve(EMPTY_POLICY),
      };
      const entry = e;
      const drop = (err: unknown) => {
        if (this.tenantCache.get(tenantId) === entry) this.tenantCache.delete(tenantId);
        this.o.log.warn({ err, tenantId }, 'reading tenant security settings failed');
      };
      e.lists.catch(drop);
      e.policy.catch(drop);
      this.tenantCache.set(tenantId, e);
    }
    return e;
  }

  async tenantLists(tenantId: string): Promise<Compiled> {
    try {
      return await this.tenant(tenantId).lists;
    } catch {
      return compile(EMPTY_LISTS); // logged by tenant(); fail open on lists, the global ones still apply
    }
  }

  async tenantPolicy(tenantId: string): Promise<SecurityPolicy> {
    try {
      return await this.tenant(tenantId).policy;
    } catch {
      return EMPTY_POLICY;
    }
  }

  /** Global number block-list (callers and callees). */
  blockedNumber(caller: string, callee: string): 'caller' | 'callee' | undefined {
    const g = this.globalLists().lists;
    if (g.blockCallers.some((p) => p && digits(caller).startsWith(p))) return 'caller';
    if (g.blockCallees.some((p) => p && digits(callee).startsWith(p))) return 'callee';
    return undefined;
  }

  isEmergency(requestUri: string): boolean {
    const d = digits(userOf(requestUri));
    return d.length > 0 && this.o.config.emergencyNumbers.some((n) => digits(n) === d);
  }

  // ------------------------------------------------------------------------------------------- bans

  isBanned(address: string): boolean {
    const b = this.bans.get(address);
    return !!b && b.until > this.now();
  }

  ban(address: string, reason: BanReason, seconds?: number, domain?: string): void {
    if (this.isBanned(address) || this.globalLists().allow(address)) return;
    const now = this.now();
    const past = this.history.get(address);
    const count = past && now - past.at < this.o.config.maxBanSeconds * 1000 ? past.count + 1 : 1;
    const secs = seconds ?? Math.min(this.o.config.maxBanSeconds, this.o.config.banSeconds * 2 ** (count - 1));
    this.bans.set(address, { until: now + secs * 1000, reason, count, since: now });
    this.history.set(address, { count, at: now });
    this.buckets.delete(address);
    this.o.metrics.bans.inc({ reason });
    this.o.log.info({ source: address, reason, seconds: secs, offence: count }, 'source banned');
    const sh = this.o.shared;
    if (sh) {
      sh.store.put({ source: address, reason, until: now + secs * 1000, offence: count, instanceId: sh.instanceId })
        .catch((err: unknown) => this.o.log.warn({ err, source: address }, 'sharing a ban failed'));
    }
    try {
      this.o.onBan?.({ source: address, reason, seconds: secs, offence: count, ...(domain ? { domain } : {}) });
    } catch (err) {
      this.o.log.warn({ err }, 'ban listener failed');
    }
  }

  /** Lifts a ban (`share`: also delete the shared item, so other instances lift it at their next poll). */
  unban(address: string, why: 'expired' | 'manual' = 'manual', share = true): boolean {
    const b = this.bans.get(address);
    if (!b) return false;
    this.bans.delete(address);
    if (why === 'manual' && share && this.o.shared) {
      this.o.shared.store.delete(address).catch((err: unknown) => this.o.log.warn({ err, source: address }, 'deleting a shared ban failed'));
    }
    this.o.metrics.unbans.inc({ why });
    this.o.log.info({ source: address, reason: b.reason, why, bannedMs: this.now() - b.since }, 'source unbanned');
    return true;
  }

  listBans(): Array<{ source: string; reason: BanReason; until: string; offence: number; sharedFrom?: string }> {
    return [...this.bans].map(([source, b]) => ({ source, reason: b.reason, until: new Date(b.until).toISOString(), offence: b.count, ...(b.shared ? { sharedFrom: b.shared } : {}) }));
  }

  private sweep(): void {
    const now = this.now();
    for (const [a, b] of this.bans) if (b.until <= now) this.unban(a, 'expired');
    for (const [k, until] of this.locks) {
      if (until <= now) {
        this.locks.delete(k);
        this.o.log.info({ user: k }, 'user unlocked');
      }
    }
    for (const [k, b] of this.buckets) if (b.full(now)) this.buckets.delete(k);
    for (const [k, h] of this.history) if (now - h.at > this.o.config.maxBanSeconds * 1000) this.history.delete(k);
    for (const [k, t] of this.inSetup) if (now - t > 120_000) this.inSetup.delete(k);
    this.violations.prune(now);
    this.unknownUsers.prune(now);
    this.userFailures.prune(now);
    this.sourceFailures.prune(now);
  }

  // ------------------------------------------------------------------------- auth hooks (admission)

  /** A request named a user that doesn't exist (the response is the same as for a real one). */
  unknownUser(source: string, username: string): void {
    const max = this.o.config.unknownUsersToBan;
    if (max > 0 && this.unknownUsers.add(source, username.toLowerCase(), this.now()) >= max) this.ban(source, 'unknown-users', undefined, username.split('@')[1]);
  }

  /** `domain|user` key of digest lockouts. */
  static userKey(domain: string, username: string): string {
    return `${domain.toLowerCase()}|${username.toLowerCase()}`;
  }

  isLocked(userKey: string): boolean {
    const until = this.locks.get(userKey);
    return until !== undefined && until > this.now();
  }

  authFailure(source: string, userKey: string): void {
    const c = this.o.config;
    const now = this.now();
    this.o.metrics.authFailures.inc();
    if (c.authFailuresPerUser > 0 && !this.isLocked(userKey) && this.userFailures.add(userKey, now) >= c.authFailuresPerUser) {
      this.locks.set(userKey, now + c.lockSeconds * 1000);
      this.userFailures.reset(userKey);
      this.o.metrics.lockouts.inc();
      this.o.log.info({ user: userKey, source, seconds: c.lockSeconds }, 'user locked after digest failures');
    }
    if (c.authFailuresPerSource > 0 && this.sourceFailures.add(source, now) >= c.authFailuresPerSource) this.ban(source, 'auth-failures', undefined, userKey.split('|')[0]);
  }

  authSuccess(userKey: string): void {
    this.userFailures.reset(userKey);
  }

  unlock(userKey: string): boolean {
    return this.locks.delete(userKey);
  }

  // ----------------------------------------------------------------------------------- middleware

  private drop(reason: DropReason): void {
    this.o.metrics.drops.inc({ reason });
  }

  private scanner(req: Srf.SrfRequest): boolean {
    const signatures = this.o.config.scannerSignatures; // read each time: the list can be changed at run time
    if (signatures.length === 0) return false;
    const text = ['User-Agent', 'From', 'To', 'Contact', 'Organization', 'Server']
      .map((h) => (req.has(h) ? req.get(h) : '')).join('\n').toLowerCase();
    return signatures.some((s) => text.includes(s.toLowerCase()));
  }

  private overRate(source: string, method: string): boolean {
    const rates = this.o.config.rates;
    const cls = method === 'INVITE' || method === 'REGISTER' || method === 'OPTIONS' ? method : 'other';
    const r = rates[cls];
    const key = `${source}|${cls}`;
    let b = this.buckets.get(key);
    if (!b) {
      b = new TokenBucket(r.perSecond, r.burst, this.now());
      this.buckets.set(key, b);
    }
    return !b.take(this.now());
  }

  /** INVITEs received and not finally answered yet. */
  get callsInSetup(): number {
    return this.inSetup.size;
  }

  private trackSetup(req: Srf.SrfRequest, res: Srf.SrfResponse): void {
    const key = {};
    this.inSetup.set(key, this.now());
    const send = res.send.bind(res) as (...a: unknown[]) => unknown;
    (res as unknown as { send: (...a: unknown[]) => unknown }).send = (...args: unknown[]) => {
      if (typeof args[0] === 'number' && args[0] >= 200) this.inSetup.delete(key);
      return send(...args);
    };
    req.on('cancel', () => this.inSetup.delete(key));
  }

  /** Watches a REGISTER's answer: 403 to credentials = a digest failure, 200 = success. */
  private watchRegister(req: Srf.SrfRequest, res: Srf.SrfResponse, source: string, userKey: string): void {
    const send = res.send.bind(res) as (...a: unknown[]) => unknown;
    (res as unknown as { send: (...a: unknown[]) => unknown }).send = (...args: unknown[]) => {
      if (args[0] === 403) this.authFailure(source, userKey);
      else if (args[0] === 200) this.authSuccess(userKey);
      return send(...args);
    };
    void req;
  }

  middleware(): (req: Srf.SrfRequest, res: Srf.SrfResponse, next: Function) => void { // eslint-disable-line @typescript-eslint/no-unsafe-function-type
    return (req, res, nextFn) => {
      const next = nextFn as (err?: unknown) => void;
      if (!this.o.config.enabled || req.method === 'ACK') return next();
      const source = req.source_address;
      const lists = this.globalLists();
      if (lists.allow(source)) {
        if (req.method === 'INVITE') this.trackSetup(req, res);
        return next();
      }
      const refuse = (reason: DropReason) => {
        this.drop(reason);
        if (this.o.config.banAction === 'reject') res.send(403);
      };
      if (lists.block(source)) return refuse('blocklist');
      if (this.isBanned(source)) return refuse('banned');
      if (this.scanner(req)) {
        this.ban(source, 'scanner');
        return refuse('scanner');
      }
      const emergency = req.method === 'INVITE' && this.isEmergency(req.uri);
      if (!emergency && this.overRate(source, req.method)) {
        const max = this.o.config.rateViolationsToBan;
        if (max > 0 && this.violations.add(source, this.now()) >= max) this.ban(source, 'flood');
        return refuse('rate');
      }
      if (req.method === 'INVITE') {
        if (!emergency) {
          const retry = { 'Retry-After': String(this.o.config.retryAfterSeconds) };
          if (this.inSetup.size >= this.o.config.maxCallsInSetup) {
            this.o.metrics.overload.inc({ cause: 'calls-in-setup' });
            return void res.send(503, 'Service Unavailable', { headers: { ...retry, Reason: 'SIP;cause=503;text="overload: calls in setup"' } });
          }
          if (this.o.mediaAvailable && !this.o.mediaAvailable()) {
            this.o.metrics.overload.inc({ cause: 'no-media' });
            return void res.send(503, 'Service Unavailable', { headers: { ...retry, Reason: 'SIP;cause=503;text="no media capacity"' } });
          }
        } else this.o.metrics.emergency.inc();
        this.trackSetup(req, res);
        return next();
      }
      if (req.method === 'REGISTER') return void this.checkRegister(req, res, source).then((pass) => pass && next(), next);
      return next();
    };
  }

  /** REGISTER: count unknown users; a locked user's credentials get the same 403 as a wrong password. */
  private async checkRegister(req: Srf.SrfRequest, res: Srf.SrfResponse, source: string): Promise<boolean> {
    const to = req.get('To');
    const domain = hostOf(to);
    const username = userOf(to);
    const key = SipFirewall.userKey(domain, username);
    if (this.o.repo) {
      const tenantId = await this.o.repo.tenantByDomain(domain);
      const user = tenantId ? await this.o.repo.getUser(tenantId, username) : undefined;
      if (!user) this.unknownUser(source, `${username}@${domain}`);
      if (this.isBanned(source)) {
        this.drop('banned');
        return false;
      }
    }
    if (req.has('Authorization')) {
      if (this.isLocked(key)) {
        this.authFailure(source, key);
        res.send(403);
        return false;
      }
      this.watchRegister(req, res, source, key);
    }
    return true;
  }
}
