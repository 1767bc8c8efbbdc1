/**
 * Gateway test bed on loopback 127.0.8.0/24 (docs/gateway.md): rtpengine (userspace, ng 127.0.8.9:22340, media
 * 34000–34299), the SIP engine on 127.0.8.3:5060 with the SBC app + gateway in-process, the platform (signalling,
 * stand-ins) with the gateway configured, baresip phones (127.0.8.x, ctrl_tcp 4480–4499, RTP 7200–7299) and one
 * Chromium with --allow-loopback-in-peer-connection (rtpengine is reached directly, no TURN).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { connect as tcpConnect, type Socket } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startSipEngine, type SipEngine } from '../../../runtime/sip-engine/index.js';
import { freePort, startDaemon, type Daemon } from '../../../runtime/local/daemon.js';
import { systemClock } from '../../../runtime/core/clock.js';
import { createSipRepository } from '../../../runtime/sbc/repository.js';
import { buildSbcApp, connectSrf, sipHostFromHostports, type SbcApp, type SbcAppConfig } from '../../../runtime/sbc/app.js';
import { httpNotifier } from '../../../runtime/sbc/gateway/notifier.js';
import type { SipRepository } from '../../../runtime/core/storage/sip-types.js';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { buildSdk } from '../../../assets/sdk/build.js';
import type Srf from 'drachtio-srf';
import { ngPing } from '../../../runtime/sbc/media/ng-ping.js';

export const NET = { engine: '127.0.8.3', rtp: '127.0.8.9', ngPort: 22340 };
export const CHROMIUM = '/usr/bin/chromium';
export const DOMAIN = 'gw.sip.localhost';

export { ngPing };

// ---------------------------------------------------------------------------------------------- baresip

export interface Phone {
  name: string;
  ip: string;
  dir: string;
  events: Array<{ type: string; param?: string }>;
  command(command: string, params?: string): Promise<{ ok: boolean; data?: string }>;
  waitEvent(type: string, timeoutMs?: number): Promise<void>;
  dumps(kind: 'enc' | 'dec'): string[];
  /** Digits baresip reported as received (`CALL_DTMF_START` events; RFC 2833 and SIP INFO alike). */
  dtmf(): string;
  stop(): Promise<void>;
}

let ctrlPort = 4480;
let rtpBase = 7200;

export async function startPhone(o: { name: string; ip: string; password: string; codecs: string; toneHz: number; sipPort?: number; domain?: string; proxy?: string; ports?: { ctrl: number; rtp: number; rtpCount?: number } }): Promise<Phone> {
  const dir = mkdtempSync(path.join(tmpdir(), `gw-${o.name}-`));
  mkdirSync(path.join(dir, 'dumps'));
  const wav = path.join(dir, 'tone.wav');
  execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', wav, 'synth', '60', 'sine', String(o.toneHz), 'vol', '0.5']);
  // Test files run in parallel workers: a file that runs next to another passes its own ports.
  const port = o.ports?.ctrl ?? ctrlPort++;
  const base = o.ports?.rtp ?? rtpBase;
  const rtp = `${base}-${base + (o.ports?.rtpCount ?? 20) - 1}`;
  if (!o.ports) rtpBase += 20;
  const sipPort = o.sipPort ?? 5070;
  writeFileSync(path.join(dir, 'config'), [
    `sip_listen ${o.ip}:${sipPort}`, `net_interface ${o.ip}`, 'poll_method epoll', 'call_max_calls 4',
    `audio_source aufile,${wav}`, `audio_player aubridge,sink_${o.name}`, `audio_alert aubridge,sink_${o.name}`,
    'ausrc_srate 8000', 'ausrc_channels 1', 'auplay_srate 8000', 'auplay_channels 1',
    `rtp_ports ${rtp}`, 'rtp_timeout 0', 'module_path /usr/lib/baresip/modules',
    'module g711.so', 'module opus.so', 'module aufile.so', 'module aubridge.so', 'module sndfile.so',
    'module_app account.so', 'module_app contact.so', 'module_app menu.so', 'module_app ctrl_tcp.so',
    `ctrl_tcp_listen ${o.ip}:${port}`, `snd_path ${path.join(dir, 'dumps')}`, '',
  ].join('\n'));
  writeFileSync(path.join(dir, 'accounts'), `<sip:${o.name}@${o.domain ?? DOMAIN}>;auth_pass=${o.password};outbound="sip:${o.proxy ?? `${NET.engine}:5060`}";regint=600;answermode=auto;audio_codecs=${o.codecs}\n`);
  writeFileSync(path.join(dir, 'contacts'), '');
  const proc: ChildProcess = spawn('baresip', ['-4', '-f', dir], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  proc.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const events: Phone['events'] = [];
  // ctrl_tcp: JSON in netstrings (FACTS §6.4)
  let sock: Socket | undefined;
  for (let i = 0; i < 50 && !sock; i++) {
    await new Promise((r) => setTimeout(r, 100));
    sock = await new Promise<Socket | undefined>((resolve) => {
      const s = tcpConnect(port, o.ip, () => resolve(s));
      s.once('error', () => resolve(undefined));
    });
  }
  if (!sock) throw new Error(`baresip ${o.name} ctrl_tcp did not come up:\n${log}`);
  let buf = '';
  const pending = new Map<string, (r: { ok: boolean; data?: string }) => void>();
  const waiters: Array<{ type: string; resolve: () => void }> = [];
  sock.on('data', (d: Buffer) => {
    buf += d.toString();
    for (;;) {
      const colon = buf.indexOf(':');
      if (colon < 0) break;
      const len = Number(buf.slice(0, colon));
      if (buf.length < colon + 1 + len + 1) break;
      const msg = JSON.parse(buf.slice(colon + 1, colon + 1 + len)) as { event?: boolean; type?: string; param?: string; response?: boolean; ok?: boolean; data?: string; token?: string };
      buf = buf.slice(colon + 1 + len + 1);
      if (msg.event && msg.type) {
        events.push({ type: msg.type, ...(msg.param ? { param: msg.param } : {}) });
        for (const w of waiters.filter((x) => x.type === msg.type)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      } else if (msg.response && msg.token) pending.get(msg.token)?.({ ok: !!msg.ok, ...(msg.data ? { data: msg.data } : {}) });
    }
  });
  let tok = 0;
  const phone: Phone = {
    name: o.name, ip: o.ip, dir, events,
    command(command, params) {
      const token = `t${++tok}`;
      const body = JSON.stringify({ command, ...(params ? { params } : {}), token });
      return new Promise((resolve) => {
        pending.set(token, resolve);
        sock!.write(`${Buffer.byteLength(body)}:${body},`);
      });
    },
    waitEvent(type, timeoutMs = 15_000) {
      if (events.some((e) => e.type === type)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${o.name}: no ${type} within ${timeoutMs} ms; events: ${events.map((e) => e.type).join(',')}\n${log.slice(-3000)}`)), timeoutMs);
        waiters.push({ type, resolve: () => (clearTimeout(t), resolve()) });
      });
    },
    dtmf() {
      return events.filter((e) => e.type === 'CALL_DTMF_START').map((e) => e.param ?? '?').join('');
    },
    dumps(kind) {
      return readdirSync(path.join(dir, 'dumps')).filter((f) => f.endsWith(`-${kind}.wav`)).map((f) => path.join(dir, 'dumps', f));
    },
    async stop() {
      sock?.destroy();
      if (proc.exitCode === null && proc.pid) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      if (!process.env.GW_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
  return phone;
}

/** RMS of the loudest 100 ms window and the zero-crossing frequency of that window (16-bit PCM WAV). */
export function analyseWav(file: string): { seconds: number; peakRms: number; hz: number } {
  const b = readFileSync(file);
  let off = 12;
  let rate = 8000;
  let channels = 1;
  let data = Buffer.alloc(0);
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      channels = b.readUInt16LE(off + 10);
      rate = b.readUInt32LE(off + 12);
    } else if (id === 'data') {
      data = b.subarray(off + 8, Math.min(b.length, off + 8 + size));
      break;
    }
    off += 8 + size + (size % 2);
  }
  const n = Math.floor(data.length / 2 / channels);
  const sample = (i: number) => data.readInt16LE(i * 2 * channels);
  const win = Math.floor(rate / 10);
  let best = { rms: 0, start: 0 };
  for (let s = 0; s + win <= n; s += win) {
    let acc = 0;
    for (let i = s; i < s + win; i++) acc += sample(i) ** 2;
    const rms = Math.sqrt(acc / win);
    if (rms > best.rms) best = { rms, start: s };
  }
  let crossings = 0;
  for (let i = best.start + 1; i < best.start + win && i < n; i++) if ((sample(i - 1) < 0) !== (sample(i) < 0)) crossings++;
  return { seconds: n / rate, peakRms: best.rms, hz: (crossings / 2) * 10 };
}

// ---------------------------------------------------------------------------------------------- the bed

export interface GatewayBed {
  platform: TestPlatform;
  sbc: SbcApp;
  repo: SipRepository;
  browser: Browser;
  tenantId: string;
  apiKey: string;
  page(identity: string): Promise<Page>;
  close(): Promise<void>;
}

export async function startGatewayBed(): Promise<GatewayBed> {
  const log = pino({ level: process.env.GW_TEST_LOG ?? 'silent' });
  const secret = randomBytes(24).toString('base64url');
  await buildSdk({ types: false });
  const rtpengine: Daemon = await startDaemon({
    name: 'rtpengine',
    command: 'rtpengine',
    args: ['--config-file=none', '--table=-1', `--interface=${NET.rtp}`, `--listen-ng=${NET.rtp}:${NET.ngPort}`,
      '--port-min=34000', '--port-max=34299', '--foreground', '--log-stderr', '--log-level=5', '--delete-delay=0'],
    ready: () => ngPing(NET.rtp, NET.ngPort),
  });
  const engine: SipEngine = await startSipEngine({
    sip: [{ transport: 'udp', host: NET.engine, port: 5060 }],
    admin: { host: NET.engine, port: 0, secret: 'gw-test-secret' },
    log: pino({ level: process.env.SIP_ENGINE_LOG ?? 'silent' }),
  });
  const { srf, hostports } = await connectSrf({ host: NET.engine, port: engine.adminPort, secret: 'gw-test-secret' });
  const controlPort = await freePort(NET.engine);
  const platform = await startTestPlatform({
    staticDir: path.resolve('assets'),
    overrides: { sbcControlUrl: `http://${NET.engine}:${controlPort}`, gateway: { secret: { value: secret } } },
  });
  // The SBC shares the platform's table (SIP users created through REST).
  const repo = createSipRepository({ doc: platform.aws.doc, tableName: platform.config.tableName, clock: systemClock });
  const config: SbcAppConfig = {
    instanceId: 'sbc-gw-test',
    rtpengine: { ngPort: NET.ngPort, mode: 'static', fallback: [{ id: 'rtp-1', host: NET.rtp, port: NET.ngPort }], localAddress: NET.engine, timeoutMs: 1500, refreshSeconds: 5 },
    control: { host: NET.engine, port: controlPort },
    limits: { maxConcurrentCalls: 100, maxCallsPerTenant: 100, ringTimeoutSeconds: 20, maxCallSeconds: 0, gatewayTimeoutSeconds: 3 },
    registrar: { minExpires: 30, maxExpires: 3600, defaultExpires: 600, maxContacts: 3, nonceTtlSeconds: 120 },
    health: { optionsIntervalSeconds: 0, failuresToDown: 1 },
  };
  const sbc = await buildSbcApp({
    config, srf: srf as Srf, localHost: sipHostFromHostports(hostports), repo, log, clock: systemClock, nonceSecret: 'gw-nonce-secret',
    gateway: { secret, ringTimeoutSeconds: 15, transcode: 'prefer-opus', allowExternalSipUris: false, notifier: httpNotifier({ url: platform.baseUrl, secret, log }) },
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required'],
  });
  const { tenantId, apiKey } = await platform.createTenant('gateway');
  return {
    platform, sbc, repo, browser, tenantId, apiKey,
    async page(identity) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || process.env.E2E_DEBUG) console.log(`[${identity}] ${m.type()}: ${m.text()}`);
      });
      await page.goto(`${platform.baseUrl}/demo/console.html`);
      const token = await platform.mintToken(tenantId, identity, { dialOut: true });
      await page.evaluate(async ({ t, d }) => {
        const w = window as unknown as Record<string, any>;
        w.G = { events: [], ended: null, incoming: null, call: null };
        w.GW_DEBUG = !!d;
        w.G.client = await w.Cpaas.connect({ token: t, qualityIntervalMs: 0 });
        w.G.media = await w.Cpaas.LocalMedia.create({ audio: true, video: false });
        w.G.client.on('incoming-phone-call', (c: any) => {
          w.G.incoming = c;
          w.G.events.push('incoming:' + c.remote);
        });
      }, { t: token, d: !!process.env.GW_DEBUG });
      return page;
    },
    async close() {
      await browser.close().catch(() => undefined);
      await sbc.close().catch(() => undefined);
      srf.disconnect();
      await engine.close();
      await rtpengine.stop();
      await platform.stop().catch(() => undefined);
    },
  };
}
