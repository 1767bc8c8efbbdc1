/**
 * Programmable voice test bed on loopback 127.0.15.0/24: rtpengine (ng 127.0.15.9:22390, media 46000–47999), the SIP
 * engine on 127.0.15.3:5060, the SBC in-process with the voice engine (RtpEndpoints on 127.0.15.5:48000–48899), an
 * in-memory SipRepository, a local HTTP application server on 127.0.15.6, sipp phones (-cp 9400–9449, -mp
 * 55000–55999) and Node RTP test peers (127.0.15.1/2:48900–48999).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { startSipEngine, type SipEngine } from '../../../runtime/sip-engine/index.js';
import type { Daemon } from '../../../runtime/local/daemon.js';
import { systemClock } from '../../../runtime/core/clock.js';
import { buildSbcApp, connectSrf, sipHostFromHostports, type SbcApp, type SbcAppConfig } from '../../../runtime/sbc/app.js';
import type { VoiceOptions } from '../../../runtime/sbc/voice/engine.js';
import { RtpEndpoint, RtpPortPool } from '../../../runtime/sbc/voice/media/rtp-endpoint.js';
import { verifyWebhook } from '../../../runtime/core/webhooks.js';
import { MemorySipRepository } from '../../runtime/sbc/support/memory-repo.js';
import { startRtpengine } from '../sbc/harness.js';
import type Srf from 'drachtio-srf';

export { until, waitForBound, haveSipp, haveRtpengine } from '../sbc/harness.js';

export const ENGINE_IP = '127.0.15.3';
export const UAC_IP = '127.0.15.1';
export const UAS_IP = '127.0.15.2';
export const RTP_IP = '127.0.15.9';
export const EP_IP = '127.0.15.5';
export const HTTP_IP = '127.0.15.6';
export const SCENARIOS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/sipp/voice');
export const TENANT = 'acme';
export const SECRET = 'whsec-voice-test';

export interface HookRequest {
  path: string;
  body: Record<string, unknown>;
  signed: boolean;
}

/** The tenant's application: answers POSTs by path with a document (or a handler). Checks signatures. */
export class AppServer {
  readonly requests: HookRequest[] = [];
  readonly routes = new Map<string, unknown | ((b: Record<string, unknown>) => unknown | Promise<unknown>)>();
  private server?: http.Server;
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const signed = verifyWebhook(SECRET, req.headers['x-cpaas-timestamp'] as string, raw, req.headers['x-cpaas-signature'] as string);
          const body = JSON.parse(raw || '{}') as Record<string, unknown>;
          const p = req.url ?? '/';
          this.requests.push({ path: p, body, signed });
          const route = this.routes.get(p);
          if (route === 'hang') return; // never answers: webhook timeout
          const doc = typeof route === 'function' ? await (route as (b: Record<string, unknown>) => unknown)(body) : route;
          if (doc === undefined) {
            res.writeHead(404).end();
            return;
          }
          const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
          res.writeHead(200, { 'content-type': 'application/json' }).end(text);
        })();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, HTTP_IP, () => r()));
    const a = this.server.address() as { port: number };
    this.url = `http://${HTTP_IP}:${a.port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }
}

export interface VoiceBed {
  engine: SipEngine;
  rtpengine: Daemon;
  repo: MemorySipRepository;
  srf: Srf;
  sbc: SbcApp;
  app: AppServer;
  close(): Promise<void>;
}

export async function startVoiceBed(voice: Partial<VoiceOptions> = {}): Promise<VoiceBed> {
  const log = pino({ level: process.env.VOICE_TEST_LOG ?? 'silent' });
  const rtpengine = await startRtpengine({ ip: RTP_IP, ngPort: 22390, minPort: 46000, maxPort: 47999 });
  const repo = new MemorySipRepository();
  const engine = await startSipEngine({
    sip: [{ transport: 'udp', host: ENGINE_IP, port: 5060 }],
    admin: { host: ENGINE_IP, port: 0, secret: 'voice-test-secret' },
    log: pino({ level: 'silent' }),
    timers: { t1: 250, t2: 2000, t4: 2500 },
  });
  const { srf, hostports } = await connectSrf({ host: ENGINE_IP, port: engine.adminPort, secret: 'voice-test-secret', log });
  const app = new AppServer();
  await app.start();
  const config: SbcAppConfig = {
    instanceId: 'sbc-voice-test',
    rtpengine: { ngPort: 22390, mode: 'static', fallback: [{ id: 'm1', host: RTP_IP, port: 22390 }], localAddress: ENGINE_IP, timeoutMs: 1000, refreshSeconds: 5 },
    control: { host: ENGINE_IP, port: -1 },
    limits: { maxConcurrentCalls: 100, maxCallsPerTenant: 100, ringTimeoutSeconds: 5, maxCallSeconds: 0, gatewayTimeoutSeconds: 2 },
    registrar: { minExpires: 30, maxExpires: 3600, defaultExpires: 600, maxContacts: 3, nonceTtlSeconds: 60 },
    health: { optionsIntervalSeconds: 0, failuresToDown: 1 },
  } as SbcAppConfig;
  const sbc = await buildSbcApp({
    config, srf, localHost: sipHostFromHostports(hostports), repo, log, clock: systemClock, nonceSecret: 'nonce',
    voice: {
      rtp: { host: EP_IP, minPort: 48000, maxPort: 48899 },
      webhookSecret: (t) => Promise.resolve(t === TENANT ? SECRET : undefined),
      hooks: { timeoutMs: 1500, attempts: 2 },
      ...voice,
    },
  });
  return {
    engine, rtpengine, repo, srf, sbc, app,
    async close() {
      killAllSipp();
      await sbc.close();
      srf.disconnect();
      await engine.close();
      await rtpengine.stop();
      await app.close();
    },
  };
}

/** Tenant acme: a carrier trunk from the sipp UAC address; numbers are added per test. */
export async function seedVoice(repo: MemorySipRepository): Promise<void> {
  await repo.setTenantDomain(TENANT, 'acme.voice.test');
  await repo.createTrunk({ tenantId: TENANT, name: 'carrier', enabled: true, numberFormat: 'e164', countryCode: '1', inboundCidrs: [`${UAC_IP}/32`], headerRules: [], gateways: [] });
}

// ---------------------------------------------------------------------------------------------- peers

const peerPool = { [UAC_IP]: new RtpPortPool(UAC_IP, 48900, 48949), [UAS_IP]: new RtpPortPool(UAS_IP, 48950, 48999) };
const peers = new Set<RtpEndpoint>();

/** A Node RTP "phone" (latches onto whoever sends to it first: rtpengine). */
export async function peer(ip: typeof UAC_IP | typeof UAS_IP): Promise<RtpEndpoint> {
  const ep = await RtpEndpoint.create(peerPool[ip]!, { latch: true });
  peers.add(ep);
  return ep;
}

export function closePeers(): void {
  for (const p of peers) p.close();
  peers.clear();
}

// ---------------------------------------------------------------------------------------------- sipp

export interface Sipp {
  proc: ChildProcess;
  done: Promise<{ code: number | null; output: string; messages: string }>;
  kill(): void;
}

const running = new Set<Sipp>();
export function killAllSipp(): void {
  for (const s of running) s.kill();
}

let cpNext = 9400;
let mpNext = 55000;

export const TAIL_WAIT_BYE = (ms = 20000) => `<recv request="BYE" timeout="${ms}"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>`;

export const TAIL_SEND_BYE = (holdMs: number) => `<pause milliseconds="${holdMs}"/>
  <send retrans="500"><![CDATA[
BYE sip:__TO__@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:__FROM__@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200" crlf="true"/>`;

/** sipp in a temp dir with `__NAME__` placeholders replaced (tails first, so they may contain placeholders too). */
export function sipp(scenario: string, args: string[], vars: Record<string, string> = {}): Sipp {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipp-voice-'));
  const cp = cpNext;
  cpNext = cpNext >= 9449 ? 9400 : cpNext + 1;
  const mp = mpNext;
  mpNext = mpNext >= 55900 ? 55000 : mpNext + 20;
  let xml = readFileSync(path.join(SCENARIOS, scenario), 'utf8');
  for (const k of ['TAIL', 'PLAY']) xml = xml.replaceAll(`__${k}__`, vars[k] ?? '');
  for (const [k, v] of Object.entries(vars)) xml = xml.replaceAll(`__${k}__`, v);
  writeFileSync(path.join(dir, scenario), xml);
  mkdirSync(path.join(dir, 'pcap'));
  for (const f of ['dtmf_2833_1.pcap', 'dtmf_2833_5.pcap']) {
    const src = `/usr/share/sip-tester/${f}`;
    if (existsSync(src)) copyFileSync(src, path.join(dir, 'pcap', f));
  }
  const proc = spawn('sipp', ['-sf', scenario, ...args, '-cp', String(cp), '-mp', String(mp), '-nostdin', '-trace_err', '-trace_msg'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
  const done = new Promise<{ code: number | null; output: string; messages: string }>((resolve) => {
    proc.on('exit', (code) => {
      let messages = '';
      let logs = '';
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
    proc, done,
    kill: () => {
      if (proc.exitCode === null && proc.pid) {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
  running.add(handle);
  void done.then(() => running.delete(handle));
  return handle;
}
