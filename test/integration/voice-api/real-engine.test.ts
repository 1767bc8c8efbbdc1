/**
 * The voice API through the real thing, on 127.0.17.0/24: REST (signalling) → SBC control API → the SBC's voice
 * engine (buildSbcApp with `voice`, the SIP engine, rtpengine) → a sipp phone; status callbacks delivered signed
 * and in order to a receiver; the SBC reads the same table as the REST API (applications, webhook secrets, CDRs).
 *
 * Ports: SIP engine 127.0.17.3:5060, control/HTTP servers 27000–27599 (listenInRange), rtpengine ng 127.0.17.9:27990,
 * media 27600–27799, voice RTP endpoints 27800–27899, sipp 127.0.17.2:27950 (-cp 27951, -mp 27960).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type Srf from 'drachtio-srf';
import { requires } from '../../support/requires.js';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { startSipEngine, type SipEngine } from '../../../runtime/sip-engine/index.js';
import type { Daemon } from '../../../runtime/local/daemon.js';
import { systemClock } from '../../../runtime/core/clock.js';
import { verifyWebhook, type WebhookEvent } from '../../../runtime/core/webhooks.js';
import type { CallStatusEvent } from '../../../runtime/core/protocol/voice.js';
import { DynamoApplicationResolver } from '../../../runtime/core/storage/applications.js';
import { createSipRepository } from '../../../runtime/sbc/repository.js';
import { buildSbcApp, connectSrf, type SbcApp, type SbcAppConfig } from '../../../runtime/sbc/app.js';
import { haveRtpengine, haveSipp, startRtpengine, until, waitForBound } from '../sbc/harness.js';
import { call, newTenant } from '../rest/helpers.js';
import { listenInRange } from './support.js';

const run = requires('sipp', haveSipp, 'sipp (Debian sip-tester) not installed') && requires('rtpengine', haveRtpengine, 'rtpengine (Debian rtpengine-daemon) not installed');

const ENGINE_IP = '127.0.17.3';
const UAS_IP = '127.0.17.2';
const RTP_IP = '127.0.17.9';
const EP_IP = '127.0.17.5';
const HOOK_IP = '127.0.17.4';
const NG_PORT = 27990;
const SCENARIOS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/sipp/voice');

/** sipp UAS (the voice tests' uas.xml): rings `ringMs`, answers, waits for our BYE. */
function uas(port: number, ringMs: number): { proc: ChildProcess; done: Promise<{ code: number | null; output: string }> } {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipp-voice-api-'));
  const xml = readFileSync(path.join(SCENARIOS, 'uas.xml'), 'utf8').replaceAll('__MIP__', UAS_IP).replaceAll('__MPORT__', '27970').replaceAll('__WAIT_MS__', '20000').replaceAll('__RING_MS__', String(ringMs));
  writeFileSync(path.join(dir, 'uas.xml'), xml);
  const proc = spawn('sipp', ['-sf', 'uas.xml', '-i', UAS_IP, '-p', String(port), '-m', '1', '-timeout', '30s', '-cp', String(port + 1), '-mp', '27960', '-nostdin'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const done = new Promise<{ code: number | null; output: string }>((resolve) => proc.on('exit', (code) => {
    rmSync(dir, { recursive: true, force: true });
    resolve({ code, output });
  }));
  return { proc, done };
}

describe.runIf(run)('voice API through the real SBC voice engine', () => {
  let p: TestPlatform;
  let rtpengine: Daemon;
  let engine: SipEngine;
  let srf: Srf;
  let sbc: SbcApp;
  let hooks: Server;
  let hookUrl = '';
  let tenant: { tenantId: string; apiKey: string };
  let secret = '';
  const received: Array<{ ok: boolean; event: WebhookEvent<CallStatusEvent> }> = [];
  const phones: ChildProcess[] = [];

  beforeAll(async () => {
    // the control port first: signalling is configured with the SBC's URL before the SBC starts
    const probe = createServer();
    const controlPort = await listenInRange(probe, ENGINE_IP);
    await new Promise((r) => probe.close(r));
    p = await startTestPlatform({ overrides: { sbcControlUrl: `http://${ENGINE_IP}:${controlPort}`, gateway: { secret: { value: 'voice-api-test-secret' } } } });
    rtpengine = await startRtpengine({ ip: RTP_IP, ngPort: NG_PORT, minPort: 27600, maxPort: 27799 });
    engine = await startSipEngine({ sip: [{ transport: 'udp', host: ENGINE_IP, port: 5060 }], admin: { host: ENGINE_IP, port: 0, secret: 'voice-api-secret' }, log: pino({ level: 'silent' }), timers: { t1: 250, t2: 2000, t4: 2500 } });
    ({ srf } = await connectSrf({ host: ENGINE_IP, port: engine.adminPort, secret: 'voice-api-secret' }));
    const config = {
      instanceId: 'sbc-voice-api-test',
      rtpengine: { ngPort: NG_PORT, mode: 'static', fallback: [{ id: 'm1', host: RTP_IP, port: NG_PORT }], localAddress: ENGINE_IP, timeoutMs: 1000, refreshSeconds: 5 },
      control: { host: ENGINE_IP, port: controlPort },
      limits: { maxConcurrentCalls: 20, maxCallsPerTenant: 20, ringTimeoutSeconds: 5, maxCallSeconds: 0, gatewayTimeoutSeconds: 2 },
      registrar: { minExpires: 30, maxExpires: 3600, defaultExpires: 600, maxContacts: 3, nonceTtlSeconds: 60 },
      health: { optionsIntervalSeconds: 0, failuresToDown: 1 },
    } as SbcAppConfig;
    sbc = await buildSbcApp({
      config, srf, localHost: `${ENGINE_IP}:5060`, repo: createSipRepository({ doc: p.aws.doc, tableName: p.config.tableName, clock: systemClock }),
      log: pino({ level: process.env.VOICE_TEST_LOG ?? 'silent' }), clock: systemClock, nonceSecret: 'nonce',
      voice: {
        rtp: { host: EP_IP, minPort: 27800, maxPort: 27899 },
        webhookSecret: (t) => p.services.tenants.webhookSecret(t),
        applications: new DynamoApplicationResolver({ doc: p.aws.doc, tableName: p.config.tableName }),
        hooks: { timeoutMs: 1500, attempts: 1 },
      },
    });
    hooks = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        received.push({ ok: verifyWebhook(secret, req.headers['x-cpaas-timestamp'] as string, raw, req.headers['x-cpaas-signature'] as string), event: JSON.parse(raw) as WebhookEvent<CallStatusEvent> });
        res.writeHead(204).end();
      });
    });
    hookUrl = `http://${HOOK_IP}:${await listenInRange(hooks, HOOK_IP)}/status`;
    tenant = await newTenant(p, 'voice-real');
    secret = (await p.services.tenants.webhookSecret(tenant.tenantId))!;
  }, 60_000);

  afterAll(async () => {
    for (const ph of phones) if (ph.exitCode === null) ph.kill('SIGKILL');
    await sbc?.close();
    srf?.disconnect();
    await engine?.close();
    await rtpengine?.stop();
    hooks?.closeAllConnections();
    await new Promise((r) => (hooks ? hooks.close(r) : r(undefined)));
    await p?.stop();
  });

  it('originate → ringing/answered on a sipp phone, live state + modify over REST, redirect ends it; status callbacks signed and in order', async () => {
    const phone = uas(27950, 400);
    phones.push(phone.proc);
    await waitForBound('udp', UAS_IP, 27950);
    const app = (await call(p, 'POST', '/v1/applications', { key: tenant.apiKey, json: { name: 'hold-line', document: [{ verb: 'pause', seconds: 30 }], statusCallback: { url: hookUrl } } })).body;
    const created = await call(p, 'POST', '/v1/calls', { key: tenant.apiKey, json: { to: `sip:carol@${UAS_IP}:27950`, from: 'robot', applicationId: app.id, ringTimeoutSeconds: 10, tag: { test: 'real' } } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const callId = created.body.callId as string;
    expect(created.body).toMatchObject({ status: 'initiated', direction: 'outbound', tenantId: tenant.tenantId });

    await until(async () => (await call(p, 'GET', `/v1/calls/${callId}`, { key: tenant.apiKey })).body?.live?.status === 'answered', 10_000, 'answered');
    const live = await call(p, 'GET', `/v1/calls/${callId}`, { key: tenant.apiKey });
    expect(live.body).toMatchObject({ id: callId, live: { callId, status: 'answered', verb: 'pause', muted: false } });
    expect((await call(p, 'GET', '/v1/calls?live=true', { key: tenant.apiKey })).body.items.map((c: { callId: string }) => c.callId)).toContain(callId);
    // another tenant sees nothing
    const other = await newTenant(p, 'voice-other');
    expect((await call(p, 'GET', `/v1/calls/${callId}`, { key: other.apiKey })).status).toBe(404);
    expect((await call(p, 'POST', `/v1/calls/${callId}`, { key: other.apiKey, json: { action: 'hangup' } })).status).toBe(404);

    expect((await call(p, 'POST', `/v1/calls/${callId}`, { key: tenant.apiKey, json: { action: 'mute' } })).body).toMatchObject({ muted: true });
    const redirect = await call(p, 'POST', `/v1/calls/${callId}`, { key: tenant.apiKey, json: { action: 'redirect', application: { document: [{ verb: 'play', source: { tone: { frequencies: [800], durationMs: 200 } } }, { verb: 'hangup' }] } } });
    expect(redirect.status).toBe(200);
    const r = await phone.done;
    expect(r.code, r.output).toBe(0); // the phone got our BYE

    await until(() => received.some((x) => x.event.data.callId === callId && x.event.data.status === 'completed'), 10_000, 'completed callback');
    const mine = received.filter((x) => x.event.data.callId === callId);
    expect(mine.every((x) => x.ok)).toBe(true);
    expect(mine.map((x) => x.event.data.status)).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    expect(mine.map((x) => x.event.data.sequence)).toEqual([1, 2, 3, 4]);
    expect(mine.map((x) => x.event.id)).toEqual([1, 2, 3, 4].map((n) => `evt_${callId}_${n}`));
    // the record, once ended, comes from the CDR
    await until(async () => (await call(p, 'GET', `/v1/calls/${callId}`, { key: tenant.apiKey })).body?.state === 'ended', 10_000, 'CDR ended');
    expect((await call(p, 'GET', `/v1/calls/${callId}`, { key: tenant.apiKey })).body.live).toBeUndefined();
  }, 60_000);

  it('hangup over REST while ringing; an unanswered call completes with its cause', async () => {
    const phone = uas(27950, 8000);
    phones.push(phone.proc);
    await waitForBound('udp', UAS_IP, 27950);
    const c = (await call(p, 'POST', '/v1/calls', { key: tenant.apiKey, json: { to: `sip:dave@${UAS_IP}:27950`, from: 'robot', application: { document: [{ verb: 'hangup' }] }, statusCallback: { url: hookUrl } } })).body;
    await until(async () => (await call(p, 'GET', `/v1/calls/${c.callId}`, { key: tenant.apiKey })).body?.live?.status === 'ringing', 5000, 'ringing');
    expect((await call(p, 'POST', `/v1/calls/${c.callId}`, { key: tenant.apiKey, json: { action: 'hangup' } })).body).toMatchObject({ status: 'completed' });
    phone.proc.kill('SIGKILL');
    await until(() => received.some((x) => x.event.data.callId === c.callId && x.event.data.status === 'completed'), 10_000, 'completed');
    const mine = received.filter((x) => x.event.data.callId === c.callId).map((x) => x.event.data);
    expect(mine.map((e) => e.status)).toEqual(['initiated', 'ringing', 'completed']);
    expect(mine.at(-1)!.cause).toBeTruthy();
    expect((await call(p, 'POST', `/v1/calls/${c.callId}`, { key: tenant.apiKey, json: { action: 'mute' } })).status).toBe(404);
  }, 30_000);
});
