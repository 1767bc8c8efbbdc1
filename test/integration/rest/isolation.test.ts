import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { call, expectError, newTenant } from './helpers.js';

/** Cross-tenant probes over REST: tenant B holds a valid key and A's ids, and must learn nothing. */
describe('REST: tenant isolation', () => {
  let p: TestPlatform;
  let a: { tenantId: string; apiKey: string; keyId: string };
  let b: { tenantId: string; apiKey: string; keyId: string };
  let roomA: { id: string };

  beforeAll(async () => {
    p = await startTestPlatform();
    a = await newTenant(p, 'tenant-a');
    b = await newTenant(p, 'tenant-b');
    roomA = (await call(p, 'POST', '/v1/rooms', { key: a.apiKey, json: { name: 'A private' } })).body;
    for (let i = 0; i < 3; i++) await call(p, 'POST', '/v1/rooms', { key: a.apiKey, json: { name: `A ${i}` } });
    await p.services.rooms.addMessage(a.tenantId, roomA.id, { from: { identity: 'alice' }, text: 'secret' });
    await call(p, 'POST', `/v1/rooms/${roomA.id}/invites`, { key: a.apiKey, json: { email: 'x@example.com' } });
  });
  afterAll(async () => {
    await p?.stop();
  });

  it("B cannot read or act on A's room, sub-resources included", async () => {
    await expectError(call(p, 'GET', `/v1/rooms/${roomA.id}`, { key: b.apiKey }), 404, 'ROOM_NOT_FOUND');
    await expectError(call(p, 'POST', `/v1/rooms/${roomA.id}/close`, { key: b.apiKey }), 404, 'ROOM_NOT_FOUND');
    for (const sub of ['participants', 'messages', 'sessions', 'invites']) {
      await expectError(call(p, 'GET', `/v1/rooms/${roomA.id}/${sub}`, { key: b.apiKey }), 404, 'ROOM_NOT_FOUND');
    }
    await expectError(call(p, 'POST', `/v1/rooms/${roomA.id}/invites`, { key: b.apiKey, json: { email: 'evil@example.com' } }), 404, 'ROOM_NOT_FOUND');
    // A's room is untouched and still open
    expect((await call(p, 'GET', `/v1/rooms/${roomA.id}`, { key: a.apiKey })).body.status).toBe('open');
    expect((await call(p, 'GET', `/v1/rooms/${roomA.id}/invites`, { key: a.apiKey })).body.items).toHaveLength(1);
  });

  it("B's listings never contain A's data", async () => {
    const listB = await call(p, 'GET', '/v1/rooms?limit=100', { key: b.apiKey });
    expect(listB.body.items).toEqual([]);
    const keysB = await call(p, 'GET', '/v1/keys', { key: b.apiKey });
    expect(keysB.body.items.map((k: { tenantId: string }) => k.tenantId)).toEqual([b.tenantId]);
  });

  it("B cannot revoke A's keys", async () => {
    await expectError(call(p, 'DELETE', `/v1/keys/${a.keyId}`, { key: b.apiKey }), 404, 'NOT_FOUND');
    await expectError(call(p, 'DELETE', `/v1/tenants/${a.tenantId}/keys/${a.keyId}`, { key: b.apiKey }), 403, 'NOT_AUTHORIZED');
    expect((await call(p, 'GET', '/v1/rooms', { key: a.apiKey })).status).toBe(200);
  });

  it("rejects A's cursors for B", async () => {
    const pageA = await call(p, 'GET', '/v1/rooms?limit=2', { key: a.apiKey });
    expect(pageA.body.nextCursor).toEqual(expect.any(String));
    const err = await expectError(call(p, 'GET', `/v1/rooms?limit=2&cursor=${encodeURIComponent(pageA.body.nextCursor)}`, { key: b.apiKey }), 400, 'INVALID_PAYLOAD');
    expect(err.message).toMatch(/cursor/);
    // a hand-made cursor naming A's partition is rejected too
    const forged = Buffer.from(JSON.stringify({ pk: `T#${a.tenantId}#ROOM`, sk: roomA.id })).toString('base64url');
    await expectError(call(p, 'GET', `/v1/rooms?cursor=${forged}`, { key: b.apiKey }), 400, 'INVALID_PAYLOAD');
    // and a cursor from A's room listing does not work on another of A's listings
    await expectError(call(p, 'GET', `/v1/rooms/${roomA.id}/messages?cursor=${encodeURIComponent(pageA.body.nextCursor)}`, { key: a.apiKey }), 400, 'INVALID_PAYLOAD');
    // A's own cursor works for A
    expect((await call(p, 'GET', `/v1/rooms?limit=2&cursor=${encodeURIComponent(pageA.body.nextCursor)}`, { key: a.apiKey })).status).toBe(200);
  });

  it("a token minted by B does not carry A's tenant", async () => {
    const minted = await call(p, 'POST', '/v1/tokens', { key: b.apiKey, json: { identity: 'mallory', grants: { rooms: [roomA.id] } } });
    expect(minted.status).toBe(201);
    expect((await p.services.tokens.verify(minted.body.token)).tenantId).toBe(b.tenantId);
  });

  it('admin routes reject tenant keys and tenant routes reject the admin key', async () => {
    await expectError(call(p, 'GET', `/v1/tenants/${a.tenantId}`, { key: b.apiKey }), 403, 'NOT_AUTHORIZED');
    await expectError(call(p, 'GET', `/v1/tenants/${a.tenantId}/keys`, { key: a.apiKey }), 403, 'NOT_AUTHORIZED');
    await expectError(call(p, 'GET', `/v1/rooms/${roomA.id}`, { key: p.adminKey }), 403, 'NOT_AUTHORIZED');
  });
});
