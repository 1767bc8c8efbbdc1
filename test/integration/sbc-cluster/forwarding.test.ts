/**
 * Two real SBC instances (buildSbcApp twice, each on its own SIP engine, one rtpengine, one dynalite table) behind a
 * signalling process that only knows SBC B's control URL — as when the AWS control NLB picks the other instance.
 * A programmable call originated on SBC A (answered by a sipp phone) is read, modified and hung up over REST: B
 * forwards each request to A (the call-owner registry); once the call ends the registry item is gone and the next
 * request is the normal CALL_NOT_FOUND. A carrier SIP call (B2BUA) on A takes DTMF through B's control API; a
 * conference hosted on A is read and ended over REST through B the same way.
 * docs/sbc.md § Several SBC instances.
 *
 * Addresses 127.0.22.x: engines .3 (A) and .4 (B) :5060, control 30310 (A) / 30311 (B), rtpengine .9 ng 22460 media
 * 65000–65199, voice RTP endpoints .5 65200–65299 (A) / 65300–65399 (B), sipp phone .2 -p 9650 -cp 9651 -mp 9660,
 * sipp carrier .6 -p 9652 -cp 9653 -mp 9680.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { Db } from '../../../runtime/core/storage/db.js';
import { CallOwnerRepository } from '../../../runtime/core/storage/call-owners.js';
import { createSipRepository } from '../../../runtime/sbc/repository.js';
import { buildSbcApp, connectSrf, type SbcApp, type SbcAppConfig } from '../../../runtime/sbc/app.js';
import { CallOwnership } from '../../../runtime/sbc/ownership.js';
import { haveRtpengine, haveSipp, rtpPcap, startRtpengine, until, waitForBound } from '../sbc/harness.js';
import { call, newTenant } from '../rest/helpers.js';

const run = requires('sipp', haveSipp, 'sipp (Debian sip-tester) not installed') && requires('rtpengine', haveRtpengine, 'rtpengine (Debian rtpengine-daemon) not installed');

const UAS_IP = '127.0.22.2';
const RTP_IP = '127.0.22.9';
const EP_IP = '127.0.22.5';
const NG_PORT = 22460;
const SECRET = 'sbc-cluster-test-secret';
const SCENARIOS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/sipp/voice');

/** sipp UAS: rings `ringMs`, answers, waits for our BYE. */
function uas(ringMs: number): { proc: ChildProcess; done: Promise<{ code: number | null; output: string }> } {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipp-sbc-cluster-'));
  const xml = readFileSync(path.join(SCENARIOS, 'uas.xml'), 'utf8').replaceAll('__MIP__', UAS_IP).replaceAll('__MPORT__', '9670').replaceAll('__WAIT_MS__', '20000').replaceAll('__RING_MS__', String(ringMs));
  writeFileSync(path.join(dir, 'uas.xml'), xml);
  const proc = spawn('sipp', ['-sf', 'uas.xml', '-i', UAS_IP, '-p', '9650', '-m', '1', '-timeout', '30s', '-cp', '9651', '-mp', '9660', '-nostdin'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const done = new Promise<{ code: number | null; output: string }>((resolve) => proc.on('exit', (code) => {
    rmSync(dir, { recursive: true, force: true });
    resolve({ code, output });
  }));
  return { proc, done };
}

/** A sipp run of a test/fixtures/sipp/sbc scenario (vars `__X__` replaced; pcap/rtp.pcap for the callers). */
function sbcSipp(scenario: string, args: string[], vars: Record<string, string>): { proc: ChildProcess; done: Promise<{ code: number | null; output: string }> } {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipp-sbc-cluster-'));
  let xml = readFileSync(path.join(SCENARIOS, '../sbc', scenario), 'utf8');
  for (const [k, v] of Object.entries(vars)) xml = xml.replaceAll(`__${k}__`, v);
  writeFileSync(path.join(dir, scenario), xml);
  mkdirSync(path.join(dir, 'pcap'));
  writeFileSync(path.join(dir, 'pcap', 'rtp.pcap'), rtpPcap(50));
  const proc = spawn('sipp', ['-sf', scenario, ...args, '-nostdin'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const done = new Promise<{ code: number | null; output: string }>((resolve) => proc.on('exit', (code) => {
    rmSync(dir, { recursive: true, force: true });
    resolve({ code, output });
  }));
  return { proc, done };
}

interface Instance { name: string; engine: SipEngine; srf: Srf; sbc: SbcApp; ownership: CallOwnership; controlUrl: string }

describe.runIf(run)('several SBC instances: control requests reach the owner of the call', () => {
  let p: TestPlatform;
  let rtpengine: Daemon;
  let owners: CallOwnerRepository;
  const nodes: Instance[] = [];
  const phones: ChildProcess[] = [];

  async function instance(name: string, ip: string, controlPort: number, rtp: { minPort: number; maxPort: number }): Promise<Instance> {
    const engine = await startSipEngine({ sip: [{ transport: 'udp', host: ip, port: 5060 }], admin: { host: ip, port: 0, secret: 'cluster-secret' }, log: pino({ level: 'silent' }), timers: { t1: 250, t2: 2000, t4: 2500 } });
    const { srf } = await connectSrf({ host: ip, port: engine.adminPort, secret: 'cluster-secret' });
    const controlUrl = `http://${ip}:${controlPort}`;
    const log = pino({ level: process.env.SBC_CLUSTER_TEST_LOG ?? 'silent' }).child({ sbc: name });
    const ownership = new CallOwnership({ repo: owners, instanceId: `sbc-${name}`, controlUrl, log });
    const config = {
      instanceId: `sbc-${name}`,
      rtpengine: { ngPort: NG_PORT, mode: 'static', fallback: [{ id: 'm1', host: RTP_IP, port: NG_PORT }], localAddress: ip, timeoutMs: 1000, refreshSeconds: 5 },
      control: { host: ip, port: controlPort },
      limits: { maxConcurrentCalls: 20, maxCallsPerTenant: 20, ringTimeoutSeconds: 5, maxCallSeconds: 0, gatewayTimeoutSeconds: 2 },
      registrar: { minExpires: 30, maxExpires: 3600, defaultExpires: 600, maxContacts: 3, nonceTtlSeconds: 60 },
      health: { optionsIntervalSeconds: 0, failuresToDown: 1 },
    } as SbcAppConfig;
    const sbc = await buildSbcApp({
      config, srf, localHost: `${ip}:5060`, repo: createSipRepository({ doc: p.aws.doc, tableName: p.config.tableName, clock: systemClock }),
      log, clock: systemClock, nonceSecret: 'nonce', ownership,
      gateway: { secret: SECRET, signallingUrl: p.baseUrl, ringTimeoutSeconds: 5, transcode: 'prefer-opus', allowExternalSipUris: false, mediaTimeoutSeconds: 0 },
      voice: { rtp: { host: EP_IP, ...rtp }, webhookSecret: (t) => p.services.tenants.webhookSecret(t), hooks: { timeoutMs: 1500, attempts: 1 } },
    });
    return { name, engine, srf, sbc, ownership, controlUrl };
  }

  beforeAll(async () => {
    // Signalling knows only SBC B (the "NLB" always picks B here).
    p = await startTestPlatform({ overrides: { sbcControlUrl: 'http://127.0.22.4:30311', gateway: { secret: { value: SECRET } } } });
    owners = new CallOwnerRepository(new Db(p.aws.doc, p.config.tableName, systemClock));
    rtpengine = await startRtpengine({ ip: RTP_IP, ngPort: NG_PORT, minPort: 65000, maxPort: 65199 });
    nodes.push(await instance('a', '127.0.22.3', 30310, { minPort: 65200, maxPort: 65299 }));
    nodes.push(await instance('b', '127.0.22.4', 30311, { minPort: 65300, maxPort: 65399 }));
  }, 60_000);

  afterAll(async () => {
    for (const ph of phones) if (ph.exitCode === null) ph.kill('SIGKILL');
    for (const n of nodes) {
      await n.sbc.close();
      n.ownership.close();
      n.srf.disconnect();
      await n.engine.close();
    }
    await rtpengine?.stop();
    await p?.stop();
  });

  it('a call live on A is read, modified and hung up over REST through B; released at its end', async () => {
    const [a] = nodes as [Instance, Instance];
    const tenant = await newTenant(p, 'sbc-cluster');
    const phone = uas(300);
    phones.push(phone.proc);
    await waitForBound('udp', UAS_IP, 9650);
    // Originated on A (as if the NLB had sent the POST there).
    const res = await fetch(`${a.controlUrl}/v1/voice/calls`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-cpaas-gateway-secret': SECRET },
      body: JSON.stringify({ tenantId: tenant.tenantId, to: { type: 'sip', uri: `sip:carol@${UAS_IP}:9650` }, from: 'robot', application: { document: [{ verb: 'pause', seconds: 30 }] } }),
    });
    expect(res.status).toBe(201);
    const { callId } = await res.json() as { callId: string };
    // Registered before the id was returned.
    expect(await owners.get('call', callId)).toMatchObject({ tenantId: tenant.tenantId, ownerId: 'sbc-a', controlUrl: a.controlUrl });

    await until(async () => (await call(p, 'GET', `/v1/calls/${callId}`, { key: tenant.apiKey })).body?.live?.status === 'answered', 10_000, 'answered (read through B)');
    expect((await call(p, 'GET', `/v1/calls?live=true`, { key: tenant.apiKey })).status).toBe(200);
    const muted = await call(p, 'POST', `/v1/calls/${callId}`, { key: tenant.apiKey, json: { action: 'mute' } });
    expect(muted.status, JSON.stringify(muted.body)).toBe(200);
    expect(muted.body).toMatchObject({ muted: true });
    const hung = await call(p, 'POST', `/v1/calls/${callId}`, { key: tenant.apiKey, json: { action: 'hangup' } });
    expect(hung.status, JSON.stringify(hung.body)).toBe(200);
    const r = await phone.done;
    expect(r.code, r.output).toBe(0); // the phone got A's BYE

    await until(async () => (await owners.get('call', callId)) === undefined, 5000, 'ownership released');
    const after = await call(p, 'POST', `/v1/calls/${callId}`, { key: tenant.apiKey, json: { action: 'mute' } });
    expect(after.status).toBe(404);
    expect(after.body).toMatchObject({ code: 'CALL_NOT_FOUND' });
  }, 60_000);

  it('a carrier SIP call through A (B2BUA): DTMF over B\'s control API reaches it; released at the BYE', async () => {
    const [a, b] = nodes as [Instance, Instance];
    const tenant = await newTenant(p, 'sbc-cluster-sip');
    const repo = createSipRepository({ doc: p.aws.doc, tableName: p.config.tableName, clock: systemClock });
    const base = { tenantId: tenant.tenantId, enabled: true, numberFormat: 'e164' as const, countryCode: '1', headerRules: [] };
    await repo.createTrunk({ ...base, name: 'carrier-in', inboundCidrs: ['127.0.22.6/32'], gateways: [] });
    const out = await repo.createTrunk({ ...base, name: 'out', inboundCidrs: [], gateways: [{ id: 'gw-1', host: UAS_IP, port: 9650, transport: 'udp', priority: 1, cost: 1 }] });
    await repo.putNumber({ tenantId: tenant.tenantId, e164: '+15550001', destination: { type: 'trunk', trunkId: out.id } });
    const callee = sbcSipp('uas-answer.xml', ['-i', UAS_IP, '-p', '9650', '-m', '1', '-timeout', '30s', '-cp', '9651', '-mp', '9660'], {});
    phones.push(callee.proc);
    await waitForBound('udp', UAS_IP, 9650);
    const caller = sbcSipp('uac-call.xml', ['127.0.22.3:5060', '-i', '127.0.22.6', '-p', '9652', '-m', '1', '-timeout', '30s', '-cp', '9653', '-mp', '9680'], { TO: '+15550001', FROM: '+15551234', HOLD_MS: '3000' });
    phones.push(caller.proc);
    await until(() => a.sbc.activeCalls()[0]?.state === 'answered', 10_000, 'SIP call answered on A');
    const id = a.sbc.activeCalls()[0]!.info.id;
    expect(await owners.get('call', id)).toMatchObject({ tenantId: tenant.tenantId, ownerId: 'sbc-a' });
    const dtmf = await fetch(`${b.controlUrl}/v1/calls/${id}/dtmf`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-cpaas-gateway-secret': SECRET },
      body: JSON.stringify({ tenantId: tenant.tenantId, digits: '5' }),
    });
    expect(dtmf.status, await dtmf.clone().text()).toBeLessThan(300);
    const [c1, c2] = await Promise.all([caller.done, callee.done]);
    expect(c1.code, c1.output).toBe(0);
    expect(c2.code, c2.output).toBe(0);
    await until(async () => (await owners.get('call', id)) === undefined, 5000, 'SIP call ownership released');
  }, 60_000);

  it('a conference hosted on A is managed over REST through B; its name is released when it ends', async () => {
    const [a] = nodes as [Instance, Instance];
    const tenant = await newTenant(p, 'sbc-cluster-conf');
    const phone = uas(100);
    phones.push(phone.proc);
    await waitForBound('udp', UAS_IP, 9650);
    // A dials the phone into `standup` (A hosts it).
    const res = await fetch(`${a.controlUrl}/v1/conferences/standup/participants?tenantId=${tenant.tenantId}`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-cpaas-gateway-secret': SECRET },
      body: JSON.stringify({ to: { type: 'sip', uri: `sip:carol@${UAS_IP}:9650` } }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    await until(async () => (await call(p, 'GET', '/v1/conferences/standup', { key: tenant.apiKey })).body?.participants?.length === 1, 10_000, 'participant joined (read through B)');
    expect(await owners.get('conference', 'standup', tenant.tenantId)).toMatchObject({ ownerId: 'sbc-a' });
    // Another tenant's conference of the same name does not exist.
    const other = await newTenant(p, 'sbc-cluster-other');
    expect((await call(p, 'GET', '/v1/conferences/standup', { key: other.apiKey })).status).toBe(404);
    const ended = await call(p, 'DELETE', '/v1/conferences/standup', { key: tenant.apiKey });
    expect(ended.status, JSON.stringify(ended.body)).toBe(204);
    const r = await phone.done;
    expect(r.code, r.output).toBe(0); // the participant got A's BYE
    await until(async () => (await owners.get('conference', 'standup', tenant.tenantId)) === undefined, 5000, 'conference name released');
    expect((await call(p, 'GET', '/v1/conferences/standup', { key: tenant.apiKey })).status).toBe(404);
  }, 60_000);
});
