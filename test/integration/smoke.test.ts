import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';

describe('platform smoke', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform();
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('answers /healthz and creates a room with a tenant key', async () => {
    expect((await p.api('/healthz')).status).toBe(200);
    const { apiKey } = await p.createTenant();
    const res = await p.api('/v1/rooms', { method: 'POST', key: apiKey, json: { name: 'standup' } });
    expect(res.status).toBe(201);
    const room = (await res.json()) as { id: string; name: string };
    expect(room.name).toBe('standup');
    const bad = await p.api('/v1/rooms', { method: 'POST', key: apiKey, json: { name: '' } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'INVALID_PAYLOAD', field: 'body/name' });
    expect((await p.api('/v1/rooms')).status).toBe(401);
  });
});
