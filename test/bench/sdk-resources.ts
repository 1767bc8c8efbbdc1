/**
 * CPU and memory of headless Chromium during a 1:1 call and a 3-party mesh room (relay-only through coturn on
 * loopback, fake 640×480 camera + audio). Samples the whole Chromium process tree for N seconds (default 10):
 * CPU = Δ(utime+stime) / wall time (100 % = one core), memory = PSS sum (shared pages counted once).
 * Run: npx tsx test/bench/sdk-resources.ts [seconds]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { startE2E, type E2E } from '../e2e/support/harness.js';

const TICK = 100; // USER_HZ

function tree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* process went away */
    }
  }
  const out: number[] = [];
  for (const pid of parent.keys()) {
    let p: number | undefined = pid;
    while (p && p !== root && p !== 1) p = parent.get(p);
    if (p === root && pid !== root) out.push(pid);
  }
  return out;
}

function cpuTicks(pids: number[]): number {
  let n = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').slice(0, undefined);
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      n += Number(rest[11]) + Number(rest[12]);
    } catch {
      /* gone */
    }
  }
  return n;
}

function pssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      kb += Number(m?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return Math.round(kb / 1024);
}

async function measure(seconds: number): Promise<{ cpuPct: number; pssMb: number; processes: number }> {
  const chromiumPids = () => tree(process.pid).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim().startsWith('chrom');
    } catch {
      return false;
    }
  });
  const pids = chromiumPids();
  const c0 = cpuTicks(pids);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const c1 = cpuTicks(pids);
  const wall = (performance.now() - t0) / 1000;
  return { cpuPct: Math.round(((c1 - c0) / TICK / wall) * 1000) / 10, pssMb: pssMb(chromiumPids()), processes: pids.length };
}

async function party(e2e: E2E, names: string[]): Promise<void> {
  const roomId = await e2e.createRoom(names.join('-'));
  const pages = [];
  for (const n of names) {
    const p = await e2e.page(n);
    await p.evaluate(
      async ([t, room]) => {
        await window.E2E.connect(t);
        await window.E2E.makeMedia();
        await window.E2E.join(room);
      },
      [await e2e.token(n), roomId] as const,
    );
    pages.push(p);
  }
  for (const p of pages)
    await p.waitForFunction((n) => window.E2E.peers().length === n && window.E2E.peers().every((x: { peer: { pc: RTCPeerConnection } }) => x.peer.pc.connectionState === 'connected'), names.length - 1, { timeout: 20_000 });
  await new Promise((r) => setTimeout(r, 3_000)); // past ramp-up
}

export async function resources(seconds = 10): Promise<Record<string, { cpuPct: number; pssMb: number; processes: number }>> {
  const out: Record<string, { cpuPct: number; pssMb: number; processes: number }> = {};
  for (const [label, names] of [
    ['idle browser', []],
    ['1:1 call (2 pages)', ['a1', 'b1']],
    ['3-party mesh room (3 pages)', ['a3', 'b3', 'c3']],
  ] as const) {
    const e2e = await startE2E();
    try {
      if (names.length) await party(e2e, [...names]);
      out[label] = await measure(seconds);
    } finally {
      await e2e.close();
    }
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await resources(Number(process.argv[2] ?? 10));
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(30)} CPU ${String(v.cpuPct).padStart(5)} % of one core   PSS ${String(v.pssMb).padStart(5)} MB   ${v.processes} processes`);
}
