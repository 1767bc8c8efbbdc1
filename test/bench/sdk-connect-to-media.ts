/**
 * Time from `connect()` to media flowing through TURN on loopback: a fresh client connects, joins a room where a peer
 * is already publishing, and the clock stops at the first inbound audio packet and decoded video frame on a relay/relay
 * pair. Local media is opened before the clock starts. Reports p50/p95 over N runs (default 12).
 * Run: npx tsx test/bench/sdk-connect-to-media.ts [runs]
 */
import { startE2E } from '../e2e/support/harness.js';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

export async function connectToMedia(runs = 12): Promise<{ runs: number; p50: number; p95: number; min: number; max: number; samples: number[] }> {
  const e2e = await startE2E();
  try {
    const roomId = await e2e.createRoom('bench');
    const host = await e2e.page('host');
    await host.evaluate(
      async ([t, room]) => {
        await window.E2E.connect(t);
        await window.E2E.makeMedia();
        await window.E2E.join(room);
      },
      [await e2e.token('host'), roomId] as const,
    );
    const guest = await e2e.page('guest');
    await guest.evaluate(() => window.E2E.makeMedia());
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const token = await e2e.token(`guest${i}`);
      const ms = await guest.evaluate(
        async ([t, room]) => {
          const t0 = performance.now();
          const client = await window.Cpaas.connect({ token: t, relayOnly: true, qualityIntervalMs: 0 });
          const r = await client.joinRoom(room, { media: window.E2E.media });
          for (;;) {
            const peers = [...r.participants.keys()].map((id: string) => r.peer(id)).filter(Boolean);
            if (peers.length) {
              const s = await window.E2E.pcStats(peers[0].pc);
              if (s.local === 'relay' && s.audioPackets > 0 && s.framesDecoded > 0) break;
            }
            await new Promise((res) => setTimeout(res, 10));
          }
          const elapsed = performance.now() - t0;
          await client.disconnect();
          return elapsed;
        },
        [token, roomId] as const,
      );
      samples.push(Math.round(ms));
      await new Promise((r) => setTimeout(r, 300));
    }
    return { runs, p50: pct(samples, 50), p95: pct(samples, 95), min: Math.min(...samples), max: Math.max(...samples), samples };
  } finally {
    await e2e.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await connectToMedia(Number(process.argv[2] ?? 12));
  console.log(`connect() → media through TURN over ${r.runs} runs: p50 ${r.p50} ms, p95 ${r.p95} ms (min ${r.min}, max ${r.max}) samples ${r.samples.join(' ')}`);
  process.exitCode = r.p50 <= 1000 ? 0 : 1;
}
