/**
 * The auto-attendant example against the local platform (`npm start`'s startLocalPlatform, SIP side on 127.0.17.21,
 * rtpengine on 127.0.17.22): the README's steps over REST (tenant, application pointing at the example server,
 * number → application), then `POST /v1/calls` with the application to a sipp phone: the SBC fetches the menu from
 * the example (signed), the phone's call runs it, the example receives the status callbacks, REST hangs up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalPlatform, type LocalPlatform } from '../../../runtime/local/platform.js';
import { silentLogger } from '../../../runtime/core/logging.js';
import { requires } from '../../support/requires.js';
import { haveRtpengine, haveSipp, until, waitForBound } from '../sbc/harness.js';
import { listenInRange } from './support.js';

const run = requires('sipp', haveSipp, 'sipp (Debian sip-tester) not installed') && requires('rtpengine', haveRtpengine, 'rtpengine (Debian rtpengine-daemon) not installed');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const HTTP_IP = '127.0.17.20';
const SIP_IP = '127.0.17.21';
const RTP_IP = '127.0.17.22';
const PHONE_IP = '127.0.17.23';

async function freePort(host: string): Promise<number> {
  const s = createServer();
  const port = await listenInRange(s, host);
  await new Promise((r) => s.close(r));
  return port;
}

describe.runIf(run)('auto-attendant example on the local platform', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cpaas-voice-demo-'));
  let platform: LocalPlatform;
  let example: ChildProcess | undefined;
  let phone: ChildProcess | undefined;
  let exampleOut = '';

  beforeAll(async () => {
    platform = await startLocalPlatform({
      dataDir, rootDir: ROOT, host: HTTP_IP, port: 0, turn: { enabled: false, port: 0, minPort: 0, maxPort: 0 }, log: silentLogger,
      sip: { host: SIP_IP, port: 5060, rtpengine: { host: RTP_IP, ngPort: 27993, httpPort: 27994, minPort: 27400, maxPort: 27599 }, controlPort: await freePort(SIP_IP) },
    });
  }, 60_000);

  afterAll(async () => {
    for (const c of [example, phone]) if (c && c.exitCode === null) c.kill('SIGKILL');
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('README steps: application → example server, originate to a phone, menu fetched signed, status callbacks, REST hangup', async () => {
    expect(platform.components.find((c) => c.name.startsWith('SIP'))?.running, JSON.stringify(platform.components)).toBe(true);
    const api = async (method: string, p: string, key: string, body?: unknown) => {
      const res = await fetch(`${platform.baseUrl}${p}`, { method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    const admin = platform.secrets.adminKey;
    const tenant = (await api('POST', '/v1/tenants', admin, { name: 'acme' })).body;
    const key = (await api('POST', `/v1/tenants/${tenant.id}/keys`, admin, { name: 'voice' })).body.token;

    // the example, as the README starts it
    const port = await freePort(HTTP_IP);
    const publicUrl = `http://${HTTP_IP}:${port}`;
    example = spawn(process.execPath, [path.join(ROOT, 'docs/examples/auto-attendant.mjs')], { env: { PATH: process.env.PATH ?? '', HOST: HTTP_IP, PORT: String(port), PUBLIC_URL: publicUrl, CPAAS_WEBHOOK_SECRET: tenant.webhookSecret, SALES_USER: 'sales' }, stdio: ['ignore', 'pipe', 'pipe'] });
    example.stdout!.on('data', (d: Buffer) => (exampleOut += d.toString()));
    example.stderr!.on('data', (d: Buffer) => (exampleOut += d.toString()));
    await until(() => exampleOut.includes('listening'), 10_000, 'the example server');

    const app = (await api('POST', '/v1/applications', key, { name: 'attendant', url: `${publicUrl}/incoming`, statusCallback: { url: `${publicUrl}/status` } })).body;
    expect((await api('PUT', '/v1/numbers/+14155550100', key, { destination: { type: 'application', applicationId: app.id } })).status).toBe(200);

    // a phone that answers and waits for our BYE
    const dir = mkdtempSync(path.join(tmpdir(), 'sipp-voice-demo-'));
    const xml = readFileSync(path.join(ROOT, 'test/fixtures/sipp/voice/uas.xml'), 'utf8').replaceAll('__MIP__', PHONE_IP).replaceAll('__MPORT__', '27980').replaceAll('__WAIT_MS__', '30000').replaceAll('__RING_MS__', '200');
    writeFileSync(path.join(dir, 'uas.xml'), xml);
    let phoneOut = '';
    phone = spawn('sipp', ['-sf', 'uas.xml', '-i', PHONE_IP, '-p', '27981', '-m', '1', '-timeout', '40s', '-cp', '27982', '-mp', '27984', '-nostdin'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    phone.stdout!.on('data', (d: Buffer) => (phoneOut += d.toString()));
    const phoneDone = new Promise<number | null>((r) => phone!.once('exit', (code) => r(code)));
    await waitForBound('udp', PHONE_IP, 27981);

    const created = await api('POST', '/v1/calls', key, { to: `sip:caller@${PHONE_IP}:27981`, from: '+14155550100', applicationId: app.id });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const callId = created.body.callId as string;
    // the SBC fetched the menu from the example with a valid signature (else the example answers 401 and the call ends)
    await until(() => exampleOut.includes(`[/incoming] ${callId} call.outbound`), 15_000, 'the menu fetch');
    expect(exampleOut).toContain('→ answer, gather');
    await until(async () => (await api('GET', `/v1/calls/${callId}`, key)).body?.live?.verb === 'gather', 10_000, 'gather running');
    expect((await api('POST', `/v1/calls/${callId}`, key, { action: 'hangup' })).status).toBe(200);
    expect(await phoneDone, phoneOut).toBe(0);
    rmSync(dir, { recursive: true, force: true });
    await until(() => exampleOut.includes(`[status] ${callId} #4 completed`), 10_000, 'the completed status callback');
    expect(exampleOut).toContain(`[status] ${callId} #1 initiated`);
    expect(exampleOut).toContain(`[status] ${callId} #3 answered`);
  }, 60_000);
});
