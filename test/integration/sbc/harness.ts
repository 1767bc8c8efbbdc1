/**
 * SBC test bed on loopback 127.0.3.0/24: rtpengine (userspace, ng 127.0.3.9:22350+, media 30000–30999, DTMF log
 * to the SBC on 127.0.3.3:22450), dynalite (the real DynamoSipRepository), the SIP engine on 127.0.3.3:5060 UDP+TCP,
 * the media agent and the SBC app in-process, and sipp processes (-cp 8900–8949, -mp 51000–52999) started and
 * killed by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { startSipEngine, type SipEngine } from '../../../runtime/sip-engine/index.js';
import { startDaemon, type Daemon } from '../../../runtime/local/daemon.js';
import { startStandIns, type StandIns } from '../../../runtime/local/stand-ins.js';
import { createAwsClients, type AwsClients } from '../../../runtime/core/aws/clients.js';
import { ensureTable } from '../../../runtime/core/storage/table.js';
import { systemClock } from '../../../runtime/core/clock.js';
import type { SipRepository } from '../../../runtime/core/storage/sip-types.js';
import { createSipRepository } from '../../../runtime/sbc/repository.js';
import { buildSbcApp, connectSrf, sipHostFromHostports, type SbcApp, type SbcAppConfig } from '../../../runtime/sbc/app.js';
import { RtpEngineNode } from '../../../runtime/sbc/media/rtpengine.js';
import { ngPing } from '../../../runtime/sbc/media/ng-ping.js';
import { startMediaAgent, type MediaAgent } from '../../../runtime/media-agent/agent.js';
import { hasCommand } from '../../support/requires.js';
import { MemorySipRepository } from '../../runtime/sbc/support/memory-repo.js';
import type Srf from 'drachtio-srf';

export const ENGINE_IP = '127.0.3.3';
export const UAC_IP = '127.0.3.1';
export const UAS_IP = '127.0.3.2';
export const RTP_IP = '127.0.3.9';
export const DB_IP = '127.0.3.8';
export const SIP_PORT = 5060;
export const SCENARIOS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/sipp/sbc');
export const haveSipp = hasCommand('sipp');
export const haveRtpengine = hasCommand('rtpengine');

export function testLogger(): pino.Logger {
  return pino({ level: process.env.SBC_TEST_LOG ?? 'silent' });
}

export async function startRtpengine(o: { ip?: string; ngPort: number; minPort: number; maxPort: number; dtmfLogDest?: string }): Promise<Daemon> {
  const ip = o.ip ?? RTP_IP;
  return startDaemon({
    name: 'rtpengine',
    command: 'rtpengine',
    args: ['--config-file=none', '--table=-1', `--interface=${ip}`, `--listen-ng=${ip}:${o.ngPort}`,
      `--port-min=${o.minPort}`, `--port-max=${o.maxPort}`, '--foreground', '--log-stderr', `--log-level=${process.env.RTPENGINE_LOG_LEVEL ?? 5}`, '--delete-delay=0',
      ...(o.dtmfLogDest ? [`--dtmf-log-dest=${o.dtmfLogDest}`] : [])],
    ready: () => ngPing(ip, o.ngPort),
  });
}

export { ngPing };

export interface Bed {
  engine: SipEngine;
  rtpengine: Daemon;
  standIns: StandIns;
  aws: AwsClients;
  repo: SipRepository;
  srf: Srf;
  sbc: SbcApp;
  agent: MediaAgent;
  agentNode: RtpEngineNode;
  controlUrl: string;
  close(): Promise<void>;
}

export const TEST_LIMITS = { maxConcurrentCalls: 2000, maxCallsPerTenant: 2000, ringTimeoutSeconds: 3, maxCallSeconds: 0, gatewayTimeoutSeconds: 1.5 };

/** Where rtpengine sends its DTMF log (the SBC listens there: RFC 2833 → SIP INFO). */
export const DTMF_LOG = `${ENGINE_IP}:22450`;

export async function startBed(o: { ngPort?: number; limits?: Partial<typeof TEST_LIMITS>; logLevel?: string; cacheSeconds?: number; memoryRepo?: boolean; media?: { minPort: number; maxPort: number; capacity: number }; security?: SbcAppConfig['security']; dynamoEndpoint?: string; sipTimers?: { t1: number; t2: number; t4: number }; ngTimeoutMs?: number } = {}): Promise<Bed> {
  const log = o.logLevel ? pino({ level: o.logLevel }) : testLogger();
  const ngPort = o.ngPort ?? 22350;
  const mediaPorts = o.media ?? { minPort: 30000, maxPort: 30999, capacity: 250 }; // 1,000 media ports ≈ 250 calls
  const rtpengine = await startRtpengine({ ngPort, minPort: mediaPorts.minPort, maxPort: mediaPorts.maxPort, dtmfLogDest: DTMF_LOG });
  const standIns = await startStandIns({ host: DB_IP });
  const aws = createAwsClients({ region: 'us-east-1', endpoints: { dynamodb: o.dynamoEndpoint ?? standIns.endpoints.dynamodb }, localCredentials: true }); // dynamoEndpoint: an out-of-process stand-in (benchmarks)
  const tableName = `sbc-test-${process.pid}`;
  await ensureTable(aws.ddb, tableName);
  const repo: SipRepository = o.memoryRepo ? new MemorySipRepository() : createSipRepository({ doc: aws.doc, tableName, clock: systemClock });
  const engine = await startSipEngine({
    sip: [{ transport: 'udp', host: ENGINE_IP, port: SIP_PORT }, { transport: 'tcp', host: ENGINE_IP, port: SIP_PORT }],
    admin: { host: ENGINE_IP, port: 0, secret: 'sbc-test-secret' },
    log: pino({ level: process.env.SIP_ENGINE_LOG ?? 'silent' }),
    timers: o.sipTimers ?? { t1: 250, t2: 2000, t4: 2500 }, // short T1 for tests; benchmarks use RFC 3261's 500 ms
  });
  const agentNode = await RtpEngineNode.connect({ id: 'media-1', target: { host: RTP_IP, port: ngPort }, localAddress: RTP_IP, timeoutMs: 1000, log });
  const agent = await startMediaAgent({ node: agentNode, repo, nodeId: 'media-1', advertise: { host: RTP_IP, port: ngPort }, capacity: mediaPorts.capacity, heartbeatSeconds: 2, log });
  const { srf, hostports } = await connectSrf({ host: ENGINE_IP, port: engine.adminPort, secret: 'sbc-test-secret', log });
  const config: SbcAppConfig = {
    instanceId: 'sbc-test',
    cacheSeconds: o.cacheSeconds ?? 0,
    rtpengine: { ngPort, mode: 'registry', fallback: [], localAddress: ENGINE_IP, timeoutMs: o.ngTimeoutMs ?? 1000, refreshSeconds: 1, dtmfLogListen: DTMF_LOG },
    control: { host: ENGINE_IP, port: 0 },
    limits: { ...TEST_LIMITS, ...o.limits },
    registrar: { minExpires: 30, maxExpires: 3600, defaultExpires: 600, maxContacts: 3, nonceTtlSeconds: 60 },
    health: { optionsIntervalSeconds: 0, failuresToDown: 1 },
    ...(o.security ? { security: o.security } : {}),
  };
  const sbc = await buildSbcApp({ config, srf, localHost: sipHostFromHostports(hostports), repo, log, clock: systemClock, nonceSecret: 'nonce-secret-for-tests' });
  const controlUrl = `http://${sbc.controlAddress!.host}:${sbc.controlAddress!.port}`;
  return {
    engine, rtpengine, standIns, aws, repo, srf, sbc, agent, agentNode, controlUrl,
    async close() {
      killAllSipp();
      await sbc.close();
      srf.disconnect();
      await agent.stop();
      agentNode.close();
      await engine.close();
      await rtpengine.stop();
      aws.destroy();
      await standIns.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------- sipp

export interface Sipp {
  proc: ChildProcess;
  done: Promise<{ code: number | null; output: string; messages: string }>;
  kill(): void;
  dir: string;
}

const running = new Set<Sipp>();
export function killAllSipp(): void {
  for (const s of running) s.kill();
}

let cpNext = 8900;
let mpNext = 51000;

/**
 * Starts sipp in a temp dir. `scenario` is a file in test/fixtures/sipp/sbc; `vars` replace `__NAME__`
 * placeholders in it (status codes, numbers). Messages are traced (-trace_msg) for topology checks.
 */
export function sipp(scenario: string | undefined, args: string[], vars: Record<string, string> = {}): Sipp {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipp-sbc-'));
  const cp = cpNext;
  cpNext = cpNext >= 8949 ? 8900 : cpNext + 1;
  const mp = mpNext;
  mpNext = mpNext >= 51900 ? 51000 : mpNext + 20;
  const extra: string[] = [];
  if (scenario) {
    let xml = readFileSync(path.join(SCENARIOS, scenario), 'utf8');
    for (const [k, v] of Object.entries(vars)) xml = xml.replaceAll(`__${k}__`, v);
    writeFileSync(path.join(dir, scenario), xml);
    extra.push('-sf', scenario);
  }
  // Scenarios that play RTP read pcap/rtp.pcap (1 s of PCMU) relative to the working dir.
  mkdirSync(path.join(dir, 'pcap'));
  writeFileSync(path.join(dir, 'pcap', 'rtp.pcap'), rtpPcap(50));
  const proc = spawn('sipp', [...extra, ...args, '-cp', String(cp), '-mp', String(mp), '-nostdin', '-trace_err', '-trace_msg', '-trace_screen'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
  const done = new Promise<{ code: number | null; output: string; messages: string }>((resolve) => {
    proc.on('exit', (code) => {
      let logs = '';
      let messages = '';
      for (const f of readdirSync(dir).filter((n) => n.endsWith('.log'))) {
        const text = readFileSync(path.join(dir, f), 'utf8');
        if (f.includes('_messages')) messages += text;
        else logs += `\n--- ${f}\n${text.slice(-3000)}`;
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output: output + logs, messages });
    });
  });
  const handle: Sipp = {
    proc, done, dir,
    kill: () => {
      if (proc.exitCode === null && proc.pid) {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch (err) {
          void err; // already exited
        }
      }
    },
  };
  running.add(handle);
  void done.then(() => running.delete(handle));
  return handle;
}

/** An Ethernet pcap of `n` PCMU RTP packets, 20 ms apart (sipp's play_pcap_audio rewrites the addresses). */
export function rtpPcap(n: number): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const records: Buffer[] = [header];
  for (let i = 0; i < n; i++) {
    const rtp = Buffer.alloc(12 + 160, 0xff);
    rtp[0] = 0x80;
    rtp[1] = 0;
    rtp.writeUInt16BE(i, 2);
    rtp.writeUInt32BE(i * 160, 4);
    rtp.writeUInt32BE(0x12345678, 8);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(6000, 0);
    udp.writeUInt16BE(6002, 2);
    udp.writeUInt16BE(8 + rtp.length, 4);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 8 + rtp.length, 2);
    ip[8] = 64;
    ip[9] = 17;
    Buffer.from([127, 0, 0, 1]).copy(ip, 12);
    Buffer.from([127, 0, 0, 1]).copy(ip, 16);
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(0x0800, 12);
    const frame = Buffer.concat([eth, ip, udp, rtp]);
    const rec = Buffer.alloc(16);
    const t = i * 20_000;
    rec.writeUInt32LE(1_700_000_000 + Math.floor(t / 1e6), 0);
    rec.writeUInt32LE(t % 1e6, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    records.push(rec, frame);
  }
  return Buffer.concat(records);
}

/** Waits until a UDP or TCP socket is bound at ip:port (from /proc/net). */
export async function waitForBound(transport: 'udp' | 'tcp', ip: string, port: number, timeoutMs = 5000): Promise<void> {
  const hex = ip.split('.').reverse().map((o) => Number(o).toString(16).padStart(2, '0')).join('').toUpperCase() +
    ':' + port.toString(16).padStart(4, '0').toUpperCase();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const table = readFileSync(`/proc/net/${transport}`, 'utf8');
    if (table.split('\n').some((l) => l.trim().split(/\s+/)[1] === hex)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`nothing bound at ${transport} ${ip}:${port}`);
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---------------------------------------------------------------------------------------------- data

export const TENANT = 'acme';
export const DOMAIN = 'acme.sip.test';
export const PASSWORDS = { alice: 'alice-password-1', bob: 'bob-password-22' };

/**
 * Tenant acme: SIP users alice/bob; carrier trunk trusted from the sipp UAC address; outbound trunks whose
 * gateways are sipp UASs on UAS_IP: main :5062, failover pair :5063 → :5064, transfer target :5072.
 * Numbers: +15550001 → trunk main, +15550002 → trunk failover, +15550005 → trunk busy (:5065 → :5066),
 * +15550003 → alice, +15550004 → identity.
 */
export async function seed(repo: SipRepository): Promise<Record<string, string>> {
  await repo.setTenantDomain(TENANT, DOMAIN);
  for (const [username, password] of Object.entries(PASSWORDS)) {
    await repo.createUser({ tenantId: TENANT, username, domain: DOMAIN, password, enabled: true });
  }
  const base = { tenantId: TENANT, enabled: true, numberFormat: 'e164' as const, countryCode: '1', inboundCidrs: [] as string[], headerRules: [] };
  const carrier = await repo.createTrunk({ ...base, name: 'carrier-in', inboundCidrs: [`${UAC_IP}/32`], gateways: [] });
  const gw = (id: string, port: number, cost = 1, priority = 1) => ({ id, host: UAS_IP, port, transport: 'udp' as const, priority, cost });
  const main = await repo.createTrunk({
    ...base, name: 'main', gateways: [gw('gw-main', 5062)],
    headerRules: [{ action: 'add', header: 'X-Carrier-Account', value: 'acct-42' }, { action: 'remove', header: 'Subject' }],
  });
  const failover = await repo.createTrunk({ ...base, name: 'failover', gateways: [gw('gw-a', 5063, 1, 1), gw('gw-b', 5064, 1, 2)] });
  const busy = await repo.createTrunk({ ...base, name: 'busy', gateways: [gw('gw-busy-a', 5065, 1, 1), gw('gw-busy-b', 5066, 1, 2)] });
  const xfer = await repo.createTrunk({ ...base, name: 'xfer', numberFormat: 'e164-no-plus', gateways: [gw('gw-x', 5072)] });
  await repo.createRoute({ tenantId: TENANT, prefix: '', trunkId: main.id, priority: 1 });
  await repo.createRoute({ tenantId: TENANT, prefix: '4420', trunkId: xfer.id, priority: 1 });
  await repo.putNumber({ tenantId: TENANT, e164: '+15550001', destination: { type: 'trunk', trunkId: main.id } });
  await repo.putNumber({ tenantId: TENANT, e164: '+15550002', destination: { type: 'trunk', trunkId: failover.id } });
  await repo.putNumber({ tenantId: TENANT, e164: '+15550003', destination: { type: 'sip-user', username: 'alice' } });
  await repo.putNumber({ tenantId: TENANT, e164: '+15550005', destination: { type: 'trunk', trunkId: busy.id } });
  await repo.putNumber({ tenantId: TENANT, e164: '+15550004', destination: { type: 'identity', identity: 'web-bob' } });
  return { carrier: carrier.id, main: main.id, failover: failover.id, busy: busy.id, xfer: xfer.id };
}
