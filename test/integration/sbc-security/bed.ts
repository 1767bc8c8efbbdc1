/**
 * Security test bed on loopback 127.0.7.0/24: rtpengine (.9, ng 22330, media 33000–33999), the SIP engine on
 * 127.0.7.3:5060, dynalite (.8) for the security lists, an in-memory SIP repository, the SBC in-process;
 * sipp with -cp 9100–9149 and -mp 20000–20499 (killed by PID). Attack tools bind 127.0.7.20–.29.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { startSipEngine, type SipEngine } from '../../../runtime/sip-engine/index.js';
import type { Daemon } from '../../../runtime/local/daemon.js';
import { startStandIns, type StandIns } from '../../../runtime/local/stand-ins.js';
import { createAwsClients, type AwsClients } from '../../../runtime/core/aws/clients.js';
import { ensureTable } from '../../../runtime/core/storage/table.js';
import { systemClock } from '../../../runtime/core/clock.js';
import { Db } from '../../../runtime/core/storage/db.js';
import { SecurityRepository } from '../../../runtime/core/storage/security.js';
import { buildSbcApp, connectSrf, sipHostFromHostports, type SbcApp, type SbcAppConfig, type SbcDeps } from '../../../runtime/sbc/app.js';
import type { SecurityAlert } from '../../../runtime/sbc/security/call-guard.js';
import { RtpEngineNode } from '../../../runtime/sbc/media/rtpengine.js';
import { startMediaAgent, type MediaAgent } from '../../../runtime/media-agent/agent.js';
import { MemorySipRepository } from '../../runtime/sbc/support/memory-repo.js';
import { rtpPcap, startRtpengine } from '../sbc/harness.js';
import type Srf from 'drachtio-srf';

export const NET = '127.0.7';
export const ENGINE_IP = `${NET}.3`;
export const CARRIER_IP = `${NET}.1`;
export const UAS_IP = `${NET}.2`;
export const PHONE_IP = `${NET}.4`;
export const RTP_IP = `${NET}.9`;
export const DB_IP = `${NET}.8`;
export const SBC = `${ENGINE_IP}:5060`;
/** The tenant's SIP domain is the SBC's address, so scanners that put the target IP in To hit real users. */
export const DOMAIN = ENGINE_IP;
export const TENANT = 'sec';
export const PASSWORDS = { alice: 'Xq7-alice-real-pw', bob: 'Zr4-bob-real-pw' };
export const SCENARIOS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/sipp/security');
export const SBC_SCENARIOS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/sipp/sbc');

export interface Bed {
  engine: SipEngine;
  rtpengine: Daemon;
  standIns: StandIns;
  aws: AwsClients;
  repo: MemorySipRepository;
  security: SecurityRepository;
  srf: Srf;
  sbc: SbcApp;
  agent: MediaAgent;
  alerts: SecurityAlert[];
  controlUrl: string;
  trunks: Record<string, string>;
  tableName: string;
  db: Db;
  close(): Promise<void>;
}

/** Extra SBC dependencies for the management tests (interception, capture, shared bans, alert delivery). */
export type BedExtras = (ctx: { db: Db; tableName: string; alerts: SecurityAlert[] }) => Partial<Pick<SbcDeps, 'lawfulInterception' | 'capture' | 'sharedBans' | 'onSecurityBan' | 'onSecurityAlert'>>;

export async function startBed(security: SbcAppConfig['security'], extras?: BedExtras): Promise<Bed> {
  const log = pino({ level: process.env.SBC_TEST_LOG ?? 'silent' });
  const standIns = await startStandIns({ host: DB_IP });
  const aws = createAwsClients({ region: 'us-east-1', endpoints: { dynamodb: standIns.endpoints.dynamodb }, localCredentials: true });
  const tableName = `sec-test-${process.pid}`;
  await ensureTable(aws.ddb, tableName);
  const db = new Db(aws.doc, tableName, systemClock);
  const securityRepo = new SecurityRepository(db);
  const repo = new MemorySipRepository();
  const trunks = await seed(repo);
  const engine = await startSipEngine({
    sip: [{ transport: 'udp', host: ENGINE_IP, port: 5060 }],
    admin: { host: ENGINE_IP, port: 0, secret: 'sec-test-secret' },
    log: pino({ level: 'silent' }),
    timers: { t1: 250, t2: 2000, t4: 2500 },
  }).catch(async (err: unknown) => {
    aws.destroy();
    await standIns.close();
    throw err;
  });
  let rtpengine: Daemon;
  try {
    rtpengine = await startRtpengine({ ip: RTP_IP, ngPort: 22330, minPort: 33000, maxPort: 33999 });
  } catch (err) {
    await engine.close();
    await standIns.close();
    throw err;
  }
  const node = await RtpEngineNode.connect({ id: 'media-sec', target: { host: RTP_IP, port: 22330 }, localAddress: RTP_IP, timeoutMs: 1000, log });
  const agent = await startMediaAgent({ node, repo, nodeId: 'media-sec', advertise: { host: RTP_IP, port: 22330 }, capacity: 250, heartbeatSeconds: 2, log });
  const { srf, hostports } = await connectSrf({ host: ENGINE_IP, port: engine.adminPort, secret: 'sec-test-secret', log });
  const alerts: SecurityAlert[] = [];
  const config: SbcAppConfig = {
    instanceId: 'sbc-sec', cacheSeconds: 0,
    rtpengine: { ngPort: 22330, mode: 'registry', fallback: [], localAddress: ENGINE_IP, timeoutMs: 1000, refreshSeconds: 1 },
    control: { host: ENGINE_IP, port: 0 },
    limits: { maxConcurrentCalls: 2000, maxCallsPerTenant: 2000, ringTimeoutSeconds: 3, maxCallSeconds: 0, gatewayTimeoutSeconds: 1.5 },
    registrar: { minExpires: 30, maxExpires: 3600, defaultExpires: 600, maxContacts: 3, nonceTtlSeconds: 60 },
    health: { optionsIntervalSeconds: 0, failuresToDown: 1 },
    security,
  };
  const sbc = await buildSbcApp({
    config, srf, localHost: sipHostFromHostports(hostports), repo, log, clock: systemClock, nonceSecret: 'sec-nonce',
    securitySource: securityRepo, onSecurityAlert: (a) => alerts.push(a),
    ...(extras ? extras({ db, tableName, alerts }) : {}),
  });
  return {
    engine, rtpengine, standIns, aws, repo, security: securityRepo, srf, sbc, agent, alerts, trunks, tableName, db,
    controlUrl: `http://${sbc.controlAddress!.host}:${sbc.controlAddress!.port}`,
    async close() {
      for (const p of running) p.kill();
      await sbc.close();
      srf.disconnect();
      await agent.stop();
      node.close();
      await engine.close();
      await rtpengine.stop();
      aws.destroy();
      await standIns.close();
    },
  };
}

/** Tenant `sec` (domain 127.0.7.3): users alice/bob; carrier trunk from .1; outbound trunk to a sipp UAS on .2:5062. */
async function seed(repo: MemorySipRepository): Promise<Record<string, string>> {
  await repo.setTenantDomain(TENANT, DOMAIN);
  for (const [username, password] of Object.entries(PASSWORDS)) await repo.createUser({ tenantId: TENANT, username, domain: DOMAIN, password, enabled: true });
  const base = { tenantId: TENANT, enabled: true, numberFormat: 'e164' as const, countryCode: '1', inboundCidrs: [] as string[], headerRules: [] };
  const carrier = await repo.createTrunk({ ...base, name: 'carrier', inboundCidrs: [`${CARRIER_IP}/32`], gateways: [] });
  const out = await repo.createTrunk({ ...base, name: 'out', gateways: [{ id: 'gw', host: UAS_IP, port: 5062, transport: 'udp', priority: 1, cost: 1 }] });
  await repo.createRoute({ tenantId: TENANT, prefix: '', trunkId: out.id, priority: 1 });
  await repo.putNumber({ tenantId: TENANT, e164: '+15550001', destination: { type: 'trunk', trunkId: out.id } });
  return { carrier: carrier.id, out: out.id };
}

// -------------------------------------------------------------------------------------- processes

export interface Proc { proc: ChildProcess; done: Promise<{ code: number | null; output: string; messages: string }>; kill(): void }
const running = new Set<Proc>();
let cp = 9100;
let mp = 20000;

function track(proc: ChildProcess, dir: string | undefined): Proc {
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
  const done = new Promise<{ code: number | null; output: string; messages: string }>((resolve) => {
    proc.on('exit', (code) => {
      let messages = '';
      if (dir) {
        for (const f of readdirSync(dir).filter((n) => n.endsWith('.log'))) {
          const text = readFileSync(path.join(dir, f), 'utf8');
          if (f.includes('_messages')) messages += text;
          else output += `\n--- ${f}\n${text.slice(-2000)}`;
        }
        rmSync(dir, { recursive: true, force: true });
      }
      resolve({ code, output, messages });
    });
  });
  const h: Proc = {
    proc, done,
    kill: () => {
      if (proc.exitCode === null && proc.signalCode === null && proc.pid) {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch (err) {
          void err; // already gone
        }
      }
    },
  };
  running.add(h);
  void done.then(() => running.delete(h));
  return h;
}

/** sipp with a scenario from test/fixtures/sipp/security (or ../sbc with `sbc:` prefix); `__NAME__` vars replaced. */
export function sipp(scenario: string, args: string[], vars: Record<string, string> = {}, media: { packets?: number; fill?: number } = {}): Proc {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipp-sec-'));
  const port = cp;
  cp = cp >= 9149 ? 9100 : cp + 1;
  const mediaPort = mp;
  mp = mp >= 20400 ? 20000 : mp + 20;
  const file = scenario.replace(/^sbc:/, '');
  let xml = readFileSync(path.join(scenario.startsWith('sbc:') ? SBC_SCENARIOS : SCENARIOS, file), 'utf8');
  for (const [k, v] of Object.entries(vars)) xml = xml.replaceAll(`__${k}__`, v);
  writeFileSync(path.join(dir, file), xml);
  mkdirSync(path.join(dir, 'pcap'));
  const pcap = rtpPcap(media.packets ?? 10);
  if (media.fill !== undefined) fillRtp(pcap, media.fill);
  writeFileSync(path.join(dir, 'pcap', 'rtp.pcap'), pcap);
  const proc = spawn('sipp', ['-sf', file, ...args, '-cp', String(port), '-mp', String(mediaPort), '-nostdin', '-trace_err', '-trace_msg', '-trace_screen'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  return track(proc, dir);
}

/** Overwrites the PCMU payload bytes of rtpPcap() frames with `fill` (tells calls apart in forked media). */
function fillRtp(pcap: Buffer, fill: number): void {
  let off = 24;
  while (off + 16 <= pcap.length) {
    const len = pcap.readUInt32LE(off + 8);
    pcap.fill(fill, off + 16 + 14 + 20 + 8 + 12, off + 16 + len);
    off += 16 + len;
  }
}

/** A sipvicious tool (never with -R). */
export function sipvicious(tool: 'svmap' | 'svwar' | 'svcrack', args: string[]): Proc {
  if (args.includes('-R') || args.includes('--reportback')) throw new Error('never pass -R to sipvicious');
  return track(spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] }), undefined);
}

export async function metric(controlUrl: string, line: string): Promise<number> {
  const text = await (await fetch(`${controlUrl}/metrics`)).text();
  const m = text.split('\n').find((l) => l.startsWith(line + ' ') || l.startsWith(line + '{') && l.includes(line));
  return m ? Number(m.trim().split(/\s+/).pop()) : 0;
}
