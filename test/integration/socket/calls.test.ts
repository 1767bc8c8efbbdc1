import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { connectClient, nextEvent, request, type ClientSocket } from '../../support/socket-client.js';
import type { CallInfo } from '../../../runtime/core/protocol/events.js';

describe('socket.io signalling: 1:1 calls and file-transfer control', () => {
  let p: TestPlatform;
  let tenant: { tenantId: string; apiKey: string };
  let other: { tenantId: string; apiKey: string };
  const sockets: ClientSocket[] = [];
  const client = async (identity: string, tenantId = tenant.tenantId, grants: Record<string, unknown> = { rooms: ['*'] }) => {
    const c = await connectClient(p.baseUrl, await p.mintToken(tenantId, identity, grants));
    sockets.push(c.socket);
    return c.socket;
  };

  beforeAll(async () => {
    p = await startTestPlatform({ overrides: { limits: { reconnectGraceSeconds: 1 } } });
    tenant = await p.createTenant('calls');
    other = await p.createTenant('other');
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('rings, accepts, relays negotiation, holds, hangs up with a reason, and records the call', async () => {
    const alice = await client('alice');
    const bob = await client('bob');
    const bob2 = await client('bob'); // a second device of bob
    const incoming = nextEvent<CallInfo>(bob, 'call:incoming');
    const incoming2 = nextEvent<CallInfo>(bob2, 'call:incoming');
    const ringing = nextEvent(alice, 'call:ringing');
    const inv = await request<{ callId: string }>(alice, 'call:invite', { to: 'bob', media: { audio: true, video: true } });
    expect(inv.ok).toBe(true);
    if (!inv.ok) return;
    const callId = inv.data.callId;
    expect((await incoming).from.identity).toBe('alice');
    await incoming2;
    await ringing;

    const accepted = nextEvent(alice, 'call:accepted');
    const elsewhere = nextEvent(bob2, 'call:ended');
    expect((await request(bob, 'call:accept', { callId })).ok).toBe(true);
    await accepted;
    expect(await elsewhere).toMatchObject({ callId, reason: 'answered-elsewhere' });
    // The second device can no longer accept.
    expect(await request(bob2, 'call:accept', { callId })).toMatchObject({ ok: false, error: { code: 'CALL_STATE_CONFLICT' } });

    const offer = nextEvent(bob, 'call:signal');
    await request(alice, 'call:signal', { callId, signal: { type: 'description', description: { type: 'offer', sdp: 'v=0\r\n' } } });
    expect((await offer).signal.description.type).toBe('offer');
    const answer = nextEvent(alice, 'call:signal');
    await request(bob, 'call:signal', { callId, signal: { type: 'description', description: { type: 'answer', sdp: 'v=0\r\n' } } });
    expect((await answer).signal.description.type).toBe('answer');
    // bob2 is not a party.
    expect(await request(bob2, 'call:signal', { callId, signal: { type: 'candidate', candidate: null } })).toMatchObject({ ok: false, error: { code: 'CALL_NOT_FOUND' } });

    const held = nextEvent(bob, 'call:held');
    await request(alice, 'call:hold', { callId, hold: true });
    expect(await held).toMatchObject({ callId, hold: true, by: 'alice' });

    // File transfer control over the call.
    const fileOffer = nextEvent(bob, 'file:offer');
    await request(alice, 'file:offer', { callId, transferId: 't1', name: 'a.bin', size: 3, sha256: 'a'.repeat(64) });
    expect(await fileOffer).toMatchObject({ transferId: 't1', fromIdentity: 'alice', mime: 'application/octet-stream' });
    const fileAccepted = nextEvent(alice, 'file:accepted');
    await request(bob, 'file:accept', { callId, transferId: 't1' });
    expect(await fileAccepted).toMatchObject({ transferId: 't1' });

    const ended = nextEvent(bob, 'call:ended');
    await request(alice, 'call:hangup', { callId });
    expect(await ended).toMatchObject({ callId, reason: 'remote-hangup', by: 'alice' });
    const rec = await p.services.calls.get(tenant.tenantId, callId);
    expect(rec).toMatchObject({ state: 'ended', endReason: 'local-hangup', endedBy: 'alice', held: true });
    expect(rec?.answeredAt).toBeDefined();
  });

  it('reject (busy), cancel, no-answer timeout, unavailable callee', async () => {
    const alice = await client('alice');
    const bob = await client('bob');
    let inv = await request<{ callId: string }>(alice, 'call:invite', { to: 'bob' });
    if (!inv.ok) throw new Error('invite failed');
    const rejected = nextEvent(alice, 'call:ended');
    await request(bob, 'call:reject', { callId: inv.data.callId, reason: 'busy' });
    expect(await rejected).toMatchObject({ reason: 'busy' });

    inv = await request<{ callId: string }>(alice, 'call:invite', { to: 'bob' });
    if (!inv.ok) throw new Error('invite failed');
    const cancelled = nextEvent(bob, 'call:ended');
    await request(alice, 'call:cancel', { callId: inv.data.callId });
    expect(await cancelled).toMatchObject({ reason: 'cancelled' });

    inv = await request<{ callId: string }>(alice, 'call:invite', { to: 'bob', ringTimeoutSeconds: 5 });
    if (!inv.ok) throw new Error('invite failed');
    const [a, b] = await Promise.all([nextEvent(alice, 'call:ended', () => true, 8_000), nextEvent(bob, 'call:ended', () => true, 8_000)]);
    expect(a).toMatchObject({ reason: 'no-answer' });
    expect(b).toMatchObject({ reason: 'no-answer' });

    expect(await request(alice, 'call:invite', { to: 'nobody-online' })).toMatchObject({ ok: false, error: { code: 'IDENTITY_UNAVAILABLE' } });
    expect(await request(alice, 'call:invite', { to: 'alice' })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
  });

  it('a party that reconnects within the grace period resumes the call', async () => {
    const alice = await client('alice');
    const bob = await client('bob');
    const inv = await request<{ callId: string }>(alice, 'call:invite', { to: 'bob' });
    if (!inv.ok) throw new Error('invite failed');
    await request(bob, 'call:accept', { callId: inv.data.callId });
    let ended = false;
    alice.on('call:ended', () => (ended = true));
    bob.close();
    const bobAgain = await client('bob');
    const resumed = await request<{ state: string }>(bobAgain, 'call:resume', { callId: inv.data.callId });
    expect(resumed).toMatchObject({ ok: true, data: { state: 'active' } });
    const sig = nextEvent(bobAgain, 'call:signal');
    await request(alice, 'call:signal', { callId: inv.data.callId, signal: { type: 'candidate', candidate: null } });
    await sig;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(ended).toBe(false);
    // Someone else cannot take the call over.
    const mallory = await client('mallory');
    expect(await request(mallory, 'call:resume', { callId: inv.data.callId })).toMatchObject({ ok: false, error: { code: 'CALL_NOT_FOUND' } });
    await request(alice, 'call:hangup', { callId: inv.data.callId });
  });

  it('a disconnected party that does not come back ends the call with reason network', async () => {
    const alice = await client('alice');
    const bob = await client('bob');
    const inv = await request<{ callId: string }>(alice, 'call:invite', { to: 'bob' });
    if (!inv.ok) throw new Error('invite failed');
    await request(bob, 'call:accept', { callId: inv.data.callId });
    const ended = nextEvent(alice, 'call:ended');
    bob.close();
    expect(await ended).toMatchObject({ callId: inv.data.callId, reason: 'network' });
  });

  it('never crosses tenants: calls, presence and relays stay inside a tenant', async () => {
    const alice = await client('alice');
    const eve = await client('alice', other.tenantId); // same identity name, other tenant
    let leaked = false;
    eve.on('call:incoming', () => (leaked = true));
    eve.on('presence:changed', () => (leaked = true));
    const bob = await client('bob');
    const inv = await request<{ callId: string }>(bob, 'call:invite', { to: 'alice' });
    expect(inv.ok).toBe(true);
    // eve (tenant B) can't act on tenant A's call.
    if (inv.ok) {
      expect(await request(eve, 'call:accept', { callId: inv.data.callId })).toMatchObject({ ok: false, error: { code: 'CALL_NOT_FOUND' } });
      expect(await request(eve, 'call:signal', { callId: inv.data.callId, signal: { type: 'candidate', candidate: null } })).toMatchObject({ ok: false });
      await request(alice, 'call:reject', { callId: inv.data.callId });
    }
    // eve subscribing to "bob" sees tenant B's bob (offline), not tenant A's.
    const sub = await request<{ presence: Array<{ status: string }> }>(eve, 'presence:subscribe', { identities: ['bob'] });
    expect(sub.ok && sub.data.presence[0]?.status).toBe('offline');
    // eve can't join tenant A's room.
    const res = await p.api('/v1/rooms', { method: 'POST', key: tenant.apiKey, json: { name: 'a-only' } });
    const room = (await res.json()) as { id: string };
    expect(await request(eve, 'room:join', { roomId: room.id })).toMatchObject({ ok: false, error: { code: 'ROOM_NOT_FOUND' } });
    await request(bob, 'presence:update', { status: 'busy' });
    await new Promise((r) => setTimeout(r, 200));
    expect(leaked).toBe(false);
  });
});
