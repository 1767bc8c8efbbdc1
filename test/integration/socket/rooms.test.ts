import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { connectClient, connectError, nextEvent, request, type ClientSocket } from '../../support/socket-client.js';
import type { JoinRoomResult } from '../../../runtime/core/protocol/events.js';
import type { ChatMessage, Participant } from '../../../runtime/core/protocol/http.js';

describe('socket.io signalling: rooms, relay, chat, presence', () => {
  let p: TestPlatform;
  let tenant: { tenantId: string; apiKey: string };
  const sockets: ClientSocket[] = [];

  const client = async (identity: string, grants = { rooms: ['*'] }) => {
    const token = await p.mintToken(tenant.tenantId, identity, grants);
    const c = await connectClient(p.baseUrl, token);
    sockets.push(c.socket);
    return c;
  };
  const createRoom = async (body: Record<string, unknown> = { name: 'room' }) => {
    const res = await p.api('/v1/rooms', { method: 'POST', key: tenant.apiKey, json: body });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string };
  };

  beforeAll(async () => {
    p = await startTestPlatform({ turnUrls: ['stun:127.0.0.1:3478', 'turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp', 'turns:127.0.0.1:5349?transport=tcp'] });
    tenant = await p.createTenant();
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('refuses handshakes without a valid token, with a code', async () => {
    expect((await connectError(p.baseUrl, undefined))?.data?.code).toBe('NOT_AUTHENTICATED');
    expect((await connectError(p.baseUrl, 'not-a-jwt'))?.data?.code).toBe('NOT_AUTHENTICATED');
    const expired = await p.services.tokens.mint({ tenantId: tenant.tenantId, identity: 'x', ttlSeconds: 60 });
    const other = await startTestPlatform({ standIns: p.standIns });
    try {
      // A token signed with another platform's key is rejected.
      const foreign = await other.mintToken(tenant.tenantId, 'x');
      expect((await connectError(p.baseUrl, foreign))?.data?.code).toBe('NOT_AUTHENTICATED');
    } finally {
      await other.stop();
    }
    expect(await connectError(p.baseUrl, expired.token)).toBeUndefined();
  });

  it('hands out ICE servers with TURN REST credentials on connect', async () => {
    const { session } = await client('ice-user');
    expect(session.identity).toBe('ice-user');
    const turn = session.iceServers.find((s) => s.username);
    expect(turn?.username).toMatch(/^\d+:ice-user$/);
    expect(turn?.urls).toContain('turn:127.0.0.1:3478?transport=tcp');
    expect(Date.parse(session.iceServersExpireAt)).toBeGreaterThan(Date.now() + 50 * 60_000);
    const refreshed = await request<{ iceServersExpireAt: string }>(sockets[0]!, 'ice:refresh', {});
    expect(refreshed.ok).toBe(true);
  });

  it('three clients join, see each other, relay targeted signals, chat with ordered history', async () => {
    const room = await createRoom({ name: 'standup' });
    const alice = await client('alice');
    const bob = await client('bob');
    const carol = await client('carol');

    const ja = await request<JoinRoomResult>(alice.socket, 'room:join', { roomId: room.id, displayName: 'Alice', state: { audio: true, video: true } });
    expect(ja.ok).toBe(true);
    if (!ja.ok) return;
    expect(ja.data.participants.map((x) => x.identity)).toEqual(['alice']);
    expect(ja.data.iceServers.length).toBeGreaterThan(0);

    const bobJoinedSeenByAlice = nextEvent<{ participant: Participant }>(alice.socket, 'room:participant-joined', (e) => e.participant.identity === 'bob');
    const jb = await request<JoinRoomResult>(bob.socket, 'room:join', { roomId: room.id });
    expect(jb.ok && jb.data.participants.map((x) => x.identity).sort()).toEqual(['alice', 'bob']);
    expect((await bobJoinedSeenByAlice).participant.identity).toBe('bob');
    const jc = await request<JoinRoomResult>(carol.socket, 'room:join', { roomId: room.id });
    expect(jc.ok).toBe(true);
    if (!jb.ok || !jc.ok) return;

    // Offer from bob to alice only: carol must not receive it.
    let carolGotSignal = false;
    carol.socket.on('room:signal', () => (carolGotSignal = true));
    const offerAtAlice = nextEvent(alice.socket, 'room:signal');
    const r = await request(bob.socket, 'room:signal', { roomId: room.id, to: ja.data.participantId, signal: { type: 'description', description: { type: 'offer', sdp: 'v=0\r\n' } } });
    expect(r.ok).toBe(true);
    const got = await offerAtAlice;
    expect(got).toMatchObject({ roomId: room.id, from: jb.data.participantId, fromIdentity: 'bob', signal: { type: 'description' } });
    const candAtBob = nextEvent(bob.socket, 'room:signal');
    await request(alice.socket, 'room:signal', { roomId: room.id, to: jb.data.participantId, signal: { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } } });
    expect((await candAtBob).signal.type).toBe('candidate');
    await new Promise((r2) => setTimeout(r2, 100));
    expect(carolGotSignal).toBe(false);

    // Chat: server ids and sequence numbers, delivered to the others.
    const atCarol = nextEvent<ChatMessage>(carol.socket, 'chat:message', (m) => m.text === 'hello');
    const m1 = await request<ChatMessage>(alice.socket, 'chat:send', { roomId: room.id, text: 'hello', clientId: 'c1' });
    const m2 = await request<ChatMessage>(bob.socket, 'chat:send', { roomId: room.id, text: 'hi alice' });
    expect(m1.ok && m2.ok).toBe(true);
    if (!m1.ok || !m2.ok) return;
    expect(m2.data.seq).toBe(m1.data.seq + 1);
    expect((await atCarol).clientId).toBe('c1');

    // Typing indicator reaches others.
    const typing = nextEvent(bob.socket, 'chat:typing');
    carol.socket.emit('chat:typing', { roomId: room.id, typing: true });
    expect(await typing).toMatchObject({ identity: 'carol', typing: true });

    // Media state updates.
    const upd = nextEvent<{ participant: Participant }>(alice.socket, 'room:participant-updated', (e) => e.participant.identity === 'carol');
    await request(carol.socket, 'room:state', { roomId: room.id, state: { audio: true, video: false, screen: true } });
    expect((await upd).participant.state).toMatchObject({ audio: true, video: false, screen: true });

    // The live participant list (what REST /participants serves).
    expect((await p.services.rooms.participants(tenant.tenantId, room.id)).map((x) => x.identity).sort()).toEqual(['alice', 'bob', 'carol']);

    // Leave, then re-join: history is there, in order.
    const left = nextEvent(alice.socket, 'room:participant-left', (e: { identity: string }) => e.identity === 'carol');
    expect((await request(carol.socket, 'room:leave', { roomId: room.id })).ok).toBe(true);
    expect(await left).toMatchObject({ identity: 'carol', reason: 'left' });
    const again = await request<JoinRoomResult>(carol.socket, 'room:join', { roomId: room.id });
    expect(again.ok && again.data.recentMessages.map((m) => m.text)).toEqual(['hello', 'hi alice']);
    const hist = await request<{ messages: ChatMessage[] }>(carol.socket, 'chat:history', { roomId: room.id, beforeSeq: m2.data.seq, limit: 10 });
    expect(hist.ok && hist.data.messages.map((m) => m.text)).toEqual(['hello']);
  });

  it('enforces grants, capacity and membership', async () => {
    const room = await createRoom({ name: 'small', maxParticipants: 2 });
    const limited = await client('limited', { rooms: ['rm_other'] });
    const denied = await request(limited.socket, 'room:join', { roomId: room.id });
    expect(denied).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORIZED' } });
    const a = await client('a1');
    const b = await client('b1');
    const c = await client('c1');
    expect((await request(a.socket, 'room:join', { roomId: room.id })).ok).toBe(true);
    expect((await request(b.socket, 'room:join', { roomId: room.id })).ok).toBe(true);
    expect(await request(c.socket, 'room:join', { roomId: room.id })).toMatchObject({ ok: false, error: { code: 'ROOM_FULL' } });
    expect(await request(c.socket, 'chat:send', { roomId: room.id, text: 'x' })).toMatchObject({ ok: false, error: { code: 'NOT_IN_ROOM' } });
    expect(await request(c.socket, 'room:join', { roomId: 'rm_doesnotexist' })).toMatchObject({ ok: false, error: { code: 'ROOM_NOT_FOUND' } });
  });

  it('answers malformed, unknown, oversized and flooding events with error acks and keeps working', async () => {
    const room = await createRoom();
    const m = await client('mallory');
    expect(await request(m.socket, 'room:join', 'not an object')).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    expect(await request(m.socket, 'room:join', { roomId: 42 })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD', field: '/roomId' } });
    expect(await request(m.socket, 'room:join', { roomId: room.id, extra: true })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    expect(await request(m.socket, 'no:such-event', {})).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    expect(await request(m.socket, 'chat:send', { roomId: room.id, text: 'x'.repeat(200_000) })).toMatchObject({ ok: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
    // Events without an ack and with odd payloads must not crash anything.
    (m.socket as unknown as { emit: (...a: unknown[]) => void }).emit('room:join');
    (m.socket as unknown as { emit: (...a: unknown[]) => void }).emit('chat:typing', null);
    (m.socket as unknown as { emit: (...a: unknown[]) => void }).emit('room:signal', { roomId: room.id, to: 'x', signal: { type: 'description', description: { type: 'bogus' } } });
    expect((await request(m.socket, 'room:join', { roomId: room.id })).ok).toBe(true);

    // Flood: beyond the burst, RATE_LIMITED acks; the socket stays connected.
    const results = await Promise.all(Array.from({ length: 150 }, (_, i) => request(m.socket, 'presence:update', { status: i % 2 ? 'away' : 'online' })));
    const limited = results.filter((r) => !r.ok && r.error.code === 'RATE_LIMITED').length;
    expect(limited).toBeGreaterThan(0);
    expect(m.socket.connected).toBe(true);
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await request(m.socket, 'presence:update', { status: 'online' })).ok).toBe(true);
  });

  it('presence: subscribers see status changes and disconnects', async () => {
    const watcher = await client('watcher');
    const dana = await client('dana');
    const sub = await request<{ presence: Array<{ identity: string; status: string }> }>(watcher.socket, 'presence:subscribe', { identities: ['dana', 'nobody'] });
    expect(sub.ok && sub.data.presence).toEqual([expect.objectContaining({ identity: 'dana', status: 'online' }), expect.objectContaining({ identity: 'nobody', status: 'offline' })]);
    const busy = nextEvent(watcher.socket, 'presence:changed', (e: { status: string }) => e.status === 'busy');
    await request(dana.socket, 'presence:update', { status: 'busy', note: 'in a meeting' });
    expect(await busy).toMatchObject({ identity: 'dana', status: 'busy', note: 'in a meeting' });
    const offline = nextEvent(watcher.socket, 'presence:changed', (e: { status: string }) => e.status === 'offline');
    dana.socket.close();
    expect(await offline).toMatchObject({ identity: 'dana', status: 'offline' });
  });

  it('resumes a participant after a reconnect, announcing reconnecting then connected', async () => {
    const room = await createRoom();
    const stay = await client('stayer');
    const flaky = await client('flaky');
    await request(stay.socket, 'room:join', { roomId: room.id });
    const j = await request<JoinRoomResult>(flaky.socket, 'room:join', { roomId: room.id, state: { audio: true, video: true } });
    if (!j.ok) throw new Error('join failed');
    const reconnecting = nextEvent<{ participant: Participant }>(stay.socket, 'room:participant-updated', (e) => e.participant.state.connection === 'reconnecting');
    flaky.socket.close();
    expect((await reconnecting).participant.id).toBe(j.data.participantId);
    const back = await client('flaky');
    const connected = nextEvent<{ participant: Participant }>(stay.socket, 'room:participant-updated', (e) => e.participant.state.connection === 'connected');
    const r = await request<JoinRoomResult>(back.socket, 'room:join', { roomId: room.id, resumeParticipantId: j.data.participantId });
    expect(r.ok && r.data.resumed).toBe(true);
    expect(r.ok && r.data.participantId).toBe(j.data.participantId);
    expect((await connected).participant.state).toMatchObject({ audio: true, video: true });
    // Another identity cannot steal the participant.
    const thief = await client('thief');
    const t = await request<JoinRoomResult>(thief.socket, 'room:join', { roomId: room.id, resumeParticipantId: j.data.participantId });
    expect(t.ok && t.data.resumed).toBe(false);
  });

  it('closing a room over REST tells its participants', async () => {
    const room = await createRoom();
    const c = await client('closer');
    await request(c.socket, 'room:join', { roomId: room.id });
    const closed = nextEvent(c.socket, 'room:closed');
    const res = await p.api(`/v1/rooms/${room.id}/close`, { method: 'POST', key: tenant.apiKey });
    expect(res.status).toBe(200);
    expect(await closed).toEqual({ roomId: room.id });
    expect(await request(c.socket, 'chat:send', { roomId: room.id, text: 'x' })).toMatchObject({ ok: false, error: { code: 'NOT_IN_ROOM' } });
    expect(await request(c.socket, 'room:join', { roomId: room.id })).toMatchObject({ ok: false, error: { code: 'ROOM_CLOSED' } });
  });
});
