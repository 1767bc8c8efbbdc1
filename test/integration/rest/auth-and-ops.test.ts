import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { basic, call, expectError, newTenant } from './helpers.js';

describe('REST: ops endpoints', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform();
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('answers /healthz and /readyz without credentials', async () => {
    expect(await call(p, 'GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await call(p, 'GET', '/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
  });

  it('serves Prometheus metrics including the request counter', async () => {
    const { apiKey } = await newTenant(p);
    await call(p, 'GET', '/v1/rooms', { key: apiKey });
    const res = await p.api('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('# TYPE cpaas_http_requests_total counter');
    expect(text).toMatch(/cpaas_http_requests_total\{route="\/v1\/rooms",status="2xx"\} [1-9]/);
    expect(text).toContain('# TYPE cpaas_http_request_duration_seconds histogram');
  });

  it('serves the OpenAPI document and the interactive docs', async () => {
    const doc = await call(p, 'GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.0.3');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/rooms', '/v1/tenants', '/v1/rooms/{roomId}/invites', '/v1/tokens']));
    const ui = await p.api('/docs/', { redirect: 'follow' });
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toMatch(/text\/html/);
    expect(await ui.text()).toMatch(/swagger/i);
  });

  it('answers 503 on /readyz when storage is down', async () => {
    const real = p.services.checkStorage;
    p.services.checkStorage = async () => {
      throw new Error('ECONNREFUSED');
    };
    try {
      expect(await call(p, 'GET', '/readyz')).toMatchObject({ status: 503, body: { status: 'storage unavailable' } });
    } finally {
      p.services.checkStorage = real;
    }
  });
});

describe('REST: authentication and errors', () => {
  let p: TestPlatform;
  let tenant: { tenantId: string; apiKey: string; keyId: string };
  beforeAll(async () => {
    p = await startTestPlatform();
    tenant = await newTenant(p, 'auth');
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('rejects missing and malformed credentials with 401 NOT_AUTHENTICATED', async () => {
    const cases: Array<string | undefined> = [
      undefined,
      '',
      'Bearer',
      'Token abc',
      'Bearer not-a-key',
      'Bearer a.b',
      'Bearer UPPER.0123456789abcdef.secret',
      `Bearer ${tenant.keyId}.`,
      'Basic !!!',
      basic('', 'x'),
      basic('no-dot', 'secret'),
    ];
    for (const header of cases) {
      const res = await p.api('/v1/rooms', header === undefined ? {} : { headers: { authorization: header } });
      const body = (await res.json()) as { code: string; retryable: boolean };
      expect({ header, status: res.status, code: body.code }).toEqual({ header, status: 401, code: 'NOT_AUTHENTICATED' });
      expect(body.retryable).toBe(false);
    }
  });

  it('rejects a wrong secret, Bearer and Basic alike', async () => {
    const wrong = `${tenant.keyId}.${'x'.repeat(43)}`;
    await expectError(call(p, 'GET', '/v1/rooms', { key: wrong }), 401, 'NOT_AUTHENTICATED');
    const res = await p.api('/v1/rooms', { headers: { authorization: basic(tenant.keyId, 'wrong') } });
    expect(res.status).toBe(401);
    // a well-formed key of an unknown tenant
    await expectError(call(p, 'GET', '/v1/rooms', { key: `ghost.0123456789abcdef.${'y'.repeat(43)}` }), 401, 'NOT_AUTHENTICATED');
    // the right key still works (and Basic with the right secret)
    expect((await call(p, 'GET', '/v1/rooms', { key: tenant.apiKey })).status).toBe(200);
    const secret = tenant.apiKey.slice(tenant.keyId.length + 1);
    expect((await p.api('/v1/rooms', { headers: { authorization: basic(tenant.keyId, secret) } })).status).toBe(200);
  });

  it('rejects a revoked key and keys of a disabled tenant', async () => {
    const t = await newTenant(p, 'revoke-me');
    expect((await call(p, 'DELETE', `/v1/tenants/${t.tenantId}/keys/${t.keyId}`, { key: p.adminKey })).status).toBe(200);
    await expectError(call(p, 'GET', '/v1/rooms', { key: t.apiKey }), 401, 'NOT_AUTHENTICATED');

    const d = await newTenant(p, 'disable-me');
    expect((await call(p, 'DELETE', `/v1/tenants/${d.tenantId}`, { key: p.adminKey })).status).toBe(200);
    await expectError(call(p, 'GET', '/v1/rooms', { key: d.apiKey }), 403, 'NOT_AUTHORIZED');
  });

  it('keeps admin routes and tenant routes apart', async () => {
    const forbidden = await expectError(call(p, 'GET', '/v1/tenants', { key: tenant.apiKey }), 403, 'NOT_AUTHORIZED');
    expect(forbidden.message).toMatch(/admin/);
    await expectError(call(p, 'POST', '/v1/tenants', { key: tenant.apiKey, json: { name: 'evil' } }), 403, 'NOT_AUTHORIZED');
    await expectError(call(p, 'GET', `/v1/tenants/${tenant.tenantId}/keys`, { key: tenant.apiKey }), 403, 'NOT_AUTHORIZED');
    await expectError(call(p, 'DELETE', `/v1/tenants/${tenant.tenantId}`, { key: tenant.apiKey }), 403, 'NOT_AUTHORIZED');
    const needsTenant = await expectError(call(p, 'GET', '/v1/rooms', { key: p.adminKey }), 403, 'NOT_AUTHORIZED');
    expect(needsTenant.message).toMatch(/tenant/);
    await expectError(call(p, 'POST', '/v1/tokens', { key: p.adminKey, json: { identity: 'x' } }), 403, 'NOT_AUTHORIZED');
    await expectError(call(p, 'GET', '/v1/keys', { key: p.adminKey }), 403, 'NOT_AUTHORIZED');
    await expectError(call(p, 'GET', '/v1/tenants', { key: `${p.adminKey}x` }), 401, 'NOT_AUTHENTICATED');
    // the admin key is not accepted through Basic
    expect((await p.api('/v1/tenants', { headers: { authorization: basic('admin', p.adminKey) } })).status).toBe(401);
  });

  it('answers unknown routes with 404 ROUTE_NOT_FOUND (after authentication under /v1)', async () => {
    await expectError(call(p, 'GET', '/nope'), 404, 'ROUTE_NOT_FOUND');
    await expectError(call(p, 'GET', '/v1/nope', { key: tenant.apiKey }), 404, 'ROUTE_NOT_FOUND');
    await expectError(call(p, 'PUT', '/v1/rooms', { key: tenant.apiKey, json: {} }), 404, 'ROUTE_NOT_FOUND');
    await expectError(call(p, 'GET', '/v1/nope'), 401, 'NOT_AUTHENTICATED');
  });

  it('answers oversized bodies with 413 PAYLOAD_TOO_LARGE and bad JSON with 400', async () => {
    const big = { name: 'big', metadata: { blob: 'x'.repeat(300 * 1024) } };
    await expectError(call(p, 'POST', '/v1/rooms', { key: tenant.apiKey, json: big }), 413, 'PAYLOAD_TOO_LARGE');
    const res = await p.api('/v1/rooms', { method: 'POST', key: tenant.apiKey, headers: { 'content-type': 'application/json' }, body: '{"name": ' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('INVALID_PAYLOAD');
    const missing = await expectError(call(p, 'POST', '/v1/rooms', { key: tenant.apiKey, json: {} }), 400, 'INVALID_PAYLOAD');
    expect(missing.field).toBe('body/name');
  });

  it('never leaks internal error messages', async () => {
    const real = p.services.rooms.list.bind(p.services.rooms);
    p.services.rooms.list = async () => {
      throw new Error('secret connection string postgres://user:pw@db');
    };
    try {
      const err = await expectError(call(p, 'GET', '/v1/rooms', { key: tenant.apiKey }), 500, 'INTERNAL');
      expect(err.message).toBe('Internal Server Error');
    } finally {
      p.services.rooms.list = real;
    }
  });
});

describe('REST: per-tenant rate limit', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform({ overrides: { limits: { restRequestsPerMinutePerTenant: 5 } } });
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('answers 429 RATE_LIMITED after the limit, per tenant; admin and health are not limited', async () => {
    const a = await newTenant(p, 'limited-a');
    const b = await newTenant(p, 'limited-b');
    for (let i = 0; i < 5; i++) {
      const ok = await call(p, 'GET', '/v1/rooms', { key: a.apiKey });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-ratelimit-limit')).toBe('5');
    }
    const limited = await expectError(call(p, 'GET', '/v1/rooms', { key: a.apiKey }), 429, 'RATE_LIMITED');
    expect(limited.retryable).toBe(true);
    const again = await call(p, 'GET', '/v1/rooms', { key: a.apiKey });
    expect(again.status).toBe(429);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
    // another key of the same tenant shares the budget
    const second = await call(p, 'POST', `/v1/tenants/${a.tenantId}/keys`, { key: p.adminKey, json: { name: 'second' } });
    await expectError(call(p, 'GET', '/v1/rooms', { key: second.body.token }), 429, 'RATE_LIMITED');
    // tenant B has its own budget
    expect((await call(p, 'GET', '/v1/rooms', { key: b.apiKey })).status).toBe(200);
    // admin calls and health checks are not limited
    for (let i = 0; i < 7; i++) expect((await call(p, 'GET', '/v1/tenants', { key: p.adminKey })).status).toBe(200);
    for (let i = 0; i < 7; i++) expect((await call(p, 'GET', '/healthz')).status).toBe(200);
  });
});
