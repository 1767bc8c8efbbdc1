/**
 * Toll-fraud and call admission control for admitted INVITEs (after auth, before routing): emergency
 * numbers pass untouched; tenant block/allow lists (sources, caller and callee numbers); the tenant's
 * destination policy for device calls (allowed country prefixes, blocked premium ranges); calls per second
 * and concurrent calls per tenant and per trunk (503 with a Reason naming the limit); anomaly alerts.
 */
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logging.js';
import type { Caller } from '../auth/admission.js';
import { toE164, userOf } from '../routing/numbers.js';
import type { SipFirewall, SecurityMetrics } from './firewall.js';
import { TokenBucket, WindowCounter, digits, longestPrefix } from './limits.js';

export type CallVerdict =
  | { ok: true; emergency: boolean; maxCallSeconds?: number; release(): void }
  | { ok: false; status: 403 | 503; reason: string; text: string };

export interface SecurityAlert { tenantId: string; kind: 'calls-per-minute' | 'unusual-destination'; data: Record<string, unknown> }

export class CallGuard {
  private readonly cps = new Map<string, TokenBucket>();
  private readonly active = new Map<string, number>();
  private readonly perMinute = new WindowCounter(60_000, 100_000);
  private readonly alerted = new Map<string, number>();

  constructor(private readonly o: { firewall: SipFirewall; clock: Clock; log: Logger; metrics: SecurityMetrics; onAlert?: (a: SecurityAlert) => void }) {}

  /** Concurrent calls counted for `tenant:<id>` / `trunk:<id>`. */
  activeCalls(key: string): number {
    return this.active.get(key) ?? 0;
  }

  private refuse(status: 403 | 503, reason: string, text: string, tenantId: string): CallVerdict {
    this.o.metrics.callsRefused.inc({ reason: text });
    this.o.log.info({ tenantId, status, text }, 'call refused by security policy');
    return { ok: false, status, reason, text };
  }

  private takeCps(key: string, cps: number): boolean {
    const now = this.o.clock.now();
    let b = this.cps.get(key);
    if (!b) {
      b = new TokenBucket(cps, Math.max(1, Math.ceil(cps)), now);
      this.cps.set(key, b);
    }
    return b.take(now);
  }

  private hold(keys: string[]): () => void {
    for (const k of keys) this.active.set(k, (this.active.get(k) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const k of keys) {
        const n = (this.active.get(k) ?? 1) - 1;
        if (n <= 0) this.active.delete(k);
        else this.active.set(k, n);
      }
    };
  }

  private alert(a: SecurityAlert): void {
    const key = `${a.tenantId}|${a.kind}|${String(a.data.prefix ?? '')}`;
    const now = this.o.clock.now();
    if (now - (this.alerted.get(key) ?? -Infinity) < 60_000) return; // at most one per kind a minute
    this.alerted.set(key, now);
    if (this.alerted.size > 10_000) this.alerted.clear();
    this.o.metrics.alerts.inc({ kind: a.kind });
    this.o.log.warn({ tenantId: a.tenantId, kind: a.kind, ...a.data }, 'security alert');
    this.o.onAlert?.(a);
  }

  async check(c: { caller: Caller; requestUri: string; fromUri: string; source: string }): Promise<CallVerdict> {
    const fw = this.o.firewall;
    const { tenantId } = c.caller;
    const trunkId = c.caller.kind === 'carrier' ? c.caller.trunk.id : undefined;
    const keys = [`tenant:${tenantId}`, ...(trunkId ? [`trunk:${trunkId}`] : [])];
    if (fw.isEmergency(c.requestUri)) {
      this.o.log.info({ tenantId, to: userOf(c.requestUri) }, 'emergency call: limits bypassed');
      return { ok: true, emergency: true, release: this.hold(keys) };
    }
    const cfg = fw.config;
    const [lists, policy] = await Promise.all([fw.tenantLists(tenantId), fw.tenantPolicy(tenantId)]);
    const caller = digits(userOf(c.fromUri));
    const calleeUser = userOf(c.requestUri);
    const callee = /^\+?[0-9]+$/.test(calleeUser) ? digits(toE164(calleeUser, c.caller.kind === 'carrier' ? c.caller.trunk.countryCode : undefined) ?? calleeUser) : '';

    if (lists.block(c.source)) return this.refuse(403, 'Forbidden', 'source blocked by tenant', tenantId);
    if (lists.lists.allowCidrs.length > 0 && !lists.allow(c.source)) return this.refuse(403, 'Forbidden', 'source not in tenant allow-list', tenantId);
    const globalBlock = fw.blockedNumber(caller, callee);
    if (globalBlock || (caller && lists.lists.blockCallers.some((p) => caller.startsWith(p)))) {
      if (globalBlock !== 'callee') return this.refuse(403, 'Forbidden', 'caller number blocked', tenantId);
    }
    if (globalBlock === 'callee' || (callee && lists.lists.blockCallees.some((p) => callee.startsWith(p)))) {
      return this.refuse(403, 'Forbidden', 'called number blocked', tenantId);
    }

    if (c.caller.kind === 'device' && callee) {
      const blocked = longestPrefix(callee, policy.blockedPrefixes);
      const allowed = longestPrefix(callee, policy.allowedPrefixes);
      if (blocked !== undefined && (allowed === undefined || blocked.length >= allowed.length)) return this.refuse(403, 'Forbidden', 'destination blocked', tenantId);
      if (policy.allowedPrefixes.length > 0 && allowed === undefined) return this.refuse(403, 'Forbidden', 'destination not allowed', tenantId);
      if (policy.usualPrefixes.length > 0 && longestPrefix(callee, policy.usualPrefixes) === undefined) {
        this.alert({ tenantId, kind: 'unusual-destination', data: { prefix: callee.slice(0, 3), to: `+${callee}` } });
      }
    }

    const tenantCps = policy.cps || cfg.tenantCps;
    const tenantMax = policy.maxConcurrent || cfg.tenantMaxConcurrent;
    if (tenantMax > 0 && this.activeCalls(`tenant:${tenantId}`) >= tenantMax) return this.refuse(503, 'Service Unavailable', 'tenant concurrent call limit', tenantId);
    if (trunkId && cfg.trunkMaxConcurrent > 0 && this.activeCalls(`trunk:${trunkId}`) >= cfg.trunkMaxConcurrent) return this.refuse(503, 'Service Unavailable', 'trunk concurrent call limit', tenantId);
    if (tenantCps > 0 && !this.takeCps(`tenant:${tenantId}`, tenantCps)) return this.refuse(503, 'Service Unavailable', 'tenant calls per second limit', tenantId);
    if (trunkId && cfg.trunkCps > 0 && !this.takeCps(`trunk:${trunkId}`, cfg.trunkCps)) return this.refuse(503, 'Service Unavailable', 'trunk calls per second limit', tenantId);

    const perMinute = policy.alertCallsPerMinute || cfg.alertCallsPerMinute;
    const n = this.perMinute.add(tenantId, this.o.clock.now());
    if (perMinute > 0 && n > perMinute) this.alert({ tenantId, kind: 'calls-per-minute', data: { callsLastMinute: n, threshold: perMinute } });

    return { ok: true, emergency: false, ...(policy.maxCallSeconds ? { maxCallSeconds: policy.maxCallSeconds } : {}), release: this.hold(keys) };
  }
}
