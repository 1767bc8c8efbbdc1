/**
 * SBC benchmarks on loopback (127.0.3.0/24): sipp UAC → SBC (SIP engine + SBC app in this process, media
 * anchored in rtpengine, the real DynamoSipRepository over in-process dynalite) → sipp UAS.
 *   1. setup latency: sipp → sipp direct vs sipp → SBC → sipp (sipp's INVITE→200 response time, mean)
 *   2. sustained CPS steps: calls ok/failed, retransmissions, CPU of this process per call, rtpengine CPU
 *   3. Kamailio + rtpengine as the reference ceiling, when kamailio is installed (ratio printed)
 *   4. concurrent G.711 calls with RTP (sipp pcap play, UAS echo), loss measured on rtpengine's counters
 * Usage: npx tsx test/bench/sbc-throughput.ts [rates=50,100,200,300] [seconds=8] [concurrent=100,200]
 *   Storage (SBC_BENCH_STORAGE): `inprocess` (default) = the real DynamoSipRepository over HTTP to dynalite inside
 *   the SBC's Node process (its CPU counted as the SBC's); `process` = dynalite in its own process (127.0.3.8:22452);
 *   `memory` = an in-memory SipRepository (the SBC's own ceiling).
 *   SBC_BENCH_KAMAILIO=off: skip the Kamailio reference; SBC_BENCH_ONLY=kamailio: only Kamailio's CPS steps (its
 *   ceiling). SBC_BENCH_LATENCY=off: skip step 1.
 * Ports: rtpengine ng 127.0.3.9:22351, media 40000–44999 (5,000 ports ≈ 1,250 calls); sipp -cp 9200/9201,
 * -mp 51000 (UAC) / 52000 (UAS). One sipp media port per side serves every call (rtpengine tells the calls apart
 * by its own ports), so sipp needs no port range; rtpengine needs 4 ports per call and one fd per port.
 * Prints a markdown summary; asserts nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SCENARIOS, UAC_IP, UAS_IP, ENGINE_IP, RTP_IP, DB_IP, seed, startBed, type Bed } from '../integration/sbc/harness.js';
import { hasCommand } from '../support/requires.js';
import { startDaemon, tcpProbe } from '../../runtime/local/daemon.js';

const rates = (process.argv[2] ?? '50,100,200,300').split(',').map(Number).filter((n) => n > 0);
const seconds = Number(process.argv[3] ?? 8);
const concurrency = (process.argv[4] ?? '100,200').split(',').map(Number).filter((n) => n > 0);
const KAM_IP = '127.0.3.7';
const NG_PORT = 22351;

function sippRun(args: string[], cwd: string): { done: Promise<{ code: number | null; out: string }>; pid: number } {
  const p = spawn('sipp', [...args, '-nostdin'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  return { done: new Promise((resolve) => p.on('exit', (code) => resolve({ code, out: out.slice(-3000) }))), pid: p.pid ?? 0 };
}

function stat(csv: string, name: string): string {
  const lines = csv.trim().split('\n');
  const cols = lines[0]!.split(';');
  return lines[lines.length - 1]!.split(';')[cols.indexOf(name)] ?? '';
}
/** sipp time fields look like `00:00:00:012345` (h:m:s:µs). */
function ms(t: string): number {
  const [h, m, s, us] = t.split(':').map(Number);
  return ((h! * 60 + m!) * 60 + s!) * 1000 + us! / 1000;
}
function procCpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

function scenarioDir(vars: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sbc-bench-'));
  mkdirSync(path.join(dir, 'pcap'));
  for (const f of ['uac-bench.xml', 'uas-bench.xml']) {
    let xml = readFileSync(path.join(SCENARIOS, f), 'utf8');
    for (const [k, v] of Object.entries(vars)) xml = xml.replaceAll(`__${k}__`, v);
    writeFileSync(path.join(dir, f), xml);
  }
  return dir;
}

interface StepResult { peak: number; rate: number; calls: number; ok: number; failed: number; retrans: number; cps: number; rttMs: number; cpuPct: number; cpuMsPerCall: number; rtpCpuPct: number }

let activeCalls = (): number => 0;

async function step(target: string, uasPort: number, rate: number, calls: number, rtpPid: number, holdMs = 500, play = ''): Promise<StepResult> {
  // sipp's g711a.pcap is PCMA (+ RFC 2833 events): both sides negotiate PCMA + telephone-event for the RTP runs.
  const dir = scenarioDir({ FROM: '+12125550100', TO: '+15550001', HOLD_MS: String(holdMs), PLAY: play, PT: play ? '8' : '0', CODEC: play ? 'PCMA' : 'PCMU', PTIME: play ? '30' : '20' }); // the pcap has 30 ms packets
  const uas = sippRun(['-sf', 'uas-bench.xml', '-i', UAS_IP, '-p', String(uasPort), '-cp', '9201', '-mp', '52000', '-m', String(calls), '-timeout', `${seconds * 4 + 60}s`, ...(play ? ['-rtp_echo'] : []), ...(process.env.SBC_BENCH_TRACE ? ['-trace_msg', '-trace_err'] : [])], dir);
  await new Promise((r) => setTimeout(r, 300));
  const cpu0 = process.cpuUsage();
  const rtp0 = procCpuMs(rtpPid);
  const t0 = Date.now();
  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, activeCalls()); }, 200);
  const uac = sippRun(['-sf', 'uac-bench.xml', target, '-i', UAC_IP, '-p', '5061', '-cp', '9200', '-mp', '51000',
    '-r', String(rate), '-m', String(calls), '-l', String(Math.max(rate * 4, 50, play ? calls : 0)), '-timeout', `${seconds * 4 + 60}s`,
    '-trace_stat', '-stf', 'uac.csv', '-fd', '1', ...(process.env.SBC_BENCH_TRACE ? ['-trace_msg', '-trace_err'] : [])], dir);
  const r = await uac.done;
  clearInterval(sampler);
  console.error(`step ${target} ${rate} cps × ${calls}: sipp exit ${r.code} after ${((Date.now() - t0) / 1000).toFixed(1)} s, peak ${peak} calls`);
  const elapsed = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const rtpCpu = procCpuMs(rtpPid) - rtp0;
  try { process.kill(uas.pid, 'SIGKILL'); } catch (err) { void err; }
  let ok = 0; let failed = calls; let retrans = 0; let rtt = NaN;
  try {
    const csv = readFileSync(path.join(dir, 'uac.csv'), 'utf8');
    ok = Number(stat(csv, 'SuccessfulCall(C)')); failed = Number(stat(csv, 'FailedCall(C)')); retrans = Number(stat(csv, 'Retransmissions(C)'));
    rtt = ms(stat(csv, 'ResponseTime1(C)'));
  } catch (err) {
    console.error('no sipp stats', r.out, err);
  }
  if (!process.env.SBC_BENCH_TRACE) rmSync(dir, { recursive: true, force: true });
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const activeSecs = Math.max(0.001, elapsed - holdMs / 1000);
  return { peak, rate, calls, ok, failed, retrans, cps: ok / activeSecs, rttMs: rtt, cpuPct: (cpuMs / (elapsed * 1000)) * 100, cpuMsPerCall: cpuMs / calls, rtpCpuPct: (rtpCpu / (elapsed * 1000)) * 100 };
}

async function kamailio(rtpNg: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'kam-'));
  mkdirSync(path.join(dir, 'run'));
  writeFileSync(path.join(dir, 'kamailio.cfg'), `#!KAMAILIO
debug=0
log_stderror=yes
children=2
listen=udp:${KAM_IP}:5060
auto_aliases=no
alias="${KAM_IP}:5060"
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "rtpengine.so"
modparam("rtpengine", "rtpengine_sock", "udp:${RTP_IP}:${rtpNg}")
request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (is_method("BYE")) rtpengine_delete();
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
    $du = "sip:${UAS_IP}:5063";
    t_relay();
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { rtpengine_delete(); t_relay(); } exit; }
  if (is_method("INVITE")) { record_route(); rtpengine_offer("replace-origin replace-session-connection"); t_on_reply("REPLY"); }
  $du = "sip:${UAS_IP}:5063";
  t_relay();
}
onreply_route[REPLY] { if (has_body("application/sdp")) rtpengine_answer("replace-origin replace-session-connection"); }
`);
  const d = await startDaemon({ name: 'kamailio', command: 'kamailio', args: ['-f', path.join(dir, 'kamailio.cfg'), '-P', path.join(dir, 'run', 'k.pid'), '-Y', path.join(dir, 'run'), '-m', '64', '-M', '8', '-DD', '-E'], ready: /rtpengine|INFO|listening|bind/i, timeoutMs: 5000 }).catch(async () =>
    startDaemon({ name: 'kamailio', command: 'kamailio', args: ['-f', path.join(dir, 'kamailio.cfg'), '-P', path.join(dir, 'run', 'k.pid'), '-Y', path.join(dir, 'run'), '-m', '64', '-M', '8', '-DD', '-E'], ready: async () => true }));
  await new Promise((r) => setTimeout(r, 300));
  return { stop: async () => { await d.stop(); rmSync(dir, { recursive: true, force: true }); } };
}

function table(title: string, rows: StepResult[]): string {
  return [`| ${title} offered cps | calls | ok | failed | retrans | achieved cps | INVITE→200 mean (ms) | Node CPU % | CPU ms/call | rtpengine CPU % |`, '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.rate} | ${r.calls} | ${r.ok} | ${r.failed} | ${r.retrans} | ${r.cps.toFixed(1)} | ${r.rttMs.toFixed(2)} | ${r.cpuPct.toFixed(0)} | ${r.cpuMsPerCall.toFixed(2)} | ${r.rtpCpuPct.toFixed(0)} |`)].join('\n');
}

async function main(): Promise<void> {
  const storage = process.env.SBC_BENCH_STORAGE ?? 'inprocess';
  const memoryRepo = storage === 'memory';
  let dynamoEndpoint: string | undefined;
  let dynalite: Awaited<ReturnType<typeof startDaemon>> | undefined;
  if (storage === 'process') {
    dynalite = await startDaemon({ name: 'dynalite', command: path.resolve('node_modules/.bin/dynalite'), args: ['--host', DB_IP, '--port', '22452', '--createTableMs', '0', '--deleteTableMs', '0', '--updateTableMs', '0'], ready: () => tcpProbe(DB_IP, 22452) });
    dynamoEndpoint = `http://${DB_IP}:22452`;
  }
  const bed: Bed = await startBed({ ngPort: NG_PORT, media: { minPort: 40000, maxPort: 44999, capacity: 1200 }, logLevel: 'warn', cacheSeconds: 5, memoryRepo, ...(dynamoEndpoint ? { dynamoEndpoint } : {}), sipTimers: { t1: 500, t2: 4000, t4: 5000 }, ngTimeoutMs: 3000,
    // The sipp UAC is one source sending hundreds of INVITEs/s: allow-listed like a trusted carrier, else the SIP
    // firewall's per-source token bucket (10/s, burst 40, docs/security.md) drops the excess silently.
    security: { allowCidrs: ['127.0.3.0/24'] }, limits: { ringTimeoutSeconds: 30, gatewayTimeoutSeconds: 10 } });
  await seed(bed.repo);
  activeCalls = () => bed.sbc.activeCalls().length;
  const rtpPid = bed.rtpengine.pid;
  const out: string[] = [];
  try {
    // 1. Direct baseline (sipp → sipp) vs through the SBC, at a light rate.
    if (process.env.SBC_BENCH_LATENCY !== 'off') {
    const direct = await step(`${UAS_IP}:5062`, 5062, 20, 100, rtpPid);
    const via = await step(`${ENGINE_IP}:5060`, 5062, 20, 100, rtpPid);
    out.push(`Setup latency at 20 cps (100 calls): direct sipp→sipp ${direct.rttMs.toFixed(2)} ms, through the SBC ${via.rttMs.toFixed(2)} ms → added ${(via.rttMs - direct.rttMs).toFixed(2)} ms (INVITE→200 incl. 2 rtpengine commands, 6 DynamoDB reads, 1 coalesced call-record write).`);
    }

    // 2. CPS steps through the SBC.
    const sbcRows: StepResult[] = [];
    for (const rate of process.env.SBC_BENCH_ONLY === 'kamailio' ? [] : rates) {
      sbcRows.push(await step(`${ENGINE_IP}:5060`, 5062, rate, rate * seconds, rtpPid));
      await bed.sbc.cdr.flush();
      await new Promise((r) => setTimeout(r, 1500));
    }
    out.push('', table(`SBC (storage: ${storage})`, sbcRows));

    // 3. Kamailio + rtpengine reference.
    if (hasCommand('kamailio') && process.env.SBC_BENCH_KAMAILIO !== 'off') {
      const k = await kamailio(NG_PORT);
      const kRows: StepResult[] = [];
      try {
        for (const rate of rates) kRows.push(await step(`${KAM_IP}:5060`, 5063, rate, rate * seconds, rtpPid));
      } finally {
        await k.stop();
      }
      out.push('', table('Kamailio', kRows));
      const best = (rows: StepResult[]) => Math.max(...rows.filter((r) => r.failed === 0).map((r) => r.cps), 0);
      out.push('', `Best clean CPS: SBC ${best(sbcRows).toFixed(1)}, Kamailio ${best(kRows).toFixed(1)} → ratio ${(best(sbcRows) / Math.max(1, best(kRows))).toFixed(2)}× (Kamailio capped by the offered rates).`);
    } else {
      out.push('', 'Kamailio not installed: no reference ceiling (apt-get install kamailio).');
    }

    // 4. Concurrent G.711 calls with RTP (10 s pcap each way, UAS echo), loss on rtpengine counters.
    for (const n of concurrency) {
      const lost: number[] = [];
      let sent = 0; let echoed = 0;
      const unsubscribe = bed.sbc.onCallEnded((_info, q) => {
        if (!q) return;
        const a = q.packets['a-leg'] ?? 0;
        const b = q.packets['b-leg'] ?? 0;
        sent += a; echoed += b;
        lost.push(a - b);
      });
      const rate = Math.max(10, Math.ceil(n / 4)); // ramp ≈ 4 s, calls last ≈ 10.5 s: all n up at once
      const r = await step(`${ENGINE_IP}:5060`, 5062, rate, n, rtpPid, 10_500, '<nop><action><exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/></action></nop>');
      await new Promise((res) => setTimeout(res, 1000));
      unsubscribe();
      const lossPct = sent ? ((sent - echoed) / sent) * 100 : NaN;
      out.push('', `Concurrent RTP: ${n} calls at ${rate} cps (peak ${r.peak} calls up at once), ${r.ok} ok / ${r.failed} failed; rtpengine received ${sent} packets from callers and ${echoed} echoed back by the callee (relayed twice) → loss ${lossPct.toFixed(3)} %; rtpengine CPU ${r.rtpCpuPct.toFixed(0)} %, Node CPU ${r.cpuPct.toFixed(0)} %.`);
    }
  } finally {
    await bed.close();
    await dynalite?.stop();
  }
  console.log(out.join('\n'));
}

void main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
