/**
 * `sip:support@<tenant SIP domain>` runs the voice application that has the SIP address `support`, end to end: the
 * application is created over REST (real signalling process, dynalite), the SBC (in process, over the same table
 * through its cached repository) routes a carrier-trusted sipp and a digest-authenticated sipp device to it, the
 * application's webhook (a local HTTP server) answers with a document that plays a tone and hangs up.
 *
 * Loopback plan (127.0.21.x): sipp carrier .1:5061, sipp device .2:5062, SIP engine .3:5060, voice RTP endpoints
 * .5:64000–64399, Node RTP phone .1:64400–64499, HTTP application .6:30200–30299, rtpengine .9 ng 22440 media
 * 63000–63999; sipp -cp 9600–9649, -mp 64500–64999.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type Srf from 'drachtio-srf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requires } from '../../support/requires.js';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { call, newTenant } from '../rest/helpers.js';
import { haveRtpengine, haveSipp, startRtpengine, until } from '../sbc/harness.js';
import { zeroCrossingHz } from '../../runtime/media-agent/audio-support.js';
import { startSipEngine, type SipEngine } from '../../../runtime/sip-engine/index.js';
import type { Daemon } from '../../../runtime/local/daemon.js';
import { systemClock } from '../../../runtime/core/clock.js';
import { buildSbcApp, connectSrf, sipHostFromHostports, type SbcApp, type SbcAppConfig } from '../../../runtime/sbc/app.js';
import { RtpEndpoint, RtpPortPool } from '../../../runtime/sbc/voice/media/rtp-endpoint.js';
import type { Frame } from '../../../runtime/sbc/voice/contracts.js';
import { verifyWebhook } from '../../../runtime/core/webhooks.js';
import { DynamoApplicationResolver } from '../../../runtime/core/storage/applications.js';

const run = requires('sipp', haveSipp, 'sipp (Debian sip-tester) not installed')
  && requires('rtpengine', haveRtpengine, 'rtpengine (Debian rtpengine-daemon) not installed');

const CARRIER_IP = '127.0.21.1';
const DEVICE_IP = '127.0.21.2';
const ENGINE_IP = '127.0.21.3';
const EP_IP = '127.0.21.5';
const HTTP_IP = '127.0.21.6';
const RTP_IP = '127.0.21.9';
const NG_PORT = 22440;
const SBC = `${ENGINE_IP}:5060`;
const DOMAIN = 'sipaddr.voice.test';
const SECRET = 'whsec-sip-address-test';
const HERE = path.dirname(fileURLToPath(import.meta.url));

interface Hook { path: string; body: Record<string, unknown>; signed: boolean }

let cp = 9600;
let mp = 64500;
/** sipp in a temp dir with `__NAME__` placeholders of one of this directory's scenarios replaced. */
function sipp(scenario: string, args: string[], vars: Record<string, string>) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipp-sipaddr-'));
  let xml = readFileSync(path.join(HERE, scenario), 'utf8');
  for (const [k, v] of Object.entries(vars)) xml = xml.replaceAll(`__${k}__`, v);
  writeFileSync(path.join(dir, scenario), xml);
  const ports = ['-cp', String(cp), '-mp', String(mp)];
  cp = cp >= 9649 ? 9600 : cp + 1;
  mp = mp >= 64900 ? 64500 : mp + 20;
  const proc = spawn('sipp', ['-sf', scenario, ...args, ...ports, '-m', '1', '-timeout', '20s', '-nostdin', '-trace_err', '-trace_msg'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  proc.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  const done = new Promise<{ code: number | null; output: string; messages: string }>((resolve) => {
    proc.on('exit', (code) => {
      let messages = '';
      for (const f of readdirSync(dir).filter((n) => n.endsWith('.log'))) {
        const text = readFileSync(path.join(dir, f), 'utf8');
        if (f.includes('_messages')) messages += text;
        else output += `\n--- ${f}\n${text.slice(-3000)}`;
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output, messages });
    });
  });
  running.add(proc);
  void done.then(() => running.delete(proc));
  return done;
}
const running = new Set<ReturnType<typeof spawn>>();

describe.runIf(run)('SIP addresses: sip:<address>@<tenant domain> runs the application', () => {
  let p: TestPlatform;
  let tenant: { tenantId: string; apiKey: string };
  let rtpengine: Daemon;
  let engine: SipEngine;
  let srf: Srf;
  let sbc: SbcApp;
  let server: http.Server;
  let appUrl = '';
  const hooks: Hook[] = [];
  const docs = new Map<string, unknown>();
  const phones: RtpEndpoint[] = [];
  const pool = new RtpPortPool(CARRIER_IP, 64400, 64499);

  beforeAll(async () => {
    p = await startTestPlatform();
    tenant = await newTenant(p, 'sip-address');
    await p.services.sip.setTenantDomain(tenant.tenantId, DOMAIN);
    await p.services.sip.createTrunk({ tenantId: tenant.tenantId, name: 'carrier', enabled: true, numberFormat: 'e164', countryCode: '1', inboundCidrs: [`${CARRIER_IP}/32`], headerRules: [], gateways: [] });

    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const signed = verifyWebhook(SECRET, req.headers['x-cpaas-timestamp'] as string, raw, req.headers['x-cpaas-signature'] as string);
        hooks.push({ path: req.url ?? '/', body: JSON.parse(raw || '{}') as Record<string, unknown>, signed });
        const doc = docs.get(req.url ?? '/');
        if (doc === undefined) res.writeHead(404).end();
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
      });
    });
    for (let port = 30200; port < 30300; port++) {
      const ok = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, HTTP_IP, () => resolve(true));
      });
      if (ok) {
        appUrl = `http://${HTTP_IP}:${port}`;
        break;
      }
    }
    if (!appUrl) throw new Error('no free port in 30200-30299');

    const log = pino({ level: process.env.VOICE_TEST_LOG ?? 'silent' });
    rtpengine = await startRtpengine({ ip: RTP_IP, ngPort: NG_PORT, minPort: 63000, maxPort: 63999 });
    engine = await startSipEngine({
      sip: [{ transport: 'udp', host: ENGINE_IP, port: 5060 }],
      admin: { host: ENGINE_IP, port: 0, secret: 'sipaddr-secret' },
      log: pino({ level: 'silent' }),
      timers: { t1: 250, t2: 2000, t4: 2500 },
    });
    const conn = await connectSrf({ host: ENGINE_IP, port: engine.adminPort, secret: 'sipaddr-secret', log });
    srf = conn.srf;
    const config = {
      instanceId: 'sbc-sip-address-test',
      cacheSeconds: 2, // through withReadCache, as in production
      rtpengine: { ngPort: NG_PORT, mode: 'static', fallback: [{ id: 'm1', host: RTP_IP, port: NG_PORT }], localAddress: ENGINE_IP, timeoutMs: 1000, refreshSeconds: 5 },
      control: { host: ENGINE_IP, port: -1 },
      limits: { maxConcurrentCalls: 20, maxCallsPerTenant: 20, ringTimeoutSeconds: 5, maxCallSeconds: 0, gatewayTimeoutSeconds: 2 },
      registrar: { minExpires: 30, maxExpires: 3600, defaultExpires: 600, maxContacts: 3, nonceTtlSeconds: 60 },
      health: { optionsIntervalSeconds: 0, failuresToDown: 1 },
    } as SbcAppConfig;
    sbc = await buildSbcApp({
      config, srf, localHost: sipHostFromHostports(conn.hostports), repo: p.services.sip, log, clock: systemClock, nonceSecret: 'nonce',
      voice: {
        rtp: { host: EP_IP, minPort: 64000, maxPort: 64399 },
        webhookSecret: (t) => Promise.resolve(t === tenant.tenantId ? SECRET : undefined),
        applications: new DynamoApplicationResolver({ doc: p.aws.doc, tableName: p.config.tableName }),
        hooks: { timeoutMs: 2000, attempts: 2 },
      },
    });
  }, 60_000);

  afterAll(async () => {
    for (const s of running) s.kill('SIGKILL');
    for (const ph of phones) ph.close();
    await sbc?.close();
    srf?.disconnect();
    await engine?.close();
    await rtpengine?.stop();
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await p?.stop();
  });

  it('a carrier call to sip:support@<domain> runs the application (signed hook, tone heard, application hangs up); an unknown address is 404', async () => {
    docs.set('/support', [{ verb: 'play', source: { tone: { frequencies: [700], durationMs: 800 } } }, { verb: 'hangup' }]);
    const created = await call(p, 'POST', '/v1/applications', { key: tenant.apiKey, json: { name: 'support', url: `${appUrl}/support`, sipAddresses: ['support'] } });
    expect(created.status).toBe(201);

    const phone = await RtpEndpoint.create(pool, { latch: true });
    phones.push(phone);
    const frames: Frame[] = [];
    phone.onFrame((f) => frames.push(f));
    const r = await sipp('carrier-uac.xml', [SBC, '-i', CARRIER_IP, '-p', '5061'], { TO: 'support', DOMAIN, MIP: CARRIER_IP, MPORT: String(phone.port) });
    expect(r.code, r.output).toBe(0);
    const hook = hooks.find((h) => h.path === '/support');
    expect(hook?.signed).toBe(true);
    expect(hook?.body).toMatchObject({ event: 'call.incoming', tenantId: tenant.tenantId, direction: 'inbound' });
    const samples = frames.flatMap((f) => Array.from(f));
    expect(samples.length).toBeGreaterThan(8000 * 0.4);
    expect(Math.abs(zeroCrossingHz(samples.slice(800, 4000)) - 700)).toBeLessThan(30);

    const missing = await sipp('carrier-404.xml', [SBC, '-i', CARRIER_IP, '-p', '5061'], { TO: 'nobody', DOMAIN });
    expect(missing.code, missing.output).toBe(0);
    await until(() => sbc.activeCalls().length === 0, 8000, 'calls to end');
  }, 40_000);

  it('a device of the tenant (SIP user, digest) calling sip:sales@<domain> runs the application; releasing the address makes it 404', async () => {
    expect((await call(p, 'POST', '/v1/sip/users', { key: tenant.apiKey, json: { username: 'bob', password: 'bob-password-22' } })).status).toBe(201);
    docs.set('/sales', [{ verb: 'play', source: { tone: { frequencies: [500], durationMs: 300 } } }, { verb: 'pause', seconds: 10 }]);
    const created = await call(p, 'POST', '/v1/applications', { key: tenant.apiKey, json: { name: 'sales', url: `${appUrl}/sales`, sipAddresses: ['sales'] } });
    expect(created.status).toBe(201);
    const r = await sipp('device-uac.xml', [SBC, '-i', DEVICE_IP, '-p', '5062'], { USER: 'bob', PASSWORD: 'bob-password-22', DOMAIN, TO: 'sales', HOLD_MS: '1000' });
    expect(r.code, r.output).toBe(0);
    expect(r.messages).toMatch(/Proxy-Authenticate: Digest realm="sipaddr\.voice\.test"/);
    const hook = hooks.find((h) => h.path === '/sales');
    expect(hook?.signed).toBe(true);
    expect(hook?.body).toMatchObject({ event: 'call.incoming', tenantId: tenant.tenantId });
    await until(() => sbc.activeCalls().length === 0, 8000, 'calls to end');

    // released over REST: after the SBC's read cache expires (2 s) the address is unknown
    expect((await call(p, 'PUT', `/v1/applications/${created.body.id}`, { key: tenant.apiKey, json: { name: 'sales', url: `${appUrl}/sales` } })).status).toBe(200);
    await new Promise((res) => setTimeout(res, 2100));
    const gone = await sipp('carrier-404.xml', [SBC, '-i', CARRIER_IP, '-p', '5061'], { TO: 'sales', DOMAIN });
    expect(gone.code, gone.output).toBe(0);
  }, 40_000);
});
