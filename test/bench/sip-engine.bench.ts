/**
 * Throughput check: sipp UAC -> engine + srf createB2BUA (in this process) -> sipp UAS, UDP, at increasing
 * call rates. Prints calls/s achieved, failures, retransmissions and this process's CPU. Asserts nothing.
 *   npx tsx test/bench/sip-engine.bench.ts [rate,rate,...] [seconds per step]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import Srf from 'drachtio-srf';
import { startSipEngine } from '../../runtime/sip-engine/index.js';

const ENGINE_IP = '127.0.2.3';
const rates = (process.argv[2] ?? '50,100,200,400').split(',').map(Number);
const seconds = Number(process.argv[3] ?? 5);

function run(args: string[], cwd: string): Promise<{ code: number | null; out: string; pid: number }> {
  return new Promise((resolve) => {
    const p = spawn('sipp', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('exit', (code) => resolve({ code, out, pid: p.pid ?? 0 }));
  });
}

function lastStat(csv: string, name: string): number {
  const lines = csv.trim().split('\n');
  const cols = lines[0]!.split(';');
  const i = cols.indexOf(name);
  return Number(lines[lines.length - 1]!.split(';')[i]);
}

async function main(): Promise<void> {
  const engine = await startSipEngine({
    sip: [{ transport: 'udp', host: ENGINE_IP, port: 0 }],
    admin: { host: '127.0.0.1', port: 0, secret: 'bench' },
    log: pino({ level: 'warn' }),
  });
  const port = engine.sipEndpoints[0]!.port;
  const srf = new Srf();
  await new Promise<void>((resolve, reject) => {
    srf.on('connect', (err: Error | null) => (err ? reject(err) : resolve()));
    srf.connect({ host: '127.0.0.1', port: engine.adminPort, secret: 'bench' });
  });
  srf.invite(async (req, res) => {
    try {
      const { uas, uac } = await srf.createB2BUA(req, res, 'sip:callee@127.0.2.2:5062', { localSdpB: req.body });
      uas.on('destroy', () => { if (uac.connected) void uac.destroy(); });
      uac.on('destroy', () => { if (uas.connected) void uas.destroy(); });
      if (!uas.connected && uac.connected) void uac.destroy();
    } catch {
      if (!res.finalResponseSent) res.send(500);
    }
  });

  console.log('rate(cps)  calls  ok     failed  retrans  achieved(cps)  cpu(%)  dialogs-left');
  for (const rate of rates) {
    const dir = mkdtempSync(path.join(tmpdir(), 'sipp-bench-'));
    const calls = rate * seconds;
    const uas = spawn('sipp', ['-sn', 'uas', '-i', '127.0.2.2', '-p', '5062', '-cp', '8898', '-mp', '16900', '-nostdin', '-m', String(calls)],
      { cwd: dir, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    const r = await run(['-sn', 'uac', `${ENGINE_IP}:${port}`, '-i', '127.0.2.1', '-p', '5061', '-cp', '8899', '-mp', '16950',
      '-nostdin', '-r', String(rate), '-m', String(calls), '-d', '500', '-l', String(rate * 4), '-timeout', String(seconds + 20) + 's',
      '-trace_stat', '-stf', 'uac.csv', '-fd', '1'], dir);
    const elapsed = (Date.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (uas.pid) try { process.kill(uas.pid, 'SIGKILL'); } catch { /* exited */ }
    let ok = 0; let failed = 0; let retrans = 0;
    try {
      const csv = readFileSync(path.join(dir, 'uac.csv'), 'utf8');
      ok = lastStat(csv, 'SuccessfulCall(C)'); failed = lastStat(csv, 'FailedCall(C)'); retrans = lastStat(csv, 'Retransmissions(C)');
    } catch { failed = calls; }
    rmSync(dir, { recursive: true, force: true });
    await new Promise((res) => setTimeout(res, 500));
    const pct = ((cpu.user + cpu.system) / 1000 / (elapsed * 1000)) * 100;
    console.log(`${String(rate).padEnd(10)} ${String(calls).padEnd(6)} ${String(ok).padEnd(6)} ${String(failed).padEnd(7)} ` +
      `${String(retrans).padEnd(8)} ${(ok / Math.max(elapsed - 0.5, 0.1)).toFixed(1).padEnd(14)} ${pct.toFixed(0).padEnd(7)} ${engine.stats().dialogs}` +
      (r.code !== 0 ? `  (sipp rc=${r.code})` : ''));
  }
  srf.disconnect();
  await engine.close();
}

main().catch((err: unknown) => { console.error(err); process.exitCode = 1; });
