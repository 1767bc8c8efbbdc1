/**
 * Conference REST API end to end without media: tenant REST (signalling) → conference client → SBC control routes
 * → ConferenceManager with fake endpoints. Control server on 127.0.16.1:28010 (docs/conferences.md).
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlServer } from '../../../runtime/sbc/control/server.js';
import { ConferenceManager } from '../../../runtime/sbc/voice/conference/manager.js';
import { mountConferenceRoutes } from '../../../runtime/sbc/voice/conference/control.js';
import type { OriginateRequest } from '../../../runtime/sbc/voice/contracts.js';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { FakeEndpoint } from '../../runtime/conference/fake-endpoint.js';

const log = pino({ level: 'silent' });
const SECRET = 'conference-test-secret-0123456789';

describe('conference REST API → SBC control routes', () => {
  let platform: TestPlatform;
  let control: ControlServer;
  let mgr: ConferenceManager;
  let tenantId: string;
  let apiKey: string;
  let other: { tenantId: string; apiKey: string };
  const originated: OriginateRequest[] = [];
  const api = (p: string, init: RequestInit & { json?: unknown } = {}, key = apiKey) => platform.api(p, { ...init, key });

  beforeAll(async () => {
    mgr = new ConferenceManager({ log, mixer: { holdSource: null } });
    control = new ControlServer(log);
    mountConferenceRoutes(control, {
      conferences: mgr, secret: SECRET, log,
      originate: async (r) => {
        originated.push(r);
        return { callId: 'ca_test1', status: 'queued' };
      },
    });
    await control.listen('127.0.16.1', 28010);
    platform = await startTestPlatform({ overrides: { sbcControlUrl: 'http://127.0.16.1:28010', gateway: { secret: { value: SECRET } } } });
    ({ tenantId, apiKey } = await platform.createTenant('conf'));
    other = await platform.createTenant('conf-other');
  }, 60_000);

  afterAll(async () => {
    mgr?.close();
    await control?.close();
    await platform?.stop();
  });

  it('lists, mutes, holds, kicks and ends; other tenants see nothing', async () => {
    const a = await mgr.join({ tenantId, name: 'sales', callId: 'ca_a', label: '+15550100', endpoint: new FakeEndpoint('a') });
    const b = await mgr.join({ tenantId, name: 'sales', callId: 'ca_b', label: 'alice', endpoint: new FakeEndpoint('b') });
    const list = await api('/v1/conferences');
    expect(list.status).toBe(200);
    const body = (await list.json()) as { items: Array<{ name: string; participants: Array<{ id: string; label: string }> }> };
    expect(body.items.map((c) => c.name)).toEqual(['sales']);
    expect(body.items[0]!.participants.map((p) => p.label)).toEqual(['+15550100', 'alice']);
    expect(((await (await api('/v1/conferences', {}, other.apiKey)).json()) as { items: unknown[] }).items).toEqual([]);
    expect((await api('/v1/conferences/sales', {}, other.apiKey)).status).toBe(404);

    const one = await api('/v1/conferences/sales');
    expect(one.status).toBe(200);
    expect(((await one.json()) as { participants: unknown[] }).participants).toHaveLength(2);

    const mute = await api(`/v1/conferences/sales/participants/${b.participant.id}`, { method: 'POST', json: { muted: true } });
    expect(mute.status).toBe(200);
    expect(await mute.json()).toMatchObject({ id: b.participant.id, muted: true, held: false });
    const hold = await api(`/v1/conferences/sales/participants/${b.participant.id}`, { method: 'POST', json: { held: true } });
    expect(await hold.json()).toMatchObject({ muted: true, held: true });
    expect((await api(`/v1/conferences/sales/participants/${b.participant.id}`, { method: 'POST', json: {} })).status).toBe(400);
    expect((await api('/v1/conferences/sales/participants/cp_nobody', { method: 'POST', json: { muted: true } })).status).toBe(404);

    expect((await api(`/v1/conferences/sales/participants/${a.participant.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await a.left).toBe('kicked');
    expect((await api('/v1/conferences/sales', { method: 'DELETE' })).status).toBe(204);
    expect(await b.left).toBe('ended');
    expect((await api('/v1/conferences/sales')).status).toBe(404);
    expect((await api('/v1/conferences/bad name!')).status).toBe(400);
  });

  it('calls someone into a conference through the voice engine', async () => {
    const r = await api('/v1/conferences/c1/participants', { method: 'POST', json: { to: { type: 'user', name: 'alice' }, from: '+15550100', muted: true } });
    expect(r.status, await r.clone().text()).toBe(201);
    expect(await r.json()).toEqual({ callId: 'ca_test1', status: 'queued' });
    expect(originated.at(-1)).toMatchObject({ tenantId, from: '+15550100', to: { type: 'user', name: 'alice' }, application: { document: [{ verb: 'conference', name: 'c1', muted: true }] } });
    expect((await api('/v1/conferences/c1/participants', { method: 'POST', json: { to: { type: 'nope' } } })).status).toBe(400);
  });

  it('the control routes refuse a wrong secret', async () => {
    const r = await fetch(`http://127.0.16.1:28010/v1/conferences?tenantId=${tenantId}`, { headers: { 'x-cpaas-gateway-secret': 'wrong' } });
    expect(r.status).toBe(401);
  });
});
