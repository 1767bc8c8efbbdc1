/**
 * REST side of programmable voice: applications, number → application, POST/GET /v1/calls and modify, through
 * the real signalling process and the real SBC control routes (runtime/sbc/voice/control.ts) over a fake engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { AppError } from '../../../runtime/core/errors.js';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { call, expectError, newTenant } from '../rest/helpers.js';
import { startFakeSbc, type FakeVoiceEngine } from './support.js';

let p: TestPlatform;
let sbc: Awaited<ReturnType<typeof startFakeSbc>>;
let engine: FakeVoiceEngine;
let a: { tenantId: string; apiKey: string };
let b: { tenantId: string; apiKey: string };
const secret = randomBytes(16).toString('hex');

const menu = [
  { verb: 'gather', numDigits: 1, prompt: { tone: { frequencies: [440], durationMs: 300 } }, actionHook: 'https://example.com/menu' },
  { verb: 'hangup' },
];

beforeAll(async () => {
  sbc = await startFakeSbc(secret);
  engine = sbc.engine;
  p = await startTestPlatform({ overrides: { sbcControlUrl: sbc.url, gateway: { secret: { value: secret }, requestTimeoutMs: 2000 } } });
  a = await newTenant(p, 'voice-a');
  b = await newTenant(p, 'voice-b');
}, 60_000);

afterAll(async () => {
  await p?.stop();
  await sbc?.close();
});

describe('applications', () => {
  it('create, get, list, replace, delete', async () => {
    const c1 = await call(p, 'POST', '/v1/applications', { key: a.apiKey, json: { name: 'support', url: 'https://example.com/voice', statusCallback: { url: 'https://example.com/status' } } });
    expect(c1.status).toBe(201);
    expect(c1.body).toMatchObject({ name: 'support', url: 'https://example.com/voice', statusCallback: { url: 'https://example.com/status' } });
    expect(c1.body.id).toMatch(/^app_/);
    expect(c1.body.tenantId).toBeUndefined();
    const c2 = await call(p, 'POST', '/v1/applications', { key: a.apiKey, json: { name: 'menu', document: menu } });
    expect(c2.status).toBe(201);
    // defaults of the schema are filled in (gather.timeoutSeconds)
    expect(c2.body.document[0]).toMatchObject({ verb: 'gather', timeoutSeconds: 5 });

    expect((await call(p, 'GET', `/v1/applications/${c1.body.id}`, { key: a.apiKey })).body.name).toBe('support');
    const list = await call(p, 'GET', '/v1/applications?limit=10', { key: a.apiKey });
    expect(list.body.items.map((x: { id: string }) => x.id)).toEqual([c1.body.id, c2.body.id]);

    const put = await call(p, 'PUT', `/v1/applications/${c1.body.id}`, { key: a.apiKey, json: { name: 'support v2', document: [{ verb: 'hangup' }] } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ name: 'support v2', document: [{ verb: 'hangup' }], createdAt: c1.body.createdAt });
    expect(put.body.url).toBeUndefined();
    expect(put.body.statusCallback).toBeUndefined();

    expect((await call(p, 'DELETE', `/v1/applications/${c1.body.id}`, { key: a.apiKey })).status).toBe(204);
    await expectError(call(p, 'GET', `/v1/applications/${c1.body.id}`, { key: a.apiKey }), 404, 'NOT_FOUND');
    await expectError(call(p, 'PUT', `/v1/applications/${c1.body.id}`, { key: a.apiKey, json: { name: 'x', url: 'https://example.com' } }), 404, 'NOT_FOUND');
    // another tenant does not see it
    await expectError(call(p, 'GET', `/v1/applications/${c2.body.id}`, { key: b.apiKey }), 404, 'NOT_FOUND');
    expect((await call(p, 'GET', '/v1/applications', { key: b.apiKey })).body.items).toEqual([]);
  });

  it('POST supports Idempotency-Key', async () => {
    const json = { name: 'once', url: 'https://example.com/once' };
    const headers = { 'idempotency-key': 'app-once-1' };
    const r1 = await call(p, 'POST', '/v1/applications', { key: a.apiKey, json, headers });
    const r2 = await call(p, 'POST', '/v1/applications', { key: a.apiKey, json, headers });
    expect(r1.status).toBe(201);
    expect(r2.headers.get('idempotency-replayed')).toBe('true');
    expect(r2.body.id).toBe(r1.body.id);
    await call(p, 'DELETE', `/v1/applications/${r1.body.id}`, { key: a.apiKey });
  });

  it('validation errors name the field', async () => {
    const post = (json: unknown) => expectError(call(p, 'POST', '/v1/applications', { key: a.apiKey, json }), 400, 'INVALID_PAYLOAD');
    expect((await post({ name: 'x' })).field).toBe('body/url');
    expect((await post({ name: 'x', url: 'https://example.com', document: [{ verb: 'hangup' }] })).field).toBe('body/document');
    expect((await post({ name: 'x', url: 'ftp://example.com' })).field).toBe('body/url');
    // a bad field of the second verb: the exact path, not the union's first branch
    const e1 = await post({ name: 'x', document: [{ verb: 'answer' }, { verb: 'gather', timeoutSeconds: 500 }] });
    expect(e1.field).toBe('body/document/1/timeoutSeconds');
    expect(e1.message).toMatch(/gather/);
    expect((await post({ name: 'x', document: [{ verb: 'say', text: 'hi' }] })).field).toBe('body/document/0/verb');
    expect((await post({ name: 'x', document: [{ verb: 'dial', targets: [{ type: 'phone', number: 'abc' }] }] })).field).toBe('body/document/0/targets/0/number');
    expect((await post({ name: 'x', document: [{ verb: 'play', source: { tone: { frequencies: [440], durationMs: 100 } }, extra: 1 }] })).message).toMatch(/extra/);
    expect((await post({ name: 'x', document: [] })).field).toBe('body/document');
    expect((await post({ name: 'x', url: 'https://example.com', extra: true })).message).toMatch(/extra/);
  });
});

describe('numbers → applications', () => {
  it('maps a number to an application; checks it exists; refuses deleting a mapped application', async () => {
    const app = (await call(p, 'POST', '/v1/applications', { key: a.apiKey, json: { name: 'ivr', url: 'https://example.com/ivr' } })).body;
    const put = await call(p, 'PUT', '/v1/numbers/+14155550100', { key: a.apiKey, json: { destination: { type: 'application', applicationId: app.id } } });
    expect(put.status).toBe(200);
    expect(put.body.destination).toEqual({ type: 'application', applicationId: app.id });
    expect((await call(p, 'GET', '/v1/numbers/+14155550100', { key: a.apiKey })).body.destination.applicationId).toBe(app.id);
    // stored as the SBC reads it
    expect((await p.services.sip.getNumber(a.tenantId, '+14155550100'))?.destination).toEqual({ type: 'application', applicationId: app.id });

    const bad = (destination: unknown, tenant = a) => expectError(call(p, 'PUT', '/v1/numbers/+14155550101', { key: tenant.apiKey, json: { destination } }), 400, 'INVALID_PAYLOAD');
    expect((await bad({ type: 'application', applicationId: 'app_nope' })).field).toBe('body/destination/applicationId');
    expect((await bad({ type: 'application' })).field).toBe('body/destination/applicationId');
    expect((await bad({ type: 'application', applicationId: app.id, url: 'https://example.com' })).field).toBe('body/destination/applicationId');
    // another tenant's application is not found
    await bad({ type: 'application', applicationId: app.id }, b);
    // the URL form still works
    expect((await call(p, 'PUT', '/v1/numbers/+14155550102', { key: a.apiKey, json: { destination: { type: 'application', url: 'https://example.com/hook' } } })).status).toBe(200);

    const del = await expectError(call(p, 'DELETE', `/v1/applications/${app.id}`, { key: a.apiKey }), 409, 'CONFLICT');
    expect(del.message).toContain('+14155550100');
    await call(p, 'DELETE', '/v1/numbers/+14155550100', { key: a.apiKey });
    expect((await call(p, 'DELETE', `/v1/applications/${app.id}`, { key: a.apiKey })).status).toBe(204);
  });
});

describe('calls', () => {
  it('POST /v1/calls forwards to the SBC with a parsed target and the stored application', async () => {
    const app = (await call(p, 'POST', '/v1/applications', { key: a.apiKey, json: { name: 'out', url: 'https://example.com/out', fallbackUrl: 'https://example.com/out2', statusCallback: { url: 'https://example.com/st' } } })).body;
    const r = await call(p, 'POST', '/v1/calls', { key: a.apiKey, json: { to: 'user:alice', from: 'reception', applicationId: app.id, ringTimeoutSeconds: 20, timeLimitSeconds: 600, tag: { campaign: 'x', n: 1 } } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ callId: expect.stringMatching(/^ca_fake/), tenantId: a.tenantId, status: 'initiated', to: 'alice', muted: false });
    expect(engine.originated.at(-1)).toEqual({
      tenantId: a.tenantId, to: { type: 'user', name: 'alice' }, from: 'reception',
      application: { url: 'https://example.com/out', fallbackUrl: 'https://example.com/out2' }, statusCallback: { url: 'https://example.com/st' },
      ringTimeoutSeconds: 20, timeLimitSeconds: 600, tag: { campaign: 'x', n: 1 },
    });

    for (const [to, spec] of [
      ['+14155550123', { type: 'phone', number: '+14155550123' }],
      ['sip:bob@example.com', { type: 'sip', uri: 'sip:bob@example.com' }],
      ['identity:agent-7', { type: 'identity', identity: 'agent-7' }],
      [{ type: 'user', name: 'carol' }, { type: 'user', name: 'carol' }],
    ] as const) {
      const x = await call(p, 'POST', '/v1/calls', { key: a.apiKey, json: { to, from: 'reception', application: { document: [{ verb: 'hangup' }] }, statusCallback: { url: 'https://example.com/s2' } } });
      expect(x.status).toBe(201);
      expect(engine.originated.at(-1)).toMatchObject({ to: spec, application: { document: [{ verb: 'hangup' }] }, statusCallback: { url: 'https://example.com/s2' } });
    }
  });

  it('POST /v1/calls validation', async () => {
    const n = engine.originated.length;
    const post = (json: unknown) => expectError(call(p, 'POST', '/v1/calls', { key: a.apiKey, json }), 400, 'INVALID_PAYLOAD');
    const app = { document: [{ verb: 'hangup' }] };
    expect((await post({ to: 'bob', from: 'x', application: app })).field).toBe('body/to');
    expect((await post({ to: '+14155550123', from: 'x' })).field).toBe('body/application');
    expect((await post({ to: '+14155550123', from: 'x', application: app, applicationId: 'app_x' })).field).toBe('body/applicationId');
    expect((await post({ to: '+14155550123', from: 'x', applicationId: 'app_missing' })).field).toBe('body/applicationId');
    expect((await post({ to: '+14155550123', from: 'x', application: { url: 'https://e.com', document: [{ verb: 'hangup' }] } })).field).toBe('body/application/document');
    expect((await post({ to: '+14155550123', from: 'x', application: { document: [{ verb: 'pause', seconds: -1 }] } })).field).toBe('body/application/document/0/seconds');
    expect((await post({ to: '+14155550123', from: '+19995550000', application: app })).field).toBe('body/from');
    expect((await post({ to: '+14155550123', from: 'x', application: app, ringTimeoutSeconds: 0 })).field).toBe('body/ringTimeoutSeconds');
    expect(engine.originated.length).toBe(n);
    // from = one of the tenant's numbers is accepted
    await call(p, 'PUT', '/v1/numbers/+14155550199', { key: a.apiKey, json: { destination: { type: 'identity', identity: 'desk' } } });
    expect((await call(p, 'POST', '/v1/calls', { key: a.apiKey, json: { to: '+14155550123', from: '+14155550199', application: app } })).status).toBe(201);
    // …but not by another tenant
    expect((await expectError(call(p, 'POST', '/v1/calls', { key: b.apiKey, json: { to: '+14155550123', from: '+14155550199', application: app } }), 400, 'INVALID_PAYLOAD')).field).toBe('body/from');
  });

  it('Idempotency-Key: one call per key, replayed answer', async () => {
    const n = engine.originated.length;
    const json = { to: '+14155550123', from: 'x', application: { url: 'https://example.com/i' } };
    const headers = { 'idempotency-key': 'call-once-1' };
    const r1 = await call(p, 'POST', '/v1/calls', { key: a.apiKey, json, headers });
    const r2 = await call(p, 'POST', '/v1/calls', { key: a.apiKey, json, headers });
    expect(r1.status).toBe(201);
    expect(r2.status).toBe(201);
    expect(r2.headers.get('idempotency-replayed')).toBe('true');
    expect(r2.body.callId).toBe(r1.body.callId);
    expect(engine.originated.length).toBe(n + 1);
    await expectError(call(p, 'POST', '/v1/calls', { key: a.apiKey, json: { ...json, to: '+14155550124' }, headers }), 422, 'IDEMPOTENCY_CONFLICT');
  });

  it('GET live state, list live calls, modify, tenant isolation', async () => {
    const c = (await call(p, 'POST', '/v1/calls', { key: a.apiKey, json: { to: '+14155550123', from: 'x', application: { document: menu } } })).body;
    engine.emit(c.callId, 'answered');
    const g = await call(p, 'GET', `/v1/calls/${c.callId}`, { key: a.apiKey });
    expect(g.status).toBe(200);
    expect(g.body).toMatchObject({ id: c.callId, kind: 'sip', state: 'active', live: { callId: c.callId, status: 'answered', muted: false } });
    const live = await call(p, 'GET', '/v1/calls?live=true', { key: a.apiKey });
    expect(live.body.items.map((x: { callId: string }) => x.callId)).toContain(c.callId);
    expect((await call(p, 'GET', '/v1/calls?live=true', { key: b.apiKey })).body.items).toEqual([]);
    // the CDR listing is unchanged
    expect((await call(p, 'GET', '/v1/calls', { key: a.apiKey })).body).toHaveProperty('items');

    const mod = (json: unknown, key = a.apiKey) => call(p, 'POST', `/v1/calls/${c.callId}`, { key, json });
    expect((await mod({ action: 'mute' })).body).toMatchObject({ muted: true });
    expect((await mod({ action: 'hold' })).body).toMatchObject({ held: true });
    expect((await mod({ action: 'record', record: 'start' })).body).toMatchObject({ recording: true });
    expect((await mod({ action: 'dtmf', digits: '12#' })).status).toBe(200);
    expect((await mod({ action: 'transfer', to: { type: 'user', name: 'bob' } })).status).toBe(200);
    expect((await mod({ action: 'redirect', application: { url: 'https://example.com/next' } })).status).toBe(200);
    expect(engine.modified.map((m) => m.m.action)).toEqual(['mute', 'hold', 'record', 'dtmf', 'transfer', 'redirect']);

    await expectError(mod({ action: 'explode' }), 400, 'INVALID_PAYLOAD');
    await expectError(mod({ action: 'dtmf', digits: '12x' }), 400, 'INVALID_PAYLOAD');
    await expectError(mod({ action: 'record', record: 'rewind' }), 400, 'INVALID_PAYLOAD');
    await expectError(mod({ action: 'transfer', to: 'bob' }), 400, 'INVALID_PAYLOAD');
    expect((await expectError(mod({ action: 'redirect', application: { document: [{ verb: 'record', maxLengthSeconds: 99999 }] } }), 400, 'INVALID_PAYLOAD')).field).toBe('body/application/document/0/maxLengthSeconds');
    expect((await expectError(mod({ action: 'redirect', application: {} }), 400, 'INVALID_PAYLOAD')).field).toBe('body/application/url');
    expect(engine.modified.length).toBe(6);

    // tenant isolation: B sees no such call
    await expectError(call(p, 'GET', `/v1/calls/${c.callId}`, { key: b.apiKey }), 404, 'CALL_NOT_FOUND');
    await expectError(mod({ action: 'hangup' }, b.apiKey), 404, 'CALL_NOT_FOUND');
    expect(engine.calls.has(c.callId)).toBe(true);

    expect((await mod({ action: 'hangup' })).body).toMatchObject({ status: 'completed' });
    await expectError(call(p, 'GET', `/v1/calls/${c.callId}`, { key: a.apiKey }), 404, 'CALL_NOT_FOUND');
    await expectError(mod({ action: 'mute' }), 404, 'CALL_NOT_FOUND');
  });

  it('maps SBC errors', async () => {
    const json = { to: '+14155550123', from: 'x', application: { url: 'https://example.com/i' } };
    engine.failNext = new AppError('UPSTREAM_SIP_FAILURE', 'SIP 503 Service Unavailable');
    await expectError(call(p, 'POST', '/v1/calls', { key: a.apiKey, json }), 502, 'UPSTREAM_SIP_FAILURE');
    engine.failNext = new AppError('MEDIA_UNAVAILABLE', 'no media node');
    await expectError(call(p, 'POST', '/v1/calls', { key: a.apiKey, json }), 503, 'MEDIA_UNAVAILABLE');
    const c = (await call(p, 'POST', '/v1/calls', { key: a.apiKey, json })).body;
    await expectError(call(p, 'POST', `/v1/calls/${c.callId}`, { key: a.apiKey, json: { action: 'transfer', to: { type: 'user', name: 'bob' } } }), 409, 'CALL_STATE_CONFLICT');
    // a failed originate does not burn the idempotency key
    engine.failNext = new AppError('UPSTREAM_SIP_FAILURE', 'busy');
    await expectError(call(p, 'POST', '/v1/calls', { key: a.apiKey, json, headers: { 'idempotency-key': 'retry-me' } }), 502, 'UPSTREAM_SIP_FAILURE');
    expect((await call(p, 'POST', '/v1/calls', { key: a.apiKey, json, headers: { 'idempotency-key': 'retry-me' } })).status).toBe(201);
  });

  it('the SBC control API refuses a wrong secret (surfaced as 503, not as an auth error of the tenant)', async () => {
    const { createVoiceClient } = await import('../../../runtime/signalling/voice-client.js');
    const { silentLogger } = await import('../../../runtime/core/logging.js');
    const bad = createVoiceClient({ url: sbc.url, secret: 'wrong', timeoutMs: 2000, log: silentLogger });
    await expect(bad.list(a.tenantId)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    const res = await fetch(`${sbc.url}/v1/voice/calls?tenantId=${a.tenantId}`);
    expect(res.status).toBe(401);
    // the control routes validate their bodies too
    const good = await fetch(`${sbc.url}/v1/voice/calls`, { method: 'POST', headers: { 'x-cpaas-gateway-secret': secret, 'content-type': 'application/json' }, body: JSON.stringify({ tenantId: a.tenantId, to: { type: 'phone', number: 'x' }, from: 'a', application: { url: 'https://e.com' } }) });
    expect(good.status).toBe(400);
    expect(((await good.json()) as { field: string }).field).toBe('body/to/number');
  });

  it('no SBC configured → 503; unreachable SBC → 503 SERVICE_UNAVAILABLE (retryable)', async () => {
    const json = { to: '+14155550123', from: 'x', application: { url: 'https://example.com/i' } };
    const voice = p.services.voice;
    p.services.voice = undefined;
    try {
      await expectError(call(p, 'POST', '/v1/calls', { key: a.apiKey, json }), 503, 'SERVICE_UNAVAILABLE');
    } finally {
      p.services.voice = voice;
    }
    const c = (await call(p, 'POST', '/v1/calls', { key: a.apiKey, json })).body;
    await sbc.close();
    const e = await expectError(call(p, 'POST', '/v1/calls', { key: a.apiKey, json }), 503, 'SERVICE_UNAVAILABLE');
    expect(e.retryable).toBe(true);
    await expectError(call(p, 'POST', `/v1/calls/${c.callId}`, { key: a.apiKey, json: { action: 'hangup' } }), 503, 'SERVICE_UNAVAILABLE');
    await expectError(call(p, 'GET', '/v1/calls?live=true', { key: a.apiKey }), 503, 'SERVICE_UNAVAILABLE');
    // the record lookup degrades to the CDR (none here) instead of failing
    await expectError(call(p, 'GET', `/v1/calls/${c.callId}`, { key: a.apiKey }), 404, 'CALL_NOT_FOUND');
  });
});
