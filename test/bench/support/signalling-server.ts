/**
 * Benchmark server process. `platform`: the real signalling app (auth, validation, persistence on the
 * embedded stand-ins) with a tenant, rooms and tokens prepared; `bare`: a plain socket.io relay with no
 * auth, no validation and no persistence. Talks to the benchmark over IPC.
 */
import { Server } from 'socket.io';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { startTestPlatform } from '../../support/platform.js';

const mode = process.argv[2] as 'platform' | 'bare';
const clients = Number(process.argv[3] ?? 100);
const roomSize = Number(process.argv[4] ?? 5);
const send = (m: unknown) => process.send!(m);

// Optional steady-state CPU profile (BENCH_PROFILE=<dir>): started and stopped by the benchmark around a phase.
const session = process.env.BENCH_PROFILE ? new Session() : undefined;
session?.connect();
const post = (method: string, params?: object) => new Promise<any>((res, rej) => session!.post(method, params ?? {}, (e, r) => (e ? rej(e) : res(r))));

process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'rss') send({ rss: process.memoryUsage().rss, cpu: process.cpuUsage() });
  if (m.cmd === 'profile-start' && session) void post('Profiler.enable').then(() => post('Profiler.start'));
  if (m.cmd === 'profile-stop' && session)
    void post('Profiler.stop').then((r: { profile: unknown }) => writeFileSync(`${process.env.BENCH_PROFILE}/${mode}-${process.pid}.cpuprofile`, JSON.stringify(r.profile)));
  if (m.cmd === 'exit') process.exit(0);
});

if (mode === 'bare') {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], serveClient: false });
  io.on('connection', (socket) => {
    const id = String(socket.handshake.auth.id);
    void socket.join(`p:${id}`);
    socket.on('room:join', (req: { roomId: string }, ack: (r: unknown) => void) => {
      void socket.join(`r:${req.roomId}`);
      ack({ ok: true, data: { participantId: id } });
    });
    socket.on('room:signal', (req: { roomId: string; to: string; signal: unknown }, ack: (r: unknown) => void) => {
      io.to(`p:${req.to}`).emit('room:signal', { roomId: req.roomId, from: id, signal: req.signal });
      ack({ ok: true, data: {} });
    });
  });
  http.listen(0, '127.0.0.1', () => send({ ready: true, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, auth: Array.from({ length: clients }, (_, i) => ({ id: `c${i}` })), rooms: Array.from({ length: Math.ceil(clients / roomSize) }, (_, i) => `room${i}`) }));
} else {
  const p = await startTestPlatform({ overrides: { limits: { socketEventsPerSecond: 10_000, socketEventBurst: 10_000, maxRoomParticipants: roomSize } } });
  const tenant = await p.createTenant('bench');
  const rooms: string[] = [];
  for (let i = 0; i < Math.ceil(clients / roomSize); i++) rooms.push((await p.services.rooms.create(tenant.tenantId, { name: `room${i}`, type: 'group' })).id);
  const auth: Array<{ token: string }> = [];
  for (let i = 0; i < clients; i++) auth.push({ token: await p.mintToken(tenant.tenantId, `user${i}`, { rooms: ['*'] }) });
  send({ ready: true, url: p.baseUrl, auth, rooms });
}
