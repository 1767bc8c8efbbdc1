import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { connectClient, nextEvent, request, type ClientSocket } from '../../support/socket-client.js';
import { hasCommand, requires } from '../../support/requires.js';
import { freePort, startDaemon, type Daemon } from '../../../runtime/local/daemon.js';
import type { JoinRoomResult } from '../../../runtime/core/protocol/events.js';

const haveRedis = requires('redis-server', hasCommand('redis-server'), 'apt-get install redis-server (or: bash scripts/setup.sh)');

describe.runIf(haveRedis)('two signalling instances sharing rooms through Redis', () => {
  let redis: Daemon;
  let one: TestPlatform;
  let two: TestPlatform;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'cpaas-redis-'));
    redis = await startDaemon({ command: 'redis-server', args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], ready: /Ready to accept connections/, name: 'redis' });
    const redisUrl = `redis://127.0.0.1:${port}`;
    one = await startTestPlatform({ redisUrl });
    // A cluster: the second instance shares the table and the secrets.
    two = await startTestPlatform({ redisUrl, standIns: one.standIns, secrets: one.secrets });
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await two?.stop();
    await one?.stop();
    await redis?.stop();
  });

  it('relays signals, chat, presence and calls between clients on different instances', async () => {
    const tenant = await one.createTenant();
    const room = await one.services.rooms.create(tenant.tenantId, { name: 'spread', type: 'group' });
    const tokenOne = (id: string) => one.mintToken(tenant.tenantId, id);
    const tokenTwo = (id: string) => one.mintToken(tenant.tenantId, id); // verified by instance two
    const a = (await connectClient(one.baseUrl, await tokenOne('alice'))).socket;
    const b = (await connectClient(two.baseUrl, await tokenTwo('bob'))).socket;
    const c = (await connectClient(two.baseUrl, await tokenTwo('carol'))).socket;
    sockets.push(a, b, c);

    const ja = await request<JoinRoomResult>(a, 'room:join', { roomId: room.id });
    const joinedAtA = nextEvent(a, 'room:participant-joined');
    const jb = await request<JoinRoomResult>(b, 'room:join', { roomId: room.id });
    expect((await joinedAtA).participant.identity).toBe('bob');
    await request(c, 'room:join', { roomId: room.id });
    if (!ja.ok || !jb.ok) throw new Error('join failed');

    // instance two → instance one, targeted.
    const sig = nextEvent(a, 'room:signal');
    await request(b, 'room:signal', { roomId: room.id, to: ja.data.participantId, signal: { type: 'description', description: { type: 'offer', sdp: 'v=0\r\n' } } });
    expect((await sig).from).toBe(jb.data.participantId);
    // instance one → instance two.
    const sig2 = nextEvent(b, 'room:signal');
    await request(a, 'room:signal', { roomId: room.id, to: jb.data.participantId, signal: { type: 'candidate', candidate: null } });
    expect((await sig2).fromIdentity).toBe('alice');

    const chatAtC = nextEvent(c, 'chat:message');
    await request(a, 'chat:send', { roomId: room.id, text: 'across instances' });
    expect((await chatAtC).text).toBe('across instances');

    const pres = nextEvent<{ identity: string; status: string }>(a, 'presence:changed', (e) => e.status === 'away');
    await request(a, 'presence:subscribe', { identities: ['carol'] });
    await request(c, 'presence:update', { status: 'away' });
    expect((await pres).identity).toBe('carol');

    const incoming = nextEvent(b, 'call:incoming');
    const inv = await request<{ callId: string }>(a, 'call:invite', { to: 'bob' });
    if (!inv.ok) throw new Error('invite failed');
    await incoming;
    const accepted = nextEvent(a, 'call:accepted');
    await request(b, 'call:accept', { callId: inv.data.callId });
    await accepted;
    const ended = nextEvent(a, 'call:ended');
    await request(b, 'call:hangup', { callId: inv.data.callId });
    expect(await ended).toMatchObject({ reason: 'remote-hangup' });
  });
});
