import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { newId } from '../../../runtime/core/ids.js';
import type { SipCallRecord } from '../../../runtime/core/storage/sip-types.js';
import { call, expectError, newTenant } from './helpers.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const rnd = () => Math.random().toString(36).slice(2, 8);
const did = () => `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;

const trunkBody = {
  name: 'carrier A',
  inboundCidrs: ['203.0.113.0/24', '2001:db8:5::/48'],
  inboundDigest: { username: 'carrier', password: 'inbound-secret-1' },
  outboundAuth: { username: 'acct-42', password: 'outbound-secret-1' },
  gateways: [
    { host: 'sip1.carrier.example', port: 5060, transport: 'udp', priority: 10, cost: 0.8 },
    { id: 'backup', host: '198.51.100.10', port: 5061, transport: 'tls', priority: 20, cost: 1.2 },
  ],
  headerRules: [{ action: 'remove', header: 'X-Internal' }],
};

describe('REST: SIP users, trunks, routes, numbers, calls', () => {
  let p: TestPlatform;
  let key: string;
  let tenantId: string;
  let otherKey: string;
  beforeAll(async () => {
    p = await startTestPlatform();
    ({ apiKey: key, tenantId } = await newTenant(p, 'sip-a'));
    ({ apiKey: otherKey } = await newTenant(p, 'sip-b'));
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('gives the tenant a default SIP domain and lets it set a unique custom one', async () => {
    const { apiKey } = await newTenant(p, 'sip-domain');
    const d = await call(p, 'GET', '/v1/sip/domain', { key: apiKey });
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ isDefault: true, domain: expect.stringMatching(/\.sip\.cpaas\.local$/), registrar: `sip:${d.body.domain}` });
    const custom = `pbx-${rnd()}.example.com`;
    const set = await call(p, 'PUT', '/v1/sip/domain', { key: apiKey, json: { domain: custom.toUpperCase() } });
    expect(set.body).toEqual({ domain: custom, isDefault: false, registrar: `sip:${custom}`, addressOfRecord: `sip:<username>@${custom}` });
    await expectError(call(p, 'PUT', '/v1/sip/domain', { key: otherKey, json: { domain: custom } }), 409, 'CONFLICT');
    const bad = await expectError(call(p, 'PUT', '/v1/sip/domain', { key: apiKey, json: { domain: 'not a domain' } }), 400, 'INVALID_PAYLOAD');
    expect(bad.field).toBe('body/domain');
    // credentials are bound to the realm: no change while users exist
    await call(p, 'POST', '/v1/sip/users', { key: apiKey, json: { username: 'u1', password: 'password-1' } });
    await expectError(call(p, 'PUT', '/v1/sip/domain', { key: apiKey, json: { domain: `other-${custom}` } }), 409, 'CONFLICT');
    // …and so are trunks' inbound digest credentials
    const { apiKey: k2 } = await newTenant(p, 'sip-domain-2');
    await call(p, 'POST', '/v1/trunks', { key: k2, json: { name: 'digest', inboundDigest: { username: 'c', password: 'password-c' }, gateways: [{ host: 'gw.example' }] } });
    await expectError(call(p, 'PUT', '/v1/sip/domain', { key: k2, json: { domain: `two-${custom}` } }), 409, 'CONFLICT');
  });

  it('creates SIP users with HA1 over the tenant domain and never returns secrets', async () => {
    const created = await call(p, 'POST', '/v1/sip/users', { key, json: { username: 'alice', password: 'correct-horse', displayName: 'Alice', identity: 'alice@web' } });
    expect(created.status).toBe(201);
    const domain = (await call(p, 'GET', '/v1/sip/domain', { key })).body.domain;
    expect(created.body).toEqual({ username: 'alice', domain, displayName: 'Alice', identity: 'alice@web', enabled: true, createdAt: expect.any(String) });
    const stored = await p.services.sip.getUser(tenantId, 'alice');
    expect(stored?.ha1).toBe(md5(`alice:${domain}:correct-horse`));

    const got = await call(p, 'GET', '/v1/sip/users/alice', { key });
    expect(got.body).toEqual(created.body);
    await call(p, 'POST', '/v1/sip/users', { key, json: { username: 'bob', password: 'bob-password' } });
    const list = await call(p, 'GET', '/v1/sip/users?limit=1', { key });
    expect(list.body.items.map((u: { username: string }) => u.username)).toEqual(['alice']);
    const list2 = await call(p, 'GET', `/v1/sip/users?limit=1&cursor=${list.body.nextCursor}`, { key });
    expect(list2.body.items.map((u: { username: string }) => u.username)).toEqual(['bob']);
    for (const r of [created, got, list, list2]) {
      const text = JSON.stringify(r.body);
      expect(text).not.toMatch(/ha1|password|correct-horse|bob-password/);
    }

    await expectError(call(p, 'POST', '/v1/sip/users', { key, json: { username: 'alice', password: 'another-one' } }), 409, 'CONFLICT');
    const short = await expectError(call(p, 'POST', '/v1/sip/users', { key, json: { username: 'carol', password: 'short' } }), 400, 'INVALID_PAYLOAD');
    expect(short.field).toBe('body/password');
    const badName = await expectError(call(p, 'POST', '/v1/sip/users', { key, json: { username: 'has space', password: 'password-1' } }), 400, 'INVALID_PAYLOAD');
    expect(badName.field).toBe('body/username');
    const missing = await expectError(call(p, 'POST', '/v1/sip/users', { key, json: { username: 'dave' } }), 400, 'INVALID_PAYLOAD');
    expect(missing.field).toBe('body/password');

    // idempotent create
    const idem = { 'idempotency-key': `u-${rnd()}` };
    const a = await call(p, 'POST', '/v1/sip/users', { key, json: { username: 'erin', password: 'password-e' }, headers: idem });
    const b = await call(p, 'POST', '/v1/sip/users', { key, json: { username: 'erin', password: 'password-e' }, headers: idem });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get('idempotency-replayed')).toBe('true');
    expect(b.body).toEqual(a.body);
  });

  it('shows live registrations and deletes a user with its bindings', async () => {
    await call(p, 'POST', '/v1/sip/users', { key, json: { username: 'reg-user', password: 'password-r' } });
    const now = Math.floor(Date.now() / 1000);
    for (const [contactId, exp] of [['desk', 300], ['phone', 600], ['old', -5]] as const) {
      await p.services.sip.putRegistration({
        tenantId, username: 'reg-user', contactId, contact: `sip:reg-user@192.0.2.1:5060;ob=${contactId}`,
        source: { address: '192.0.2.1', port: 5060, transport: 'udp' }, expiresAt: now + exp, callId: `cid-${contactId}`, cseq: 2, userAgent: 'Phone/1.0',
      });
    }
    const regs = await call(p, 'GET', '/v1/sip/users/reg-user/registrations', { key });
    expect(regs.status).toBe(200);
    expect(regs.body.items.map((r: { contactId: string }) => r.contactId).sort()).toEqual(['desk', 'phone']);
    expect(regs.body.items[0]).toMatchObject({ source: { address: '192.0.2.1' }, expiresAt: expect.stringMatching(/Z$/), userAgent: 'Phone/1.0' });
    expect(regs.body.items[0].callId).toBeUndefined();

    const del = await call(p, 'DELETE', '/v1/sip/users/reg-user', { key });
    expect(del.status).toBe(204);
    await expectError(call(p, 'GET', '/v1/sip/users/reg-user', { key }), 404, 'NOT_FOUND');
    await expectError(call(p, 'GET', '/v1/sip/users/reg-user/registrations', { key }), 404, 'NOT_FOUND');
    await expectError(call(p, 'DELETE', '/v1/sip/users/reg-user', { key }), 404, 'NOT_FOUND');
    expect(await p.services.sip.registrations(tenantId, 'reg-user')).toEqual([]);
  });

  it('manages trunks: write-only secrets, CIDR validation, patch, health with MOS, delete guarded by references', async () => {
    const created = await call(p, 'POST', '/v1/trunks', { key, json: trunkBody });
    expect(created.status).toBe(201);
    const t = created.body;
    expect(t).toMatchObject({
      name: 'carrier A', enabled: true, inboundCidrs: ['203.0.113.0/24', '2001:db8:5::/48'], numberFormat: 'e164',
      inboundDigest: { username: 'carrier' }, outboundAuth: { username: 'acct-42' },
      gateways: [{ host: 'sip1.carrier.example', transport: 'udp', priority: 10, cost: 0.8 }, { id: 'backup', transport: 'tls', port: 5061 }],
      headerRules: [{ action: 'remove', header: 'X-Internal' }],
    });
    const secrets = /inbound-secret-1|outbound-secret-1|ha1|password/;
    expect(JSON.stringify(t)).not.toMatch(secrets);
    const stored = await p.services.sip.getTrunk(tenantId, t.id);
    const domain = (await call(p, 'GET', '/v1/sip/domain', { key })).body.domain;
    expect(stored?.inboundDigest).toEqual({ username: 'carrier', realm: domain, ha1: md5(`carrier:${domain}:inbound-secret-1`) });
    expect(stored?.outboundAuth?.password).toBe('outbound-secret-1');
    expect((await p.services.sip.trunksForSource('203.0.113.77')).map((x) => x.id)).toContain(t.id);

    const got = await call(p, 'GET', `/v1/trunks/${t.id}`, { key });
    expect(got.body).toEqual(t);
    const list = await call(p, 'GET', '/v1/trunks', { key });
    expect(list.body.items.map((x: { id: string }) => x.id)).toContain(t.id);
    expect(JSON.stringify(list.body)).not.toMatch(secrets);

    // validation names the field
    const badCidr = await expectError(call(p, 'POST', '/v1/trunks', { key, json: { ...trunkBody, inboundCidrs: ['203.0.113.0/24', '10.0.0.0/40'] } }), 400, 'INVALID_PAYLOAD');
    expect(badCidr.field).toBe('body/inboundCidrs/1');
    const badGw = await expectError(call(p, 'POST', '/v1/trunks', { key, json: { ...trunkBody, gateways: [{ host: 'x.example', port: 70000 }] } }), 400, 'INVALID_PAYLOAD');
    expect(badGw.field).toBe('body/gateways/0/port');
    const noGw = await expectError(call(p, 'POST', '/v1/trunks', { key, json: { ...trunkBody, gateways: [] } }), 400, 'INVALID_PAYLOAD');
    expect(noGw.field).toBe('body/gateways');
    const dupGw = await expectError(call(p, 'POST', '/v1/trunks', { key, json: { ...trunkBody, gateways: [{ id: 'a', host: 'x.example' }, { id: 'a', host: 'y.example' }] } }), 400, 'INVALID_PAYLOAD');
    expect(dupGw.field).toBe('body/gateways/1/id');
    const badRule = await expectError(call(p, 'POST', '/v1/trunks', { key, json: { ...trunkBody, headerRules: [{ action: 'rename', header: 'X-A' }] } }), 400, 'INVALID_PAYLOAD');
    expect(badRule.field).toBe('body/headerRules/0/newName');

    // patch: replace CIDRs, drop outbound auth, disable
    const patched = await call(p, 'PATCH', `/v1/trunks/${t.id}`, { key, json: { inboundCidrs: ['192.0.2.0/25'], outboundAuth: null, enabled: false, numberFormat: 'national', countryCode: '44' } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: t.id, inboundCidrs: ['192.0.2.0/25'], enabled: false, numberFormat: 'national', countryCode: '44', inboundDigest: { username: 'carrier' }, createdAt: t.createdAt });
    expect(patched.body.outboundAuth).toBeUndefined();
    expect((await p.services.sip.trunksForSource('203.0.113.77')).map((x) => x.id)).not.toContain(t.id);
    const emptyPatch = await expectError(call(p, 'PATCH', `/v1/trunks/${t.id}`, { key, json: {} }), 400, 'INVALID_PAYLOAD');
    expect(emptyPatch.field).toMatch(/^body/);
    await call(p, 'PATCH', `/v1/trunks/${t.id}`, { key, json: { enabled: true } });

    // health: unknown until probed, then status + MOS EMA
    const gw1 = t.gateways[0].id as string;
    let health = await call(p, 'GET', `/v1/trunks/${t.id}/health`, { key });
    expect(health.body).toEqual({ trunkId: t.id, gateways: [
      { gatewayId: gw1, host: 'sip1.carrier.example', port: 5060, status: 'unknown', consecutiveFailures: 0, calls: 0 },
      { gatewayId: 'backup', host: '198.51.100.10', port: 5061, status: 'unknown', consecutiveFailures: 0, calls: 0 },
    ] });
    await p.services.sip.putGatewayHealth({ tenantId, trunkId: t.id, gatewayId: 'backup', status: 'down', lastCheckedAt: new Date().toISOString(), consecutiveFailures: 2, calls: 0 });
    await p.services.sip.recordGatewayQuality(tenantId, t.id, gw1, 4.2);
    await p.services.sip.recordGatewayQuality(tenantId, t.id, gw1, 3.2);
    health = await call(p, 'GET', `/v1/trunks/${t.id}/health`, { key });
    expect(health.body.gateways[0]).toMatchObject({ gatewayId: gw1, status: 'up', calls: 2, mosAverage: expect.closeTo(4.0, 3) });
    expect(health.body.gateways[1]).toMatchObject({ gatewayId: 'backup', status: 'down', consecutiveFailures: 2, lastCheckedAt: expect.any(String) });

    // routes: digits only, trunk of the same tenant
    const route = await call(p, 'POST', '/v1/routes', { key, json: { prefix: '44', trunkId: t.id, priority: 5 } });
    expect(route.status).toBe(201);
    expect(route.body).toEqual({ id: expect.any(String), prefix: '44', trunkId: t.id, priority: 5, createdAt: expect.any(String) });
    const dflt = await call(p, 'POST', '/v1/routes', { key, json: { prefix: '', trunkId: t.id } });
    expect(dflt.body.priority).toBe(10);
    const badPrefix = await expectError(call(p, 'POST', '/v1/routes', { key, json: { prefix: '+44', trunkId: t.id } }), 400, 'INVALID_PAYLOAD');
    expect(badPrefix.field).toBe('body/prefix');
    const noTrunk = await expectError(call(p, 'POST', '/v1/routes', { key, json: { prefix: '1', trunkId: 'tr_nope' } }), 400, 'INVALID_PAYLOAD');
    expect(noTrunk.field).toBe('body/trunkId');
    expect((await call(p, 'GET', '/v1/routes', { key })).body.items.map((r: { id: string }) => r.id)).toEqual([route.body.id, dflt.body.id]);

    // delete is refused while routes point at the trunk
    await expectError(call(p, 'DELETE', `/v1/trunks/${t.id}`, { key }), 409, 'CONFLICT');
    expect((await call(p, 'DELETE', `/v1/routes/${route.body.id}`, { key })).status).toBe(204);
    expect((await call(p, 'DELETE', `/v1/routes/${dflt.body.id}`, { key })).status).toBe(204);
    await expectError(call(p, 'DELETE', `/v1/routes/${dflt.body.id}`, { key }), 404, 'NOT_FOUND');
    expect((await call(p, 'DELETE', `/v1/trunks/${t.id}`, { key })).status).toBe(204);
    await expectError(call(p, 'GET', `/v1/trunks/${t.id}`, { key }), 404, 'NOT_FOUND');
    await expectError(call(p, 'GET', `/v1/trunks/${t.id}/health`, { key }), 404, 'NOT_FOUND');
    expect((await p.services.sip.gatewayHealth(tenantId)).filter((h) => h.trunkId === t.id)).toEqual([]);
  });

  it('assigns numbers to destinations, one owner per number', async () => {
    await call(p, 'POST', '/v1/sip/users', { key, json: { username: 'desk', password: 'password-d' } });
    const n = did();
    const put = await call(p, 'PUT', `/v1/numbers/${n}`, { key, json: { destination: { type: 'sip-user', username: 'desk' } } });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ e164: n, destination: { type: 'sip-user', username: 'desk' }, createdAt: expect.any(String) });
    const again = await call(p, 'PUT', `/v1/numbers/${n}`, { key, json: { destination: { type: 'identity', identity: 'reception' } } });
    expect(again.body).toMatchObject({ destination: { type: 'identity', identity: 'reception' }, createdAt: put.body.createdAt });
    expect(await p.services.sip.tenantByNumber(n)).toMatchObject({ tenantId, destination: { type: 'identity' } });
    expect((await call(p, 'GET', `/v1/numbers/${n}`, { key })).body).toEqual(again.body);
    expect((await call(p, 'GET', `/v1/numbers/${encodeURIComponent(n)}`, { key })).body).toEqual(again.body);
    expect((await call(p, 'GET', '/v1/numbers', { key })).body.items.map((x: { e164: string }) => x.e164)).toContain(n);

    await expectError(call(p, 'PUT', `/v1/numbers/${n}`, { key: otherKey, json: { destination: { type: 'identity', identity: 'x' } } }), 409, 'CONFLICT');
    const badNum = await expectError(call(p, 'PUT', '/v1/numbers/5551234', { key, json: { destination: { type: 'identity', identity: 'x' } } }), 400, 'INVALID_PAYLOAD');
    expect(badNum.field).toBe('params/e164');
    const noUser = await expectError(call(p, 'PUT', `/v1/numbers/${did()}`, { key, json: { destination: { type: 'sip-user', username: 'ghost' } } }), 400, 'INVALID_PAYLOAD');
    expect(noUser.field).toBe('body/destination/username');
    const noTrunk = await expectError(call(p, 'PUT', `/v1/numbers/${did()}`, { key, json: { destination: { type: 'trunk', trunkId: 'tr_nope' } } }), 400, 'INVALID_PAYLOAD');
    expect(noTrunk.field).toBe('body/destination/trunkId');

    // a number pointing at a trunk keeps the trunk from being deleted
    const t = (await call(p, 'POST', '/v1/trunks', { key, json: { name: 'num-trunk', gateways: [{ host: 'gw.example' }] } })).body;
    const n2 = did();
    await call(p, 'PUT', `/v1/numbers/${n2}`, { key, json: { destination: { type: 'trunk', trunkId: t.id, number: '+442071234567' } } });
    await expectError(call(p, 'DELETE', `/v1/trunks/${t.id}`, { key }), 409, 'CONFLICT');
    expect((await call(p, 'DELETE', `/v1/numbers/${n2}`, { key })).status).toBe(204);
    expect((await call(p, 'DELETE', `/v1/trunks/${t.id}`, { key })).status).toBe(204);

    expect((await call(p, 'DELETE', `/v1/numbers/${n}`, { key })).status).toBe(204);
    await expectError(call(p, 'GET', `/v1/numbers/${n}`, { key }), 404, 'NOT_FOUND');
    expect(await p.services.sip.tenantByNumber(n)).toBeUndefined();
    // released: another tenant may take it now
    expect((await call(p, 'PUT', `/v1/numbers/${n}`, { key: otherKey, json: { destination: { type: 'identity', identity: 'x' } } })).status).toBe(200);
  });

  it('lists WebRTC and SIP calls together, newest first, with filters and correct pages', async () => {
    const { apiKey, tenantId: tid } = await newTenant(p, 'sip-calls');
    let t = Date.now() - 100_000;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      t += 1000;
      const base = { id: newId('ca', t), tenantId: tid, state: i % 3 === 0 ? 'ended' as const : 'active' as const, from: { identity: `from-${i}` }, to: { identity: `to-${i}` }, media: { audio: true, video: false }, createdAt: new Date(t).toISOString() };
      if (i % 2 === 0) await p.services.calls.create({ ...base, kind: 'webrtc' });
      else {
        const rec: SipCallRecord = { ...base, kind: i % 4 === 1 ? 'sip' : 'gateway', sip: { direction: i % 4 === 1 ? 'inbound' : 'outbound', fromUri: `sip:${i}@a`, toUri: `sip:${i}@b`, trunkId: i < 6 ? 'tr_a' : 'tr_b' } };
        await p.services.sip.putCall(rec);
      }
      ids.unshift(base.id);
    }
    const all = await call(p, 'GET', '/v1/calls?limit=100', { key: apiKey });
    expect(all.status).toBe(200);
    expect(all.body.items.map((c: { id: string }) => c.id)).toEqual(ids);
    expect(all.body.nextCursor).toBeUndefined();
    const sipOne = all.body.items.find((c: { kind: string }) => c.kind !== 'webrtc');
    expect(sipOne.sip).toMatchObject({ direction: expect.any(String), fromUri: expect.any(String) });

    // pages of a filtered listing: no gaps, no repeats
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await call(p, 'GET', `/v1/calls?limit=2&state=active${cursor ? `&cursor=${cursor}` : ''}`, { key: apiKey });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((c: { id: string }) => c.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 20);
    expect(seen).toEqual(all.body.items.filter((c: { state: string }) => c.state === 'active').map((c: { id: string }) => c.id));

    const q = async (qs: string) => (await call(p, 'GET', `/v1/calls?limit=100&${qs}`, { key: apiKey })).body.items as Array<{ id: string; kind: string; createdAt: string; sip?: { direction: string; trunkId?: string } }>;
    expect((await q('kind=webrtc')).every((c) => c.kind === 'webrtc')).toBe(true);
    expect((await q('kind=webrtc')).length).toBe(6);
    expect((await q('direction=outbound')).every((c) => c.sip?.direction === 'outbound')).toBe(true);
    expect((await q('trunkId=tr_b')).length).toBe(3);
    const mid = all.body.items[5].createdAt as string;
    expect((await q(`from=${encodeURIComponent(mid)}`)).length).toBe(6);
    expect((await q(`to=${encodeURIComponent(mid)}`)).length).toBe(6);
    const badDir = await expectError(call(p, 'GET', '/v1/calls?direction=sideways', { key: apiKey }), 400, 'INVALID_PAYLOAD');
    expect(badDir.field).toBe('querystring/direction');
    const badDate = await expectError(call(p, 'GET', '/v1/calls?from=yesterday', { key: apiKey }), 400, 'INVALID_PAYLOAD');
    expect(badDate.field).toBe('querystring/from');

    const one = await call(p, 'GET', `/v1/calls/${sipOne.id}`, { key: apiKey });
    expect(one.body).toEqual(sipOne);
    await expectError(call(p, 'GET', '/v1/calls/ca_missing', { key: apiKey }), 404, 'CALL_NOT_FOUND');
  });

  it("keeps tenants apart: B can neither read nor change A's users, trunks, routes, numbers or calls, nor use A's cursors", async () => {
    const { apiKey: a, tenantId: aId } = await newTenant(p, 'iso-a');
    const { apiKey: b } = await newTenant(p, 'iso-b');
    await call(p, 'POST', '/v1/sip/users', { key: a, json: { username: 'u1', password: 'password-1' } });
    await call(p, 'POST', '/v1/sip/users', { key: a, json: { username: 'u2', password: 'password-2' } });
    const trunk = (await call(p, 'POST', '/v1/trunks', { key: a, json: trunkBody })).body;
    const route = (await call(p, 'POST', '/v1/routes', { key: a, json: { prefix: '1', trunkId: trunk.id } })).body;
    const n = did();
    await call(p, 'PUT', `/v1/numbers/${n}`, { key: a, json: { destination: { type: 'sip-user', username: 'u1' } } });
    const callId = newId('ca');
    await p.services.calls.create({ id: callId, tenantId: aId, kind: 'webrtc', state: 'ended', from: { identity: 'x' }, to: { identity: 'y' }, media: { audio: true, video: false }, createdAt: new Date().toISOString() });
    await p.services.calls.create({ id: newId('ca'), tenantId: aId, kind: 'webrtc', state: 'ended', from: { identity: 'x' }, to: { identity: 'y' }, media: { audio: true, video: false }, createdAt: new Date().toISOString() });

    await expectError(call(p, 'GET', '/v1/sip/users/u1', { key: b }), 404, 'NOT_FOUND');
    await expectError(call(p, 'DELETE', '/v1/sip/users/u1', { key: b }), 404, 'NOT_FOUND');
    await expectError(call(p, 'GET', '/v1/sip/users/u1/registrations', { key: b }), 404, 'NOT_FOUND');
    expect((await call(p, 'GET', '/v1/sip/users', { key: b })).body.items).toEqual([]);
    await expectError(call(p, 'GET', `/v1/trunks/${trunk.id}`, { key: b }), 404, 'NOT_FOUND');
    await expectError(call(p, 'PATCH', `/v1/trunks/${trunk.id}`, { key: b, json: { enabled: false } }), 404, 'NOT_FOUND');
    await expectError(call(p, 'DELETE', `/v1/trunks/${trunk.id}`, { key: b }), 404, 'NOT_FOUND');
    await expectError(call(p, 'GET', `/v1/trunks/${trunk.id}/health`, { key: b }), 404, 'NOT_FOUND');
    expect((await call(p, 'GET', '/v1/trunks', { key: b })).body.items).toEqual([]);
    const r = await expectError(call(p, 'POST', '/v1/routes', { key: b, json: { prefix: '1', trunkId: trunk.id } }), 400, 'INVALID_PAYLOAD');
    expect(r.field).toBe('body/trunkId');
    await expectError(call(p, 'DELETE', `/v1/routes/${route.id}`, { key: b }), 404, 'NOT_FOUND');
    expect((await call(p, 'GET', '/v1/routes', { key: b })).body.items).toEqual([]);
    await expectError(call(p, 'GET', `/v1/numbers/${n}`, { key: b }), 404, 'NOT_FOUND');
    await expectError(call(p, 'DELETE', `/v1/numbers/${n}`, { key: b }), 404, 'NOT_FOUND');
    await expectError(call(p, 'PUT', `/v1/numbers/${n}`, { key: b, json: { destination: { type: 'identity', identity: 'evil' } } }), 409, 'CONFLICT');
    await expectError(call(p, 'PUT', `/v1/numbers/${did()}`, { key: b, json: { destination: { type: 'trunk', trunkId: trunk.id } } }), 400, 'INVALID_PAYLOAD');
    await expectError(call(p, 'GET', `/v1/calls/${callId}`, { key: b }), 404, 'CALL_NOT_FOUND');
    expect((await call(p, 'GET', '/v1/calls', { key: b })).body.items).toEqual([]);

    // A's data is intact
    expect((await call(p, 'GET', `/v1/trunks/${trunk.id}`, { key: a })).body.enabled).toBe(true);
    expect((await call(p, 'GET', `/v1/numbers/${n}`, { key: a })).body.destination).toEqual({ type: 'sip-user', username: 'u1' });

    // cursors are bound to the tenant's partition
    const usersPage = await call(p, 'GET', '/v1/sip/users?limit=1', { key: a });
    expect(usersPage.body.nextCursor).toEqual(expect.any(String));
    const c1 = await expectError(call(p, 'GET', `/v1/sip/users?limit=1&cursor=${usersPage.body.nextCursor}`, { key: b }), 400, 'INVALID_PAYLOAD');
    expect(c1.field).toBe('/cursor');
    const callsPage = await call(p, 'GET', '/v1/calls?limit=1', { key: a });
    expect(callsPage.body.nextCursor).toEqual(expect.any(String));
    await expectError(call(p, 'GET', `/v1/calls?limit=1&cursor=${callsPage.body.nextCursor}`, { key: b }), 400, 'INVALID_PAYLOAD');
    await expectError(call(p, 'GET', '/v1/calls?cursor=garbage', { key: b }), 400, 'INVALID_PAYLOAD');
  });

  it('needs a tenant API key', async () => {
    await expectError(call(p, 'GET', '/v1/trunks'), 401, 'NOT_AUTHENTICATED');
    await expectError(call(p, 'GET', '/v1/calls', { key: p.adminKey }), 403, 'NOT_AUTHORIZED');
  });
});
