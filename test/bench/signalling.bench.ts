/**
 * Signalling benchmark: N socket.io clients in rooms of 5 exchange targeted `room:signal` messages through
 * (a) the real platform and (b) a bare socket.io relay, in the same run, on this machine.
 *
 *   NODE_OPTIONS=--openssl-legacy-provider npx tsx test/bench/signalling.bench.ts [clients=5000] [seconds=10] [ratePerClient=0.5]
 *
 * Phase 1 (throughput): 200 clients send closed-loop (next message when the ack arrives) for `seconds`.
 * Phase 2 (latency at scale): `clients` sockets connected and joined; each sends `ratePerClient` msg/s to a
 * peer of its room; relay latency = receive time − send time (same process clock). Prints p50/p99 and
 * the server's RSS. Figures go to docs/benchmarks.md.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { io as connectIo, type Socket } from 'socket.io-client';

const CLIENTS = Number(process.argv[2] ?? 5000);
const SECONDS = Number(process.argv[3] ?? 10);
const RATE = Number(process.argv[4] ?? 0.5);
const ROOM = 5;
const serverFile = fileURLToPath(new URL('./support/signalling-server.ts', import.meta.url));

interface Ready { url: string; auth: Array<Record<string, string>>; rooms: string[] }

function startServer(mode: 'platform' | 'bare', clients: number): Promise<{ child: ChildProcess; ready: Ready }> {
  const child = fork(serverFile, [mode, String(clients), String(ROOM)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
  return new Promise((resolve, reject) => {
    child.once('message', (m: Ready & { ready: boolean }) => resolve({ child, ready: m }));
    child.once('exit', (c) => reject(new Error(`${mode} server exited ${c}`)));
  });
}
const ask = (child: ChildProcess): Promise<{ rss: number; cpu: NodeJS.CpuUsage }> =>
  new Promise((resolve) => {
    child.once('message', (m: { rss: number; cpu: NodeJS.CpuUsage }) => resolve(m));
    child.send({ cmd: 'rss' });
  });

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

interface Client { socket: Socket; pid: string; room: string; peers: string[] }

async function connectAll(ready: Ready, n: number): Promise<Client[]> {
  const out: Client[] = [];
  const batch = 200;
  for (let i = 0; i < n; i += batch) {
    const chunk = await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, async (_, k) => {
        const idx = i + k;
        const socket = connectIo(ready.url, { transports: ['websocket'], auth: ready.auth[idx]!, reconnection: false, forceNew: true, timeout: 60_000 });
        await new Promise<void>((res, rej) => {
          socket.once('connect', () => res());
          socket.once('connect_error', rej);
        });
        const room = ready.rooms[Math.floor(idx / ROOM)]!;
        const r = (await socket.timeout(60_000).emitWithAck('room:join', { roomId: room })) as { ok: boolean; data: { participantId: string }; error?: unknown };
        if (!r.ok) throw new Error(`join failed: ${JSON.stringify(r.error)}`);
        return { socket, pid: r.data.participantId, room, peers: [] as string[] };
      }),
    );
    out.push(...chunk);
  }
  for (const c of out) c.peers = out.filter((o) => o.room === c.room && o !== c).map((o) => o.pid);
  return out;
}

function signal(c: Client, to: string) {
  return { roomId: c.room, to, signal: { type: 'candidate', candidate: { candidate: `candidate:${performance.now()} 1 udp 1 127.0.0.1 9 typ host`, sdpMid: '0', sdpMLineIndex: 0 } } };
}

async function throughput(ready: Ready, n: number, child: ChildProcess): Promise<{ msgsPerSec: number; p50: number; p99: number; cpuUs: number }> {
  const cs = await connectAll(ready, n);
  const before = await ask(child);
  child.send({ cmd: 'profile-start' });
  const lat: number[] = [];
  let delivered = 0;
  for (const c of cs) c.socket.on('room:signal', (e: { signal: { candidate: { candidate: string } } }) => {
    delivered++;
    lat.push(performance.now() - Number(e.signal.candidate.candidate.split(/[: ]/)[1]));
  });
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(cs.map(async (c) => {
    while (performance.now() < end) await c.socket.timeout(10_000).emitWithAck('room:signal', signal(c, c.peers[Math.floor(Math.random() * c.peers.length)]!));
  }));
  await new Promise((r) => setTimeout(r, 300));
  const after = await ask(child);
  child.send({ cmd: 'profile-stop' });
  await new Promise((r) => setTimeout(r, 300));
  for (const c of cs) c.socket.close();
  const cpuUs = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system;
  return { msgsPerSec: delivered / SECONDS, p50: pct(lat, 50), p99: pct(lat, 99), cpuUs };
}

async function atScale(ready: Ready, n: number): Promise<{ connected: number; connectSeconds: number; sent: number; delivered: number; p50: number; p99: number }> {
  const t0 = performance.now();
  const cs = await connectAll(ready, n);
  const connectSeconds = (performance.now() - t0) / 1000;
  const lat: number[] = [];
  let sent = 0;
  for (const c of cs) c.socket.on('room:signal', (e: { signal: { candidate: { candidate: string } } }) => lat.push(performance.now() - Number(e.signal.candidate.candidate.split(/[: ]/)[1])));
  const total = Math.round(n * RATE * SECONDS);
  const interval = (SECONDS * 1000) / total;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor((performance.now() - start) / interval));
      while (sent < due) {
        const c = cs[sent % cs.length]!;
        c.socket.emit('room:signal', signal(c, c.peers[sent % c.peers.length]!), () => undefined);
        sent++;
      }
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  await new Promise((r) => setTimeout(r, 1000));
  for (const c of cs) c.socket.close();
  return { connected: cs.length, connectSeconds, sent, delivered: lat.length, p50: pct(lat, 50), p99: pct(lat, 99) };
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const tp: Record<'bare' | 'platform', Array<{ msgsPerSec: number; p50: number; p99: number; cpuUsPerMsg: number }>> = { bare: [], platform: [] };
// Throughput, alternating bare and platform rounds so that machine load affects both alike.
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of ['bare', 'platform'] as const) {
    const srv = await startServer(mode, 200);
    const t = await throughput(srv.ready, 200, srv.child);
    srv.child.send({ cmd: 'exit' });
    const cpuUs = t.cpuUs;
    tp[mode].push({ ...t, cpuUsPerMsg: cpuUs / (t.msgsPerSec * SECONDS) });
    console.log(`round ${round + 1} ${mode}: ${t.msgsPerSec.toFixed(0)} msg/s, p50 ${t.p50.toFixed(1)} ms, p99 ${t.p99.toFixed(1)} ms, server CPU ${(cpuUs / (t.msgsPerSec * SECONDS)).toFixed(1)} µs/msg`);
  }
}
const scale: Record<string, unknown> = {};
for (const mode of ['bare', 'platform'] as const) {
  const sc = await startServer(mode, CLIENTS);
  const s = await atScale(sc.ready, CLIENTS);
  const mem = await ask(sc.child);
  sc.child.send({ cmd: 'exit' });
  scale[mode] = { ...s, serverRssMB: Math.round(mem.rss / 1e6) };
  console.log(`${mode} at scale: ${JSON.stringify(scale[mode])}`);
}
const m = (mode: 'bare' | 'platform', k: 'msgsPerSec' | 'p99' | 'cpuUsPerMsg') => median(tp[mode].map((r) => r[k]));
const plat = scale.platform as { p99: number; connected: number; delivered: number; sent: number };
console.log(`\nmedian of ${ROUNDS} rounds (200 clients, closed loop, ${SECONDS} s):`);
console.log(`  bare     ${m('bare', 'msgsPerSec').toFixed(0)} msg/s, p99 ${m('bare', 'p99').toFixed(1)} ms, ${m('bare', 'cpuUsPerMsg').toFixed(1)} µs CPU/msg`);
console.log(`  platform ${m('platform', 'msgsPerSec').toFixed(0)} msg/s, p99 ${m('platform', 'p99').toFixed(1)} ms, ${m('platform', 'cpuUsPerMsg').toFixed(1)} µs CPU/msg`);
console.log(`  throughput ratio platform/bare: ${(m('platform', 'msgsPerSec') / m('bare', 'msgsPerSec')).toFixed(2)} (target ≥ 0.8); CPU cost ratio ${(m('platform', 'cpuUsPerMsg') / m('bare', 'cpuUsPerMsg')).toFixed(2)}`);
console.log(`platform with ${plat.connected} sockets connected: ${plat.delivered}/${plat.sent} delivered, p99 relay latency ${plat.p99.toFixed(1)} ms (target < 50 ms)`);
process.exit(0);
