import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import type { Participant } from '../../../runtime/core/protocol/http.js';
import { call, expectError, newTenant } from './helpers.js';

const participant = (id: string, identity: string): Participant => ({
  id,
  identity,
  joinedAt: new Date().toISOString(),
  state: { audio: true, video: false, screen: false, connection: 'connected' },
});

describe('REST: rooms', () => {
  let p: TestPlatform;
  let key: string;
  let tenantId: string;
  beforeAll(async () => {
    p = await startTestPlatform();
    ({ apiKey: key, tenantId } = await newTenant(p, 'rooms'));
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('creates, gets and closes a room', async () => {
    const created = await call(p, 'POST', '/v1/rooms', { key, json: { name: 'standup', maxParticipants: 8, expiresInSeconds: 3600, metadata: { team: 'core', n: 1 } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ tenantId, name: 'standup', type: 'group', maxParticipants: 8, status: 'open', metadata: { team: 'core', n: 1 } });
    expect(Date.parse(created.body.expiresAt) - Date.parse(created.body.createdAt)).toBeCloseTo(3_600_000, -3);

    const p2p = await call(p, 'POST', '/v1/rooms', { key, json: { name: 'one-to-one', type: 'p2p' } });
    expect(p2p.body.maxParticipants).toBe(2);

    const got = await call(p, 'GET', `/v1/rooms/${created.body.id}`, { key });
    expect(got.body).toEqual(created.body);

    const closed = await call(p, 'POST', `/v1/rooms/${created.body.id}/close`, { key });
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({ id: created.body.id, status: 'closed', closedAt: expect.any(String) });
    const again = await call(p, 'POST', `/v1/rooms/${created.body.id}/close`, { key });
    expect(again.body.closedAt).toBe(closed.body.closedAt);

    await expectError(call(p, 'GET', '/v1/rooms/rm_doesnotexist', { key }), 404, 'ROOM_NOT_FOUND');
    await expectError(call(p, 'POST', '/v1/rooms/rm_doesnotexist/close', { key }), 404, 'ROOM_NOT_FOUND');
    const bad = await expectError(call(p, 'POST', '/v1/rooms', { key, json: { name: 'x', maxParticipants: 1 } }), 400, 'INVALID_PAYLOAD');
    expect(bad.field).toBe('body/maxParticipants');
    const unknown = await expectError(call(p, 'POST', '/v1/rooms', { key, json: { name: 'x', colour: 'red' } }), 400, 'INVALID_PAYLOAD');
    expect(unknown.message).toMatch(/colour/);
    const badParam = await expectError(call(p, 'GET', '/v1/rooms/%20bad', { key }), 400, 'INVALID_PAYLOAD');
    expect(badParam.field).toBe('params/roomId');
  });

  it('pages over more than 25 rooms, newest first, without duplicates', async () => {
    const { apiKey } = await newTenant(p, 'many-rooms');
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await call(p, 'POST', '/v1/rooms', { key: apiKey, json: { name: `room-${i}` } })).body.id);

    const first = await call(p, 'GET', '/v1/rooms', { key: apiKey });
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(25); // default limit
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call(p, 'GET', `/v1/rooms?cursor=${encodeURIComponent(first.body.nextCursor)}`, { key: apiKey });
    expect(second.body.items).toHaveLength(5);
    expect(second.body.nextCursor).toBeUndefined();

    const listed = [...first.body.items, ...second.body.items] as Array<{ id: string; createdAt: string }>;
    expect(new Set(listed.map((r) => r.id))).toEqual(new Set(ids));
    for (let i = 1; i < listed.length; i++) expect(listed[i - 1]!.createdAt >= listed[i]!.createdAt).toBe(true);

    const small = await call(p, 'GET', '/v1/rooms?limit=7', { key: apiKey });
    expect(small.body.items).toHaveLength(7);
    await expectError(call(p, 'GET', '/v1/rooms?limit=0', { key: apiKey }), 400, 'INVALID_PAYLOAD');
    const tooMany = await expectError(call(p, 'GET', '/v1/rooms?limit=101', { key: apiKey }), 400, 'INVALID_PAYLOAD');
    expect(tooMany.field).toBe('querystring/limit');
    await expectError(call(p, 'GET', '/v1/rooms?cursor=not-a-cursor', { key: apiKey }), 400, 'INVALID_PAYLOAD');
  });

  it('lists live participants and the join/leave history with durations', async () => {
    const room = (await call(p, 'POST', '/v1/rooms', { key, json: { name: 'live' } })).body;
    const full = await p.services.rooms.require(tenantId, room.id);
    // GIVEN two joins (as the socket layer records them) and one leave
    await p.services.rooms.addParticipant(tenantId, full, participant('pa_alice', 'alice'), 'sock-a', false);
    await p.services.rooms.addParticipant(tenantId, full, participant('pa_bob', 'bob'), 'sock-b', false);
    await new Promise((r) => setTimeout(r, 250));
    await p.services.rooms.removeParticipant(tenantId, room.id, 'pa_bob', 'left');

    // THEN participants shows who is connected now, without internal fields
    const parts = await call(p, 'GET', `/v1/rooms/${room.id}/participants`, { key });
    expect(parts.status).toBe(200);
    expect(parts.body.items).toHaveLength(1);
    expect(parts.body.items[0]).toMatchObject({ id: 'pa_alice', identity: 'alice', state: { audio: true, connection: 'connected' } });
    expect(parts.body.items[0]).not.toHaveProperty('socketId');

    // AND sessions shows both joins; bob's with leftAt, a duration and the reason
    const sessions = await call(p, 'GET', `/v1/rooms/${room.id}/sessions`, { key });
    expect(sessions.status).toBe(200);
    const byId = Object.fromEntries(sessions.body.items.map((s: { participantId: string }) => [s.participantId, s]));
    expect(byId.pa_alice).toMatchObject({ identity: 'alice', joinedAt: expect.any(String) });
    expect(byId.pa_alice).not.toHaveProperty('leftAt');
    expect(byId.pa_bob).toMatchObject({ identity: 'bob', leftAt: expect.any(String), leaveReason: 'left' });
    expect(byId.pa_bob.durationSeconds).toBeGreaterThanOrEqual(0.2);
    expect(byId.pa_bob.durationSeconds).toBeLessThan(30);

    const paged = await call(p, 'GET', `/v1/rooms/${room.id}/sessions?limit=1`, { key });
    expect(paged.body.items).toHaveLength(1);
    expect(paged.body.nextCursor).toEqual(expect.any(String));
  });

  it('pages through chat history oldest first with a cursor', async () => {
    const room = (await call(p, 'POST', '/v1/rooms', { key, json: { name: 'chatty' } })).body;
    for (let i = 1; i <= 7; i++) await p.services.rooms.addMessage(tenantId, room.id, { from: { identity: 'alice' }, text: `hello ${i}` });

    const texts: string[] = [];
    const seqs: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await call(p, 'GET', `/v1/rooms/${room.id}/messages?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { key });
      expect(res.status).toBe(200);
      texts.push(...res.body.items.map((m: { text: string }) => m.text));
      seqs.push(...res.body.items.map((m: { seq: number }) => m.seq));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(texts).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => `hello ${i}`));
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7]);

    const empty = await call(p, 'GET', `/v1/rooms/${(await call(p, 'POST', '/v1/rooms', { key, json: { name: 'quiet' } })).body.id}/messages`, { key });
    expect(empty.body).toEqual({ items: [] });
    await expectError(call(p, 'GET', '/v1/rooms/rm_nope/messages', { key }), 404, 'ROOM_NOT_FOUND');
    await expectError(call(p, 'GET', '/v1/rooms/rm_nope/participants', { key }), 404, 'ROOM_NOT_FOUND');
    await expectError(call(p, 'GET', '/v1/rooms/rm_nope/sessions', { key }), 404, 'ROOM_NOT_FOUND');
  });

  it('replays an idempotent create and rejects a reused key with a different body', async () => {
    const headers = { 'idempotency-key': `room-${Date.now()}` };
    const first = await call(p, 'POST', '/v1/rooms', { key, json: { name: 'once' }, headers });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotency-replayed')).toBeNull();

    const replay = await call(p, 'POST', '/v1/rooms', { key, json: { name: 'once' }, headers });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotency-replayed')).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
    expect(replay.body).toEqual(first.body);

    const conflict = await expectError(call(p, 'POST', '/v1/rooms', { key, json: { name: 'twice' }, headers }), 422, 'IDEMPOTENCY_CONFLICT');
    expect(conflict.field).toBe('Idempotency-Key');

    // keys are per tenant: another tenant may use the same key for its own request
    const other = await newTenant(p, 'idem-other');
    const theirs = await call(p, 'POST', '/v1/rooms', { key: other.apiKey, json: { name: 'once' }, headers });
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(first.body.id);
    expect(theirs.headers.get('idempotency-replayed')).toBeNull();

    await expectError(call(p, 'POST', '/v1/rooms', { key, json: { name: 'x' }, headers: { 'idempotency-key': 'has spaces' } }), 400, 'INVALID_PAYLOAD');

    // a failed request releases the key: the retry runs for real
    const failKey = { 'idempotency-key': `fail-${Date.now()}` };
    await expectError(call(p, 'POST', '/v1/tenants/no-such/keys', { key: p.adminKey, json: { name: 'k' }, headers: failKey }), 404, 'TENANT_NOT_FOUND');
    await expectError(call(p, 'POST', '/v1/tenants/no-such/keys', { key: p.adminKey, json: { name: 'k' }, headers: failKey }), 404, 'TENANT_NOT_FOUND');
  });

  it('replays idempotent tenant and key creation', async () => {
    const headers = { 'idempotency-key': `tenant-${Date.now()}` };
    const t1 = await call(p, 'POST', '/v1/tenants', { key: p.adminKey, json: { name: 'idem tenant' }, headers });
    const t2 = await call(p, 'POST', '/v1/tenants', { key: p.adminKey, json: { name: 'idem tenant' }, headers });
    expect(t2.status).toBe(201);
    expect(t2.headers.get('idempotency-replayed')).toBe('true');
    expect(t2.body.id).toBe(t1.body.id);

    const k1 = await call(p, 'POST', '/v1/keys', { key, json: { name: 'idem' }, headers });
    const k2 = await call(p, 'POST', '/v1/keys', { key, json: { name: 'idem' }, headers });
    expect(k2.headers.get('idempotency-replayed')).toBe('true');
    expect(k2.body.id).toBe(k1.body.id);
  });
});
