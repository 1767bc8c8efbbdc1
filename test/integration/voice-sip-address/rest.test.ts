/**
 * SIP addresses of voice applications over REST (docs/voice.md § SIP addresses): CRUD of `sipAddresses`, the
 * index the SBC reads (`applicationBySipAddress`), conflicts both ways with SIP users, races, tenant isolation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { call, expectError, newTenant } from '../rest/helpers.js';

let p: TestPlatform;
let a: { tenantId: string; apiKey: string };
let b: { tenantId: string; apiKey: string };
const hook = 'https://example.com/voice';

const createApp = (key: string, name: string, sipAddresses?: string[]) =>
  call(p, 'POST', '/v1/applications', { key, json: { name, url: hook, ...(sipAddresses ? { sipAddresses } : {}) } });
const indexOf = (tenantId: string, name: string) => p.services.sip.applicationBySipAddress!(tenantId, name);

beforeAll(async () => {
  p = await startTestPlatform();
  a = await newTenant(p, 'sipaddr-a');
  b = await newTenant(p, 'sipaddr-b');
}, 60_000);

afterAll(async () => {
  await p?.stop();
});

describe('applications: sipAddresses', () => {
  it('create, get, replace (add/remove), delete keep the index in step', async () => {
    const c = await createApp(a.apiKey, 'support', ['support', 'help']);
    expect(c.status).toBe(201);
    expect(c.body.sipAddresses).toEqual(['support', 'help']);
    const id = c.body.id as string;
    expect((await call(p, 'GET', `/v1/applications/${id}`, { key: a.apiKey })).body.sipAddresses).toEqual(['support', 'help']);
    expect(await indexOf(a.tenantId, 'support')).toBe(id);
    expect(await indexOf(a.tenantId, 'help')).toBe(id);

    const put = await call(p, 'PUT', `/v1/applications/${id}`, { key: a.apiKey, json: { name: 'support', url: hook, sipAddresses: ['support', 'helpdesk'] } });
    expect(put.status).toBe(200);
    expect(put.body.sipAddresses).toEqual(['support', 'helpdesk']);
    expect(await indexOf(a.tenantId, 'help')).toBeUndefined();
    expect(await indexOf(a.tenantId, 'helpdesk')).toBe(id);
    // the released address is free for another application
    const other = await createApp(a.apiKey, 'help', ['help']);
    expect(other.status).toBe(201);

    // without sipAddresses: all released, the field disappears
    const cleared = await call(p, 'PUT', `/v1/applications/${id}`, { key: a.apiKey, json: { name: 'support', url: hook } });
    expect(cleared.body.sipAddresses).toBeUndefined();
    expect(await indexOf(a.tenantId, 'support')).toBeUndefined();
    expect(await indexOf(a.tenantId, 'helpdesk')).toBeUndefined();

    await call(p, 'PUT', `/v1/applications/${id}`, { key: a.apiKey, json: { name: 'support', url: hook, sipAddresses: ['support'] } });
    expect((await call(p, 'DELETE', `/v1/applications/${id}`, { key: a.apiKey })).status).toBe(204);
    expect(await indexOf(a.tenantId, 'support')).toBeUndefined();
    expect((await call(p, 'DELETE', `/v1/applications/${other.body.id}`, { key: a.apiKey })).status).toBe(204);
    expect(await indexOf(a.tenantId, 'help')).toBeUndefined();
  });

  it('an address used by another application: 409 SIP_ADDRESS_TAKEN, nothing half-written', async () => {
    const first = (await createApp(a.apiKey, 'sales', ['sales'])).body;
    const e = await expectError(createApp(a.apiKey, 'sales 2', ['sales-2', 'sales']), 409, 'SIP_ADDRESS_TAKEN');
    expect(e.field).toBe('body/sipAddresses/1');
    expect(e.message).toContain(first.id);
    expect(await indexOf(a.tenantId, 'sales-2')).toBeUndefined(); // the claim made before the conflict was released
    expect((await call(p, 'GET', '/v1/applications?limit=100', { key: a.apiKey })).body.items.filter((x: { name: string }) => x.name === 'sales 2')).toEqual([]);

    const second = (await createApp(a.apiKey, 'other', ['other'])).body;
    await expectError(call(p, 'PUT', `/v1/applications/${second.id}`, { key: a.apiKey, json: { name: 'other', url: hook, sipAddresses: ['other', 'sales'] } }), 409, 'SIP_ADDRESS_TAKEN');
    // the failed replace kept the application as it was
    expect((await call(p, 'GET', `/v1/applications/${second.id}`, { key: a.apiKey })).body.sipAddresses).toEqual(['other']);
    expect(await indexOf(a.tenantId, 'other')).toBe(second.id);
    expect(await indexOf(a.tenantId, 'sales')).toBe(first.id);
    await call(p, 'DELETE', `/v1/applications/${first.id}`, { key: a.apiKey });
    await call(p, 'DELETE', `/v1/applications/${second.id}`, { key: a.apiKey });
  });

  it('concurrent creates of one address: exactly one wins', async () => {
    const results = await Promise.all([1, 2, 3, 4].map((i) => createApp(a.apiKey, `race ${i}`, ['race'])));
    const ok = results.filter((r) => r.status === 201);
    expect(ok).toHaveLength(1);
    expect(results.filter((r) => r.status === 409).map((r) => (r.body as { code: string }).code)).toEqual(['SIP_ADDRESS_TAKEN', 'SIP_ADDRESS_TAKEN', 'SIP_ADDRESS_TAKEN']);
    expect(await indexOf(a.tenantId, 'race')).toBe(ok[0]!.body.id);
    await call(p, 'DELETE', `/v1/applications/${ok[0]!.body.id}`, { key: a.apiKey });
  });

  it('SIP users and SIP addresses never share a name (both ways)', async () => {
    expect((await call(p, 'POST', '/v1/sip/users', { key: a.apiKey, json: { username: 'alice', password: 'secret-password-1' } })).status).toBe(201);
    const e1 = await expectError(createApp(a.apiKey, 'alice line', ['alice']), 409, 'SIP_ADDRESS_IS_SIP_USER');
    expect(e1.field).toBe('body/sipAddresses/0');
    expect(await indexOf(a.tenantId, 'alice')).toBeUndefined();

    const app = (await createApp(a.apiKey, 'queue', ['queue'])).body;
    const e2 = await expectError(call(p, 'POST', '/v1/sip/users', { key: a.apiKey, json: { username: 'queue', password: 'secret-password-1' } }), 409, 'SIP_USERNAME_IS_SIP_ADDRESS');
    expect(e2.field).toBe('body/username');
    await expectError(call(p, 'GET', '/v1/sip/users/queue', { key: a.apiKey }), 404, 'NOT_FOUND');
    await expectError(call(p, 'PUT', `/v1/applications/${app.id}`, { key: a.apiKey, json: { name: 'queue', url: hook, sipAddresses: ['queue', 'alice'] } }), 409, 'SIP_ADDRESS_IS_SIP_USER');
    expect(await indexOf(a.tenantId, 'alice')).toBeUndefined();

    // once the application lets go of the address, the SIP user can be created
    await call(p, 'DELETE', `/v1/applications/${app.id}`, { key: a.apiKey });
    expect((await call(p, 'POST', '/v1/sip/users', { key: a.apiKey, json: { username: 'queue', password: 'secret-password-1' } })).status).toBe(201);
  });

  it('tenants are isolated: the same address in two tenants, another tenant’s SIP user does not conflict', async () => {
    expect((await call(p, 'POST', '/v1/sip/users', { key: b.apiKey, json: { username: 'frontdesk', password: 'secret-password-1' } })).status).toBe(201);
    const inA = (await createApp(a.apiKey, 'front desk', ['frontdesk', 'shared'])).body;
    const inB = await createApp(b.apiKey, 'shared', ['shared']);
    expect(inB.status).toBe(201);
    expect(await indexOf(a.tenantId, 'shared')).toBe(inA.id);
    expect(await indexOf(b.tenantId, 'shared')).toBe(inB.body.id);
    expect(await indexOf(b.tenantId, 'frontdesk')).toBeUndefined();
    await expectError(call(p, 'GET', `/v1/applications/${inA.id}`, { key: b.apiKey }), 404, 'NOT_FOUND');
    expect((await call(p, 'POST', '/v1/sip/users', { key: b.apiKey, json: { username: 'front', password: 'secret-password-1' } })).status).toBe(201);
  });

  it('validation: pattern, not a number, unique, at most 20', async () => {
    const bad = (sipAddresses: unknown) => expectError(call(p, 'POST', '/v1/applications', { key: a.apiKey, json: { name: 'x', url: hook, sipAddresses } }), 400, 'INVALID_PAYLOAD');
    expect((await bad(['has space'])).field).toMatch(/^body\/sipAddresses/);
    expect((await bad(['sip:support@example.com'])).field).toMatch(/^body\/sipAddresses/);
    expect((await bad(['+14155550100'])).field).toMatch(/^body\/sipAddresses/);
    expect((await bad(['4155550100'])).field).toMatch(/^body\/sipAddresses/);
    expect((await bad(['a', 'a'])).field).toMatch(/^body\/sipAddresses/);
    expect((await bad([''])).field).toMatch(/^body\/sipAddresses/);
    expect((await bad(Array.from({ length: 21 }, (_, i) => `line${i}`))).field).toMatch(/^body\/sipAddresses/);
    const twenty = await createApp(a.apiKey, 'twenty', Array.from({ length: 20 }, (_, i) => `line${i}`));
    expect(twenty.status).toBe(201);
    await call(p, 'DELETE', `/v1/applications/${twenty.body.id}`, { key: a.apiKey });
  });
});
