import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { Db } from '../../../runtime/core/storage/db.js';
import { cidrMatcher, defaultSipDomain, DynamoSipRepository, parseCidr } from '../../../runtime/core/storage/sip.js';
import type { Registration, SipCallRecord, Trunk } from '../../../runtime/core/storage/sip-types.js';
import { newId } from '../../../runtime/core/ids.js';

/** A clock the test moves by hand (expiry filtering, TTL). */
const clock = { t: Date.parse('2030-01-01T00:00:00Z'), now() { return this.t; } };
const uniq = (p: string) => `${p}${Math.random().toString(36).slice(2, 8)}`;

const trunkInput = (tenantId: string, over: Partial<Trunk> = {}): Omit<Trunk, 'id' | 'createdAt'> => ({
  tenantId,
  name: 'carrier',
  enabled: true,
  inboundCidrs: [],
  gateways: [{ id: 'gw1', host: 'sip.carrier.example', port: 5060, transport: 'udp', priority: 10, cost: 1.5 }],
  numberFormat: 'e164',
  headerRules: [],
  ...over,
});

describe('CIDR matching', () => {
  it('matches IPv4 and IPv6 ranges, host routes and IPv4-mapped IPv6 sources', () => {
    const m = cidrMatcher(['10.1.0.0/16', '192.0.2.7', '2001:db8:abcd::/48']);
    expect(m('10.1.255.1')).toBe(true);
    expect(m('10.2.0.1')).toBe(false);
    expect(m('192.0.2.7')).toBe(true);
    expect(m('192.0.2.8')).toBe(false);
    expect(m('::ffff:10.1.2.3')).toBe(true);
    expect(m('2001:db8:abcd:12::1')).toBe(true);
    expect(m('[2001:db8:abcd::5]')).toBe(true);
    expect(m('2001:db8:abce::1')).toBe(false);
    expect(m('not-an-ip')).toBe(false);
    expect(cidrMatcher(['0.0.0.0/0'])('203.0.113.9')).toBe(true);
    expect(cidrMatcher(['2001:db8::/32'])('203.0.113.9')).toBe(false);
  });

  it('rejects malformed CIDRs with the field', () => {
    for (const bad of ['10.0.0.0/33', '2001:db8::/129', '10.0.0/8', 'host.example/24', '10.0.0.0/8/1', '10.0.0.0/x', '']) {
      expect(() => parseCidr(bad, 'body/inboundCidrs/0'), bad).toThrow(expect.objectContaining({ code: 'INVALID_PAYLOAD', details: { field: 'body/inboundCidrs/0' } }));
    }
    expect(parseCidr('2001:db8::/32')).toEqual({ family: 'ipv6', address: '2001:db8::', prefix: 32 });
    expect(parseCidr('198.51.100.1')).toEqual({ family: 'ipv4', address: '198.51.100.1', prefix: 32 });
  });
});

describe('DynamoSipRepository (dynalite)', () => {
  let p: TestPlatform;
  let repo: DynamoSipRepository;
  beforeAll(async () => {
    p = await startTestPlatform({ clock });
    repo = new DynamoSipRepository(new Db(p.aws.doc, p.config.tableName, clock));
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('stores HA1 = md5(username:realm:password) with the tenant domain as realm, never the password', async () => {
    const tid = uniq('t');
    const user = await repo.createUser({ tenantId: tid, username: 'alice', domain: '', password: 's3cret-pass', displayName: 'Alice', enabled: true });
    const expected = createHash('md5').update(`alice:${tid}.sip.cpaas.local:s3cret-pass`).digest('hex');
    expect(user).toMatchObject({ domain: defaultSipDomain(tid), ha1: expected, displayName: 'Alice' });
    expect(await repo.getUser(tid, 'alice')).toEqual(user);
    expect(JSON.stringify(await repo.getUser(tid, 'alice'))).not.toContain('s3cret-pass');
    expect(await repo.tenantByDomain(defaultSipDomain(tid))).toBe(tid);
    await expect(repo.createUser({ tenantId: tid, username: 'alice', domain: '', password: 'another-pass', enabled: true })).rejects.toMatchObject({ code: 'CONFLICT' });

    for (const u of ['bob', 'carol']) await repo.createUser({ tenantId: tid, username: u, domain: '', password: 'password1', enabled: true });
    const first = await repo.listUsers(tid, 2);
    expect(first.items.map((u) => u.username)).toEqual(['alice', 'bob']);
    const second = await repo.listUsers(tid, 2, first.nextCursor);
    expect(second.items.map((u) => u.username)).toEqual(['carol']);
    expect(second.nextCursor).toBeUndefined();
  });

  it('keeps several contacts per user and filters expired bindings on read', async () => {
    const tid = uniq('t');
    const now = Math.floor(clock.t / 1000);
    const reg = (contactId: string, expiresIn: number): Registration => ({
      tenantId: tid, username: 'alice', contactId, contact: `sip:alice@198.51.100.${contactId.length}:5060`,
      source: { address: '198.51.100.9', port: 40000, transport: 'udp' }, expiresAt: now + expiresIn, callId: `c-${contactId}`, cseq: 1,
    });
    await repo.putRegistration(reg('desk', 3600));
    await repo.putRegistration(reg('mobile', 60));
    await repo.putRegistration({ ...reg('gone', -1) });
    const live = await repo.registrations(tid, 'alice');
    expect(live.map((r) => r.contactId).sort()).toEqual(['desk', 'mobile']);
    expect(live.find((r) => r.contactId === 'desk')).toMatchObject({ expiresAt: now + 3600, source: { address: '198.51.100.9', port: 40000, transport: 'udp' } });

    clock.t += 120_000; // mobile's binding lapses
    try {
      expect((await repo.registrations(tid, 'alice')).map((r) => r.contactId)).toEqual(['desk']);
    } finally {
      clock.t -= 120_000;
    }
    await repo.putRegistration(reg('desk', 30)); // refresh replaces the binding
    expect((await repo.registrations(tid, 'alice')).find((r) => r.contactId === 'desk')?.expiresAt).toBe(now + 30);
    await repo.removeRegistration(tid, 'alice', 'desk');
    expect((await repo.registrations(tid, 'alice')).map((r) => r.contactId)).toEqual(['mobile']);
    await repo.deleteUser(tid, 'alice');
    expect(await repo.registrations(tid, 'alice')).toEqual([]);
  });

  it('gives one SIP domain to one tenant only and releases the old one on change', async () => {
    const a = uniq('ta');
    const b = uniq('tb');
    const domain = `${uniq('pbx')}.example.com`;
    await repo.setTenantDomain(a, domain.toUpperCase());
    expect(await repo.tenantDomain(a)).toBe(domain);
    expect(await repo.tenantByDomain(domain)).toBe(a);
    await repo.setTenantDomain(a, domain); // idempotent for the owner
    await expect(repo.setTenantDomain(b, domain)).rejects.toMatchObject({ code: 'CONFLICT' });
    const results = await Promise.allSettled([repo.setTenantDomain(a, `x.${domain}`), repo.setTenantDomain(b, `x.${domain}`)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);

    const c = uniq('tc');
    await repo.setTenantDomain(c, `c.${domain}`);
    await repo.setTenantDomain(c, `c2.${domain}`);
    expect(await repo.tenantByDomain(`c.${domain}`)).toBeUndefined();
    expect(await repo.tenantByDomain(`c2.${domain}`)).toBe(c);
    await repo.setTenantDomain(b, `c.${domain}`); // released, so free to claim
    expect(await repo.tenantByDomain(`c.${domain}`)).toBe(b);
  });

  it('identifies carriers by source address across tenants (IPv4, IPv6, disabled, removed)', async () => {
    const a = uniq('ta');
    const b = uniq('tb');
    const octet = 1 + Math.floor(Math.random() * 200);
    const t1 = await repo.createTrunk(trunkInput(a, { name: 'v4', inboundCidrs: [`100.${octet}.0.0/16`] }));
    const t2 = await repo.createTrunk(trunkInput(b, { name: 'v4-host', inboundCidrs: [`100.${octet}.7.7/32`, `2001:db8:${octet.toString(16)}::/48`] }));
    const t3 = await repo.createTrunk(trunkInput(b, { name: 'off', enabled: false, inboundCidrs: [`100.${octet}.0.0/16`] }));
    const ids = async (addr: string) => (await repo.trunksForSource(addr)).map((t) => t.id).filter((id) => [t1.id, t2.id, t3.id].includes(id)).sort();

    expect(await ids(`100.${octet}.1.1`)).toEqual([t1.id]);
    expect(await ids(`100.${octet}.7.7`)).toEqual([t1.id, t2.id].sort());
    expect(await ids(`::ffff:100.${octet}.7.7`)).toEqual([t1.id, t2.id].sort());
    expect(await ids(`2001:db8:${octet.toString(16)}:1::9`)).toEqual([t2.id]);
    expect(await ids(`2001:db8:${(octet + 1).toString(16)}::9`)).toEqual([]);
    expect(await ids(`101.${octet}.1.1`)).toEqual([]);
    const found = (await repo.trunksForSource(`100.${octet}.7.7`)).find((t) => t.id === t2.id);
    expect(found).toMatchObject({ tenantId: b, name: 'v4-host', gateways: [{ id: 'gw1' }] });

    await repo.updateTrunk(b, t3.id, { enabled: true });
    expect(await ids(`100.${octet}.1.1`)).toEqual([t1.id, t3.id].sort());
    await repo.updateTrunk(a, t1.id, { inboundCidrs: [] });
    await repo.deleteTrunk(b, t3.id);
    expect(await ids(`100.${octet}.1.1`)).toEqual([]);
    await expect(repo.updateTrunk(a, t3.id, { name: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(repo.createTrunk(trunkInput(a, { inboundCidrs: ['300.0.0.0/8'] }))).rejects.toMatchObject({ code: 'INVALID_PAYLOAD' });
  });

  it('keeps LCR data: routes by prefix with trunks, gateways with priority and cost', async () => {
    const tid = uniq('t');
    const cheap = await repo.createTrunk(trunkInput(tid, { name: 'cheap', gateways: [
      { id: 'g2', host: 'b.example', port: 5080, transport: 'tcp', priority: 20, cost: 0.5 },
      { id: 'g1', host: 'a.example', port: 5060, transport: 'udp', priority: 10, cost: 0.5 },
    ] }));
    const premium = await repo.createTrunk(trunkInput(tid, { name: 'premium', outboundAuth: { username: 'acct', password: 'carrier-pw' }, numberFormat: 'national', countryCode: '44' }));
    const r1 = await repo.createRoute({ tenantId: tid, prefix: '44', trunkId: cheap.id, priority: 1 });
    clock.t += 1;
    const r2 = await repo.createRoute({ tenantId: tid, prefix: '4420', trunkId: premium.id, priority: 1 });
    clock.t += 1;
    const r3 = await repo.createRoute({ tenantId: tid, prefix: '', trunkId: premium.id, priority: 5 });
    expect((await repo.listRoutes(tid)).map((r) => [r.prefix, r.trunkId])).toEqual([['44', cheap.id], ['4420', premium.id], ['', premium.id]]);
    expect((await repo.getTrunk(tid, cheap.id))?.gateways.map((g) => [g.id, g.priority, g.cost])).toEqual([['g2', 20, 0.5], ['g1', 10, 0.5]]);
    expect(await repo.getTrunk(tid, premium.id)).toMatchObject({ outboundAuth: { username: 'acct', password: 'carrier-pw' }, numberFormat: 'national', countryCode: '44' });
    await expect(repo.createRoute({ tenantId: tid, prefix: '+44', trunkId: cheap.id, priority: 1 })).rejects.toMatchObject({ code: 'INVALID_PAYLOAD' });
    await repo.deleteRoute(tid, r1.id);
    expect((await repo.listRoutes(tid)).map((r) => r.id)).toEqual([r2.id, r3.id]);
    expect(await repo.listRoutes(uniq('other'))).toEqual([]);

    // numbers: global lookup, one owner
    const e164 = `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    await repo.putNumber({ tenantId: tid, e164, destination: { type: 'sip-user', username: 'alice' } });
    expect(await repo.tenantByNumber(e164)).toMatchObject({ tenantId: tid, destination: { type: 'sip-user', username: 'alice' } });
    await repo.putNumber({ tenantId: tid, e164, destination: { type: 'trunk', trunkId: premium.id } });
    expect((await repo.tenantByNumber(e164))?.destination).toEqual({ type: 'trunk', trunkId: premium.id });
    await expect(repo.putNumber({ tenantId: uniq('other'), e164, destination: { type: 'identity', identity: 'x' } })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await repo.listNumbers(tid)).toHaveLength(1);
    await repo.deleteNumber(tid, e164);
    expect(await repo.tenantByNumber(e164)).toBeUndefined();
  });

  it('keeps an EMA of MOS per gateway (alpha 0.2) next to the probe status, also under concurrency', async () => {
    const tid = uniq('t');
    await repo.recordGatewayQuality(tid, 'tr1', 'g1', 4.0);
    let h = (await repo.gatewayHealth(tid))[0]!;
    expect(h).toMatchObject({ trunkId: 'tr1', gatewayId: 'g1', mosAverage: 4, calls: 1, status: 'up' });
    await repo.recordGatewayQuality(tid, 'tr1', 'g1', 3.0);
    h = (await repo.gatewayHealth(tid))[0]!;
    expect(h.mosAverage).toBeCloseTo(0.2 * 3 + 0.8 * 4, 3);
    await repo.putGatewayHealth({ tenantId: tid, trunkId: 'tr1', gatewayId: 'g1', status: 'down', lastCheckedAt: new Date(clock.t).toISOString(), consecutiveFailures: 3, calls: 0 });
    h = (await repo.gatewayHealth(tid))[0]!;
    expect(h).toMatchObject({ status: 'down', consecutiveFailures: 3, calls: 2, mosAverage: expect.closeTo(3.8, 3) }); // quality survives the probe write

    await repo.putGatewayHealth({ tenantId: tid, trunkId: 'tr1', gatewayId: 'g2', status: 'up', lastCheckedAt: new Date(clock.t).toISOString(), consecutiveFailures: 0, calls: 0 });
    await Promise.all([4.4, 4.4, 4.4, 4.4, 4.4].map((m) => repo.recordGatewayQuality(tid, 'tr1', 'g2', m)));
    const g2 = (await repo.gatewayHealth(tid)).find((x) => x.gatewayId === 'g2')!;
    expect(g2).toMatchObject({ calls: 5, mosAverage: 4.4, status: 'up' });
    await expect(repo.recordGatewayQuality(tid, 'tr1', 'g1', Number.NaN)).rejects.toMatchObject({ code: 'INVALID_PAYLOAD' });
  });

  it('lists media nodes until their heartbeat TTL lapses', async () => {
    const id = uniq('mn');
    await repo.heartbeatMediaNode({ id, ngHost: '127.0.0.1', ngPort: 22222, activeSessions: 3, capacity: 500 }, 30);
    expect((await repo.mediaNodes()).find((n) => n.id === id)).toMatchObject({ ngPort: 22222, activeSessions: 3, lastHeartbeat: new Date(clock.t).toISOString(), expiresAt: Math.floor(clock.t / 1000) + 30 });
    clock.t += 31_000;
    expect((await repo.mediaNodes()).find((n) => n.id === id)).toBeUndefined();
    await repo.heartbeatMediaNode({ id, ngHost: '127.0.0.1', ngPort: 22222, activeSessions: 0, capacity: 500 }, 30);
    expect((await repo.mediaNodes()).find((n) => n.id === id)).toMatchObject({ activeSessions: 0 });
  });

  it('writes SIP call records into the 1:1 call partition, merges sip fields on update, lists with filters', async () => {
    const tid = uniq('t');
    const sipCall = (over: Partial<SipCallRecord> = {}): SipCallRecord => ({
      id: newId('ca', (clock.t += 1000)), tenantId: tid, kind: 'sip', state: 'ringing',
      from: { identity: 'sip:+15550001@carrier' }, to: { identity: 'alice' }, media: { audio: true, video: false },
      createdAt: new Date(clock.t).toISOString(),
      sip: { direction: 'inbound', fromUri: 'sip:+15550001@carrier', toUri: 'sip:alice@x', trunkId: 'tr1' }, ...over,
    });
    const c1 = sipCall();
    await repo.putCall(c1);
    await expect(repo.putCall(c1)).rejects.toMatchObject({ code: 'CONFLICT' });
    await repo.updateCall(tid, c1.id, { state: 'active', answeredAt: new Date(clock.t).toISOString(), sip: { sipStatus: 200 } as SipCallRecord['sip'] });
    const got = await p.services.calls.get(tid, c1.id) as SipCallRecord;
    expect(got).toMatchObject({ state: 'active', sip: { direction: 'inbound', trunkId: 'tr1', sipStatus: 200, fromUri: 'sip:+15550001@carrier' } });
    await expect(repo.updateCall(tid, 'ca_missing', { state: 'ended' })).rejects.toMatchObject({ code: 'CALL_NOT_FOUND' });

    await p.services.calls.create({ id: newId('ca', (clock.t += 1000)), tenantId: tid, kind: 'webrtc', state: 'ended', from: { identity: 'a' }, to: { identity: 'b' }, media: { audio: true, video: true }, createdAt: new Date(clock.t).toISOString() });
    const c3 = sipCall({ kind: 'gateway', sip: { direction: 'outbound', fromUri: 'sip:a@x', toUri: 'sip:+4420@c', trunkId: 'tr2' } });
    await repo.putCall(c3);
    const all = await repo.listCalls(tid, {}, 10);
    expect(all.items.map((c) => c.kind)).toEqual(['gateway', 'webrtc', 'sip']);
    expect((await repo.listCalls(tid, { direction: 'outbound' }, 10)).items.map((c) => c.id)).toEqual([c3.id]);
    expect((await repo.listCalls(tid, { trunkId: 'tr1' }, 10)).items.map((c) => c.id)).toEqual([c1.id]);
    expect((await repo.listCalls(tid, { kind: 'webrtc' }, 10)).items).toHaveLength(1);
    const page1 = await repo.listCalls(tid, { kind: 'sip' }, 1);
    expect(page1.items.map((c) => c.id)).toEqual([c1.id]);
    expect(page1.nextCursor).toBeUndefined();
    const pageA = await repo.listCalls(tid, {}, 2);
    const pageB = await repo.listCalls(tid, {}, 2, pageA.nextCursor);
    expect([...pageA.items, ...pageB.items].map((c) => c.id)).toEqual(all.items.map((c) => c.id));
    expect(pageB.nextCursor).toBeUndefined();
  });
});
