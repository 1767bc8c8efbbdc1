import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { basic, call, expectError, newTenant } from './helpers.js';

describe('REST: tenants and API keys', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform();
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('creates, lists and gets tenants with the admin key', async () => {
    // WHEN the admin creates a tenant with a chosen id
    const created = await call(p, 'POST', '/v1/tenants', { key: p.adminKey, json: { name: 'Acme', id: 'acme-co', webhookUrl: 'https://acme.example/hook' } });
    // THEN it is active and the webhook secret is shown once
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'acme-co', name: 'Acme', status: 'active', webhookUrl: 'https://acme.example/hook' });
    expect(created.body.webhookSecret).toMatch(/^[0-9a-z]{40}$/);

    const got = await call(p, 'GET', '/v1/tenants/acme-co', { key: p.adminKey });
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ id: 'acme-co', name: 'Acme', status: 'active', createdAt: created.body.createdAt, webhookUrl: 'https://acme.example/hook' });
    expect(got.body).not.toHaveProperty('webhookSecret');

    const list = await call(p, 'GET', '/v1/tenants?limit=100', { key: p.adminKey });
    expect(list.status).toBe(200);
    expect(list.body.items.map((t: { id: string }) => t.id)).toContain('acme-co');

    // a taken id is a conflict naming the field
    const dup = await expectError(call(p, 'POST', '/v1/tenants', { key: p.adminKey, json: { name: 'Again', id: 'acme-co' } }), 409, 'CONFLICT');
    expect(dup.field).toBe('/id');
    await expectError(call(p, 'GET', '/v1/tenants/nope-nope', { key: p.adminKey }), 404, 'TENANT_NOT_FOUND');
    const bad = await expectError(call(p, 'POST', '/v1/tenants', { key: p.adminKey, json: { name: 'x', id: 'Bad Id' } }), 400, 'INVALID_PAYLOAD');
    expect(bad.field).toBe('body/id');
  });

  it('pages through tenants with a cursor', async () => {
    for (let i = 0; i < 3; i++) await call(p, 'POST', '/v1/tenants', { key: p.adminKey, json: { name: `page-${i}` } });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await call(p, 'GET', `/v1/tenants?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { key: p.adminKey });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((t: { id: string }) => t.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 50);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(4);
  });

  it('creates, lists and revokes a tenant key (admin); the revoked key stops working', async () => {
    const { tenantId, apiKey } = await newTenant(p, 'keys-admin');
    const second = await call(p, 'POST', `/v1/tenants/${tenantId}/keys`, { key: p.adminKey, json: { name: 'ci' } });
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ tenantId, name: 'ci' });
    expect(second.body.token).toBe(`${second.body.id}.${second.body.secret}`);
    expect(second.body.id.startsWith(`${tenantId}.`)).toBe(true);

    const list = await call(p, 'GET', `/v1/tenants/${tenantId}/keys`, { key: p.adminKey });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(2);
    for (const k of list.body.items) {
      expect(k).not.toHaveProperty('secret');
      expect(k).not.toHaveProperty('secretHash');
    }

    expect((await call(p, 'GET', '/v1/rooms', { key: second.body.token })).status).toBe(200);
    const revoked = await call(p, 'DELETE', `/v1/tenants/${tenantId}/keys/${second.body.id}`, { key: p.adminKey });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    await expectError(call(p, 'GET', '/v1/rooms', { key: second.body.token }), 401, 'NOT_AUTHENTICATED');
    // the other key is unaffected
    expect((await call(p, 'GET', '/v1/rooms', { key: apiKey })).status).toBe(200);

    await expectError(call(p, 'POST', '/v1/tenants/no-such-tenant/keys', { key: p.adminKey, json: { name: 'x' } }), 404, 'TENANT_NOT_FOUND');
    await expectError(call(p, 'DELETE', `/v1/tenants/${tenantId}/keys/${tenantId}.0000000000000000`, { key: p.adminKey }), 404, 'NOT_FOUND');
  });

  it('lets a tenant manage its own keys (self-service)', async () => {
    const { tenantId, apiKey, keyId } = await newTenant(p, 'self-service');
    const created = await call(p, 'POST', '/v1/keys', { key: apiKey, json: { name: 'backend' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ tenantId, name: 'backend' });

    const defaultName = await call(p, 'POST', '/v1/keys', { key: apiKey, json: {} });
    expect(defaultName.status).toBe(201);
    expect(defaultName.body.name).toBe('default');

    const list = await call(p, 'GET', '/v1/keys', { key: created.body.token });
    expect(list.body.items.map((k: { id: string }) => k.id).sort()).toEqual([keyId, created.body.id, defaultName.body.id].sort());

    // Basic id:secret works like Bearer
    const viaBasic = await p.api('/v1/keys', { headers: { authorization: basic(created.body.id, created.body.secret) } });
    expect(viaBasic.status).toBe(200);

    const del = await call(p, 'DELETE', `/v1/keys/${created.body.id}`, { key: apiKey });
    expect(del.status).toBe(200);
    expect(del.body.revokedAt).toEqual(expect.any(String));
    await expectError(call(p, 'GET', '/v1/keys', { key: created.body.token }), 401, 'NOT_AUTHENTICATED');

    // a tenant may revoke the key it is using
    expect((await call(p, 'DELETE', `/v1/keys/${defaultName.body.id}`, { key: defaultName.body.token })).status).toBe(200);
    await expectError(call(p, 'GET', '/v1/keys', { key: defaultName.body.token }), 401, 'NOT_AUTHENTICATED');
    expect((await call(p, 'GET', '/v1/keys', { key: apiKey })).status).toBe(200);
  });

  it('disables a tenant: every key of it is rejected, the data stays', async () => {
    const { tenantId, apiKey } = await newTenant(p, 'to-disable');
    const room = await call(p, 'POST', '/v1/rooms', { key: apiKey, json: { name: 'kept' } });
    expect(room.status).toBe(201);

    const disabled = await call(p, 'DELETE', `/v1/tenants/${tenantId}`, { key: p.adminKey });
    expect(disabled.status).toBe(200);
    expect(disabled.body.status).toBe('disabled');
    expect((await call(p, 'GET', `/v1/tenants/${tenantId}`, { key: p.adminKey })).body.status).toBe('disabled');

    const err = await expectError(call(p, 'GET', `/v1/rooms/${room.body.id}`, { key: apiKey }), 403, 'NOT_AUTHORIZED');
    expect(err.message).toMatch(/disabled/);
    await expectError(call(p, 'POST', '/v1/tokens', { key: apiKey, json: { identity: 'alice' } }), 403, 'NOT_AUTHORIZED');
    expect(await p.services.rooms.get(tenantId, room.body.id)).toMatchObject({ name: 'kept' });

    await expectError(call(p, 'DELETE', '/v1/tenants/never-existed', { key: p.adminKey }), 404, 'TENANT_NOT_FOUND');
  });
});
