/**
 * Unit tests of runtime/sbc/security/*: token buckets, window counters, prefix matching, ban escalation and expiry,
 * digest lockout, shared-ban adoption, the call guard (lists, destination policy, CAC, emergency, alerts), the
 * security.alert notifier, and the LI / capture helpers (target matching, collector SDP, pcap round trip).
 */
import { describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { Value } from 'typebox/value';
import { TokenBucket, WindowCounter, DistinctCounter, longestPrefix, digits } from '../../../runtime/sbc/security/limits.js';
import { SipFirewall, createSecurityMetrics, type SharedBanStore } from '../../../runtime/sbc/security/firewall.js';
import { CallGuard, type SecurityAlert } from '../../../runtime/sbc/security/call-guard.js';
import { SecurityConfig } from '../../../runtime/sbc/security/config.js';
import { createSecurityAlertNotifier } from '../../../runtime/sbc/security/alerts.js';
import { MetricsRegistry } from '../../../runtime/core/metrics.js';
import { EMPTY_LISTS, EMPTY_POLICY, type SecurityLists, type SecurityPolicy, type SharedBan, type LiTarget } from '../../../runtime/core/storage/security.js';
import { verifyWebhook, WebhookSender } from '../../../runtime/core/webhooks.js';
import { partyMatches, addressOf } from '../../../runtime/sbc/li/monitor.js';
import { collectorSdp } from '../../../runtime/sbc/li/fork.js';
import { readPcap, writePcap, SipTap } from '../../../runtime/sbc/capture/capture.js';
import type { Caller } from '../../../runtime/sbc/auth/admission.js';

const log = pino({ level: 'silent' });
const clockAt = (t = 1_000_000) => {
  const c = { t, now: () => c.t };
  return c;
};
const cfg = (o: Partial<SecurityConfig> = {}) => Value.Default(SecurityConfig, Value.Clone(o)) as SecurityConfig;
const firewall = (o: { config?: Partial<SecurityConfig>; clock?: { now(): number }; lists?: SecurityLists; policy?: SecurityPolicy; shared?: SharedBanStore; onBan?: () => void } = {}) => {
  const metrics = createSecurityMetrics(new MetricsRegistry());
  const fw = new SipFirewall({
    config: cfg({ listCacheSeconds: 0, ...o.config }), clock: o.clock ?? clockAt(), log, metrics,
    source: { tenantLists: async () => o.lists ?? EMPTY_LISTS, globalLists: async () => EMPTY_LISTS, policy: async () => o.policy ?? EMPTY_POLICY },
    ...(o.shared ? { shared: { store: o.shared, instanceId: 'me', pollMs: 60_000 } } : {}),
    ...(o.onBan ? { onBan: o.onBan } : {}),
  });
  return { fw, metrics };
};

describe('limits', () => {
  it('token bucket: burst, then the sustained rate', () => {
    const b = new TokenBucket(2, 3, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.take(400)).toBe(false);
    expect(b.take(500)).toBe(true);
    expect(b.full(500)).toBe(false);
    expect(b.full(5000)).toBe(true);
  });
  it('window counter forgets old events; distinct counter counts values', () => {
    const w = new WindowCounter(1000);
    expect(w.add('a', 0)).toBe(1);
    expect(w.add('a', 500)).toBe(2);
    expect(w.add('a', 1200)).toBe(2);
    expect(w.count('a', 2600)).toBe(0);
    w.prune(2600);
    expect(w.size).toBe(0);
    const d = new DistinctCounter(1000);
    expect(d.add('s', 'x', 0)).toBe(1);
    expect(d.add('s', 'x', 10)).toBe(1);
    expect(d.add('s', 'y', 20)).toBe(2);
    expect(d.add('s', 'z', 1500)).toBe(1);
  });
  it('prefixes: longest match; digits', () => {
    expect(longestPrefix('4490012', ['44', '4490', '1'])).toBe('4490');
    expect(longestPrefix('33', ['44'])).toBeUndefined();
    expect(digits('+44 20-7946')).toBe('44207946');
  });
});

describe('SipFirewall', () => {
  it('bans escalate (doubling, capped), expire, and can be lifted', () => {
    const clock = clockAt();
    const { fw, metrics } = firewall({ clock, config: { banSeconds: 10, maxBanSeconds: 25 } });
    fw.ban('192.0.2.1', 'flood');
    expect(fw.isBanned('192.0.2.1')).toBe(true);
    clock.t += 10_001;
    expect(fw.isBanned('192.0.2.1')).toBe(false);
    (fw as unknown as { sweep(): void }).sweep();
    fw.ban('192.0.2.1', 'flood');
    expect(fw.listBans()[0]).toMatchObject({ offence: 2, until: new Date(clock.t + 20_000).toISOString() });
    expect(fw.unban('192.0.2.1')).toBe(true);
    fw.ban('192.0.2.1', 'flood');
    expect(fw.listBans()[0]).toMatchObject({ offence: 3, until: new Date(clock.t + 25_000).toISOString() });
    expect(metrics.bans.get({ reason: 'flood' })).toBe(3);
    fw.close();
  });
  it('digest lockout per user; per-source failures ban with the attacked domain', () => {
    const onBan = vi.fn();
    const { fw } = firewall({ config: { authFailuresPerUser: 3, authFailuresPerSource: 5, lockSeconds: 60 }, onBan });
    for (let i = 0; i < 3; i++) fw.authFailure('192.0.2.9', 'd.example|alice');
    expect(fw.isLocked('d.example|alice')).toBe(true);
    expect(fw.isBanned('192.0.2.9')).toBe(false);
    for (let i = 0; i < 2; i++) fw.authFailure('192.0.2.9', 'd.example|bob');
    expect(fw.isBanned('192.0.2.9')).toBe(true);
    expect(onBan).toHaveBeenCalledWith(expect.objectContaining({ source: '192.0.2.9', reason: 'auth-failures', domain: 'd.example' }));
    expect(fw.unlock('d.example|alice')).toBe(true);
    fw.close();
  });
  it('unknown-user probing bans the source', () => {
    const { fw } = firewall({ config: { unknownUsersToBan: 3 } });
    fw.unknownUser('192.0.2.5', 'a@x');
    fw.unknownUser('192.0.2.5', 'a@x');
    fw.unknownUser('192.0.2.5', 'b@x');
    expect(fw.isBanned('192.0.2.5')).toBe(false);
    fw.unknownUser('192.0.2.5', 'c@x');
    expect(fw.isBanned('192.0.2.5')).toBe(true);
    fw.close();
  });
  it('shared bans: writes its own, adopts others’, drops adopted bans deleted from the store', async () => {
    const clock = clockAt(Date.now());
    const items = new Map<string, SharedBan>();
    const store: SharedBanStore = {
      put: async (b) => { items.set(b.source, b); },
      delete: async (s) => { items.delete(s); },
      list: async () => [...items.values()],
    };
    const { fw } = firewall({ clock, shared: store });
    fw.ban('192.0.2.1', 'scanner');
    await Promise.resolve();
    expect(items.get('192.0.2.1')).toMatchObject({ instanceId: 'me', reason: 'scanner' });
    items.set('192.0.2.2', { source: '192.0.2.2', reason: 'flood', until: clock.t + 60_000, offence: 1, instanceId: 'other' });
    await fw.syncShared();
    expect(fw.isBanned('192.0.2.2')).toBe(true);
    items.delete('192.0.2.2');
    await fw.syncShared();
    expect(fw.isBanned('192.0.2.2')).toBe(false);
    fw.unban('192.0.2.1');
    await Promise.resolve();
    expect(items.has('192.0.2.1')).toBe(false);
    fw.close();
  });
  it('emergency numbers', () => {
    const { fw } = firewall({ config: { emergencyNumbers: ['911', '112'] } });
    expect(fw.isEmergency('sip:911@x')).toBe(true);
    expect(fw.isEmergency('sip:+112@x')).toBe(true);
    expect(fw.isEmergency('sip:9110@x')).toBe(false);
    fw.close();
  });
});

describe('CallGuard', () => {
  const device = { kind: 'device', tenantId: 't1', user: { username: 'alice' } } as unknown as Caller;
  const carrier = { kind: 'carrier', tenantId: 't1', trunk: { id: 'tr1', countryCode: '1' } } as unknown as Caller;
  const guard = (o: Parameters<typeof firewall>[0] = {}) => {
    const { fw, metrics } = firewall(o);
    const alerts: SecurityAlert[] = [];
    return { g: new CallGuard({ firewall: fw, clock: o.clock ?? clockAt(), log, metrics, onAlert: (a) => alerts.push(a) }), alerts, fw };
  };
  it('destination policy: blocked premium range wins, allowed prefixes enforced, unusual destination alerts', async () => {
    const { g, alerts, fw } = guard({ policy: { ...EMPTY_POLICY, allowedPrefixes: ['1', '44'], blockedPrefixes: ['1900'], usualPrefixes: ['1'] } });
    const call = (to: string) => g.check({ caller: device, requestUri: `sip:${to}@x`, fromUri: 'sip:alice@x', source: '192.0.2.1' });
    expect(await call('+19005550000')).toMatchObject({ ok: false, status: 403, text: 'destination blocked' });
    expect(await call('+33123456789')).toMatchObject({ ok: false, status: 403, text: 'destination not allowed' });
    const ok = await call('+442079460000');
    expect(ok.ok).toBe(true);
    expect(alerts).toEqual([expect.objectContaining({ kind: 'unusual-destination', tenantId: 't1' })]);
    fw.close();
  });
  it('tenant lists and CAC (concurrency, CPS); emergency bypasses and still counts', async () => {
    const { g, fw } = guard({ lists: { ...EMPTY_LISTS, blockCallers: ['1666'] }, policy: { ...EMPTY_POLICY, maxConcurrent: 1 } });
    const call = (from: string, to = '+15550001') => g.check({ caller: carrier, requestUri: `sip:${to}@x`, fromUri: `sip:${from}@x`, source: '192.0.2.1' });
    expect(await call('+16665550000')).toMatchObject({ ok: false, text: 'caller number blocked' });
    const first = await call('+12125550100');
    expect(first.ok).toBe(true);
    expect(await call('+12125550100')).toMatchObject({ ok: false, status: 503, text: 'tenant concurrent call limit' });
    const em = await call('+12125550100', '911');
    expect(em).toMatchObject({ ok: true, emergency: true });
    expect(g.activeCalls('tenant:t1')).toBe(2);
    if (first.ok) first.release();
    if (em.ok) em.release();
    expect(g.activeCalls('tenant:t1')).toBe(0);
    fw.close();
  });
  it('calls per second per tenant and the calls-per-minute alert', async () => {
    const clock = clockAt();
    const { g, alerts, fw } = guard({ clock, policy: { ...EMPTY_POLICY, cps: 1, alertCallsPerMinute: 1 } });
    const call = () => g.check({ caller: carrier, requestUri: 'sip:+15550001@x', fromUri: 'sip:+12125550100@x', source: '192.0.2.1' });
    expect((await call()).ok).toBe(true);
    expect(await call()).toMatchObject({ ok: false, text: 'tenant calls per second limit' });
    clock.t += 1000;
    expect((await call()).ok).toBe(true);
    expect(alerts.map((a) => a.kind)).toEqual(['calls-per-minute']);
    fw.close();
  });
});

describe('security.alert notifier', () => {
  it('signs with the tenant secret, counts results, skips tenants without a webhook', async () => {
    const got: Array<{ url: string; headers: Record<string, string>; body: string }> = [];
    const fetchFn = (async (url: string, init: { headers: Record<string, string>; body: string }) => {
      got.push({ url, headers: init.headers, body: init.body });
      return new Response(null, { status: 204 });
    }) as unknown as typeof fetch;
    const webhooks = new WebhookSender({ log, fetch: fetchFn });
    const metrics = new MetricsRegistry();
    const n = createSecurityAlertNotifier({
      tenants: { get: async (id) => (id === 't1' ? { webhookUrl: 'http://hooks/t1' } : {}), webhookSecret: async () => 's3cret' },
      webhooks, log, metrics, tenantByDomain: async (d) => (d === 'd.example' ? 't1' : undefined),
    });
    n.alert({ tenantId: 't1', kind: 'calls-per-minute', data: { callsLastMinute: 9 } });
    n.alert({ tenantId: 't2', kind: 'unusual-destination', data: {} });
    n.ban({ source: '192.0.2.1', reason: 'auth-failures', seconds: 60, offence: 1, domain: 'd.example' });
    n.ban({ source: '192.0.2.2', reason: 'scanner', seconds: 60, offence: 1 });
    await new Promise((r) => setTimeout(r, 20));
    await n.idle();
    expect(got).toHaveLength(2);
    for (const g of got) expect(verifyWebhook('s3cret', g.headers['x-cpaas-timestamp'], g.body, g.headers['x-cpaas-signature'])).toBe(true);
    expect(got.map((g) => (JSON.parse(g.body) as { data: { kind: string } }).data.kind).sort()).toEqual(['ban', 'calls-per-minute']);
    expect(metrics.render()).toMatch(/security_alert_webhooks_total\{kind="unusual-destination",result="no-webhook"\} 1/);
    webhooks.close();
  });
});

describe('lawful interception and capture helpers', () => {
  const target = (match: LiTarget['match']): LiTarget => ({
    id: 'lit_1', match, validFrom: '2020-01-01T00:00:00Z', validUntil: '2030-01-01T00:00:00Z',
    collection: { media: { host: '127.0.0.1', port: 4000 }, eventsUrl: 'http://x' }, createdAt: '', updatedAt: '',
  });
  it('matches numbers in any format and SIP URIs', () => {
    const n = target({ kind: 'number', value: '+12125550100' });
    expect(partyMatches(n, '"x" <sip:+12125550100@1.2.3.4:5060>;tag=1')).toBe(true);
    expect(partyMatches(n, 'sip:2125550100@h')).toBe(true);
    expect(partyMatches(n, 'sip:12125550101@h')).toBe(false);
    const u = target({ kind: 'uri', value: 'sip:Alice@Example.com' });
    expect(partyMatches(u, '<sip:alice@example.com;transport=udp>')).toBe(true);
    expect(partyMatches(u, 'sip:bob@example.com')).toBe(false);
    expect(addressOf('<sips:a@b:5061>')).toBe('a@b:5061');
  });
  it('collector SDP answers each sendonly section with recvonly on port, port+2', () => {
    const offer = 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\nm=audio 30002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendonly\r\n';
    const sdp = collectorSdp(offer, '127.0.12.1', 25100);
    expect(sdp).toMatch(/m=audio 25100 RTP\/AVP 0 101\r\na=rtpmap:0 PCMU\/8000\r\na=rtpmap:101 telephone-event\/8000\r\na=recvonly/);
    expect(sdp).toMatch(/m=audio 25102 RTP\/AVP 0\r\na=rtpmap:0 PCMU\/8000\r\na=recvonly/);
    expect(sdp).toContain('c=IN IP4 127.0.12.1');
  });
  it('pcap round trip; the SIP tap keeps messages per Call-ID', () => {
    const tap = new SipTap(['10.0.0.1', 5060], { perCall: 2 });
    const seen: string[] = [];
    tap.add('INVITE sip:a@b SIP/2.0\r\nCall-ID: c1\r\n\r\n', ['1.2.3.4', 5060], ['10.0.0.1', 5060]);
    const stop = tap.watch(['c1'], (p) => seen.push(p.data.toString().slice(0, 6)));
    tap.add('SIP/2.0 200 OK\r\ni: c1\r\n\r\n', ['10.0.0.1', 5060], ['1.2.3.4', 5060]);
    tap.add('BYE sip:a@b SIP/2.0\r\nCall-ID: c1\r\n\r\n', ['1.2.3.4', 5060], ['10.0.0.1', 5060]);
    tap.add('OPTIONS sip:a@b SIP/2.0\r\nCall-ID: c2\r\n\r\n', ['1.2.3.4', 5060], ['10.0.0.1', 5060]);
    stop();
    expect(tap.messages('c1').map((p) => p.data.toString().slice(0, 6))).toEqual(['SIP/2.', 'BYE si']);
    expect(seen).toEqual(['SIP/2.', 'BYE si']);
    const pcap = writePcap([...tap.messages('c1'), { ts: 1, src: ['5.6.7.8', 1000], dst: ['9.9.9.9', 2000], data: Buffer.from([0x80, 0, 1, 2]) }]);
    const back = readPcap(pcap);
    expect(back).toHaveLength(3);
    expect(back[0]).toMatchObject({ src: ['5.6.7.8', 1000], dst: ['9.9.9.9', 2000] });
    expect(back[1]!.data.toString()).toMatch(/^SIP\/2\.0 200 OK/);
    tap.forget('c1');
    expect(tap.messages('c1')).toEqual([]);
  });
});
