/** Test harness: an engine, a connected drachtio-srf app, and sipp processes (started and killed by PID). */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import Srf from 'drachtio-srf';
import { startSipEngine, type SipEngine, type SipEngineOptions } from '../../../runtime/sip-engine/index.js';
import { hasCommand } from '../../support/requires.js';

export const ENGINE_IP = '127.0.2.3';
export const UAC_IP = '127.0.2.1';
export const UAS_IP = '127.0.2.2';
export const SECRET = 'test-secret';
export const SCENARIOS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/sipp/engine');
export const haveSipp = hasCommand('sipp');

export function testLogger(): pino.Logger {
  return pino({ level: process.env.SIP_ENGINE_LOG ?? 'silent' });
}

export async function startEngine(extra: Partial<SipEngineOptions> = {}): Promise<SipEngine> {
  return startSipEngine({
    sip: [{ transport: 'udp', host: ENGINE_IP, port: 0 }, { transport: 'tcp', host: ENGINE_IP, port: 0 }],
    admin: { host: '127.0.0.1', port: 0, secret: SECRET },
    log: testLogger(),
    cdrs: true,
    ...extra,
  });
}

export function sipPort(engine: SipEngine, transport: 'udp' | 'tcp'): number {
  return engine.sipEndpoints.find((e) => e.transport === transport)!.port;
}

export async function connectSrf(engine: SipEngine, secret = SECRET, setup?: (srf: Srf) => void): Promise<Srf> {
  const srf = new Srf();
  setup?.(srf);
  await new Promise<void>((resolve, reject) => {
    srf.on('connect', (err: Error | null) => (err ? reject(err) : resolve()));
    srf.on('error', (err: Error) => reject(err));
    srf.connect({ host: '127.0.0.1', port: engine.adminPort, secret, reconnect: { maxAttempts: 1 } });
  });
  return srf;
}

export interface Sipp {
  proc: ChildProcess;
  done: Promise<{ code: number | null; output: string }>;
  kill(): void;
  dir: string;
}

const running = new Set<Sipp>();

/** Kills every sipp this harness started that is still running (call from afterAll). */
export function killAllSipp(): void {
  for (const s of running) s.kill();
}

let cpNext = 8880;
let mpNext = 16000;

/**
 * Starts sipp in its own temp dir; `-cp`/`-mp` come from this suite's ranges unless given (the transport,
 * torture and fuzz suites use -cp 9050–9099 and media 19000–19999).
 */
export function sipp(args: string[], ports?: { cp: number; mp: number }): Sipp {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipp-engine-'));
  const cp = ports?.cp ?? cpNext;
  const mp = ports?.mp ?? mpNext;
  if (!ports) {
    cpNext = cpNext >= 8899 ? 8880 : cpNext + 1;
    mpNext = mpNext >= 16900 ? 16000 : mpNext + 20;
  }
  const proc = spawn('sipp', [...args, '-cp', String(cp), '-mp', String(mp), '-nostdin', '-trace_err', '-trace_screen'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
  const done = new Promise<{ code: number | null; output: string }>((resolve) => {
    proc.on('exit', (code) => {
      let logs = '';
      try {
        for (const f of readdirSync(dir).filter((n) => n.endsWith('.log'))) logs += `\n--- ${f}\n${readFileSync(path.join(dir, f), 'utf8').slice(-3000)}`;
      } catch {
        logs += '';
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output: output + logs });
    });
  });
  const handle: Sipp = {
    proc, done, dir,
    kill: () => {
      if (proc.exitCode === null && proc.pid) {
        try { process.kill(proc.pid, 'SIGKILL'); } catch { /* already gone */ }
      }
    },
  };
  running.add(handle);
  void done.then(() => running.delete(handle));
  return handle;
}

/** Waits until a UDP or TCP socket is bound at ip:port (from /proc/net), i.e. sipp is ready. */
export async function waitForBound(transport: 'udp' | 'tcp', ip: string, port: number, timeoutMs = 5000): Promise<void> {
  const v6 = ip === '::1';
  const addr = v6 ? '00000000000000000000000001000000'
    : ip.split('.').reverse().map((o) => Number(o).toString(16).padStart(2, '0')).join('').toUpperCase();
  const hex = `${addr}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const table = readFileSync(`/proc/net/${transport}${v6 ? '6' : ''}`, 'utf8');
    if (table.split('\n').some((l) => l.trim().split(/\s+/)[1] === hex)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`nothing bound at ${transport} ${ip}:${port}`);
}

export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
