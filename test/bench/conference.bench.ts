/**
 * Conference mixer cost (docs/conferences.md § Performance).
 *
 *   NODE_OPTIONS=--openssl-legacy-provider npx tsx test/bench/conference.bench.ts [conferences=10] [participants=5] [seconds=10]
 *
 * 1. Mixer only: `conferences × participants` fake endpoints (send is a no-op), ticks run back to back for
 *    `seconds` of audio; prints CPU µs per tick per conference and per mixed participant, and the share of one
 *    core per participant in real time (µs per participant-tick / 20 ms).
 * 2. Real UDP: every participant is an RtpEndpoint (G.711) on 127.0.16.1 (ports 50000–50999) mixed by a running
 *    ConferenceManager, talking to a peer RtpEndpoint that plays a tone (the "phone"); both sides in this process.
 *    Prints process CPU over `seconds` and the peers-only baseline measured first, so the difference is the
 *    conference side (mixer + RTP receive/decode + encode/send).
 */
import pino from 'pino';
import { ConferenceManager } from '../../runtime/sbc/voice/conference/manager.js';
import { Mixer } from '../../runtime/sbc/voice/conference/mixer.js';
import { RtpEndpoint, RtpPortPool } from '../../runtime/sbc/voice/media/rtp-endpoint.js';
import type { AudioSource, Frame, MediaEndpoint } from '../../runtime/sbc/voice/contracts.js';

const CONFS = Number(process.argv[2] ?? 10);
const PARTS = Number(process.argv[3] ?? 5);
const SECONDS = Number(process.argv[4] ?? 10);
const log = pino({ level: 'silent' });

function tone(hz: number): AudioSource {
  let n = 0;
  return {
    read() {
      const f = new Int16Array(160);
      for (let i = 0; i < 160; i++) f[i] = Math.round(6000 * Math.sin((2 * Math.PI * hz * (n * 160 + i)) / 8000));
      n++;
      return f;
    },
  };
}

class NullEndpoint implements MediaEndpoint {
  cb?: (f: Frame) => void;
  constructor(readonly id: string) {}
  answer() { return ''; }
  offer() { return ''; }
  accept() {}
  onFrame(cb: (f: Frame) => void) { this.cb = cb; return () => (this.cb = undefined); }
  onDtmf() { return () => undefined; }
  send() {}
  play() { return Promise.resolve('done' as const); }
  stop() {}
  sendDtmf() { return Promise.resolve(); }
  stats() { return { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 }; }
  close() {}
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

function mixerOnly(): void {
  const mixers: Mixer[] = [];
  const eps: Array<{ ep: NullEndpoint; src: AudioSource }> = [];
  for (let c = 0; c < CONFS; c++) {
    const m = new Mixer();
    for (let p = 0; p < PARTS; p++) {
      const ep = new NullEndpoint(`${c}-${p}`);
      m.add(ep.id, ep);
      eps.push({ ep, src: tone(300 + 100 * p) });
    }
    mixers.push(m);
  }
  const ticks = SECONDS * 50;
  // Frames are generated before timing (decode cost belongs to the endpoint, not the mixer).
  const frames = eps.map((e) => Array.from({ length: 8 }, () => Int16Array.from(e.src.read()!)));
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  for (let t = 0; t < ticks; t++) {
    for (let i = 0; i < eps.length; i++) eps[i]!.ep.cb?.(frames[i]![t % 8]!);
    for (const m of mixers) m.tick();
  }
  const cpu = cpuMs(process.cpuUsage(t0));
  const wall = performance.now() - w0;
  const perPartTickUs = (cpu * 1000) / (ticks * CONFS * PARTS);
  console.log(`mixer only: ${CONFS} conferences × ${PARTS} participants, ${ticks} ticks (${SECONDS} s of audio) in ${wall.toFixed(0)} ms wall, ${cpu.toFixed(0)} ms CPU`);
  console.log(`  ${((cpu * 1000) / (ticks * CONFS)).toFixed(1)} µs per conference tick; ${perPartTickUs.toFixed(2)} µs per participant per tick = ${((perPartTickUs / 20_000) * 100).toFixed(3)} % of a core per mixed participant`);
  for (const m of mixers) m.close();
}

async function realUdp(): Promise<void> {
  const pool = new RtpPortPool('127.0.16.1', 50000, 50999);
  const phones: RtpEndpoint[] = [];
  const legs: RtpEndpoint[] = [];
  for (let i = 0; i < CONFS * PARTS; i++) {
    const leg = await RtpEndpoint.create(pool);
    const phone = await RtpEndpoint.create(pool);
    leg.accept(phone.answer(leg.offer()));
    legs.push(leg);
    phones.push(phone);
  }
  // Baseline: phones send their tones to the legs, nothing mixes (legs only receive and decode).
  for (const [i, p] of phones.entries()) void p.play(tone(300 + 100 * (i % PARTS)));
  await new Promise((r) => setTimeout(r, 1000));
  let t0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const base = cpuMs(process.cpuUsage(t0));
  const mgr = new ConferenceManager({ log });
  for (const [i, leg] of legs.entries()) await mgr.join({ tenantId: 't', name: `c${Math.floor(i / PARTS)}`, callId: `ca${i}`, label: String(i), endpoint: leg });
  await new Promise((r) => setTimeout(r, 1000));
  t0 = process.cpuUsage();
  const in0 = phones.reduce((s, p) => s + p.stats().packetsIn, 0);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const mixed = cpuMs(process.cpuUsage(t0));
  const received = phones.reduce((s, p) => s + p.stats().packetsIn, 0) - in0;
  const n = CONFS * PARTS;
  console.log(`real UDP: ${n} participants in ${CONFS} conferences, ${SECONDS} s`);
  console.log(`  phones sending only (baseline): ${((base / (SECONDS * 1000)) * 100).toFixed(1)} % of a core`);
  console.log(`  with mixing: ${((mixed / (SECONDS * 1000)) * 100).toFixed(1)} % of a core; mixed packets received by the phones: ${received} (${(received / n / SECONDS).toFixed(1)} pps each, 50 expected)`);
  console.log(`  conference side: ${(((mixed - base) / (SECONDS * 1000)) * 100 / n).toFixed(3)} % of a core per participant (mixer + G.711 encode + UDP send)`);
  mgr.close();
  for (const e of [...phones, ...legs]) e.close();
}

mixerOnly();
await realUdp();
process.exit(0);
