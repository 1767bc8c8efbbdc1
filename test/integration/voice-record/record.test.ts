/**
 * The `record` verb's WAV becomes a call recording (docs/voice.md § record): on the local platform (`npm start`'s
 * startLocalPlatform, the same features.ts wiring as the AWS process), a REST-originated call runs an inline
 * application [record, hangup] against a sipp phone whose media is a Node RTP peer playing a 700 Hz tone. The
 * recording must then be listed by `GET /v1/recordings?callId=`, its presigned URL must download the same bytes
 * (sha-256 of the metadata), the tone must be in the file, the tenant gets a signed `recording.completed`, and the
 * SBC's local WAV is gone.
 *
 * Loopback 127.0.18.x: HTTP 127.0.18.20 (29000–29999), SIP engine 127.0.18.21, rtpengine 127.0.18.22 (ng 22410,
 * http 22411, media 57000–57999), voice endpoints 58000–58999, phone 127.0.18.23 (sipp -cp 9500, media 59000–59099).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalPlatform, type LocalPlatform } from '../../../runtime/local/platform.js';
import { silentLogger } from '../../../runtime/core/logging.js';
import { verifyWebhook } from '../../../runtime/core/webhooks.js';
import { RtpEndpoint, RtpPortPool } from '../../../runtime/sbc/voice/media/rtp-endpoint.js';
import { ToneSource } from '../../../runtime/sbc/voice/media/sources.js';
import { requires } from '../../support/requires.js';
import { haveRtpengine, haveSipp, until, waitForBound } from '../sbc/harness.js';

const run = requires('sipp', haveSipp, 'sipp (Debian sip-tester) not installed') && requires('rtpengine', haveRtpengine, 'rtpengine (Debian rtpengine-daemon) not installed');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const HTTP_IP = '127.0.18.20';
const SIP_IP = '127.0.18.21';
const RTP_IP = '127.0.18.22';
const PHONE_IP = '127.0.18.23';

/** Listens on a free port of 29000–29999 (random start). */
async function listenInRange(server: Server, host = HTTP_IP): Promise<number> {
  const start = 29000 + Math.floor(Math.random() * 900);
  for (let port = start; port < 30000; port++) {
    const ok = await new Promise<boolean>((resolve) => {
      const onErr = () => resolve(false);
      server.once('error', onErr);
      server.listen(port, host, () => {
        server.off('error', onErr);
        resolve(true);
      });
    });
    if (ok) return port;
  }
  throw new Error('no free port in 29000-29999');
}

async function freePort(host = HTTP_IP): Promise<number> {
  const s = createServer();
  const port = await listenInRange(s, host);
  await new Promise((r) => s.close(r));
  return port;
}

/** Dominant frequency of PCM16 samples by zero crossings. */
function zeroCrossingHz(samples: Int16Array, rate = 8000): number {
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) if ((samples[i - 1]! < 0) !== (samples[i]! < 0)) crossings++;
  return (crossings / 2) * (rate / samples.length);
}

describe.runIf(run)('record verb → call recording (local platform)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cpaas-voice-record-'));
  let platform: LocalPlatform;
  let phone: ChildProcess | undefined;
  let media: RtpEndpoint | undefined;
  const hooks: Array<{ body: string; ts: string; sig: string }> = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hooks.push({ body: Buffer.concat(chunks).toString('utf8'), ts: String(req.headers['x-cpaas-timestamp']), sig: String(req.headers['x-cpaas-signature']) });
      res.writeHead(204).end();
    });
  });
  let receiverUrl = '';

  beforeAll(async () => {
    receiverUrl = `http://${HTTP_IP}:${await listenInRange(receiver)}/hooks`;
    platform = await startLocalPlatform({
      dataDir, rootDir: ROOT, host: HTTP_IP, port: await freePort(), turn: { enabled: false, port: 0, minPort: 0, maxPort: 0 }, log: silentLogger,
      sip: {
        host: SIP_IP, port: 5060, controlPort: await freePort(SIP_IP),
        rtpengine: { host: RTP_IP, ngPort: 22410, httpPort: 22411, minPort: 57000, maxPort: 57999 },
        voiceRtp: { minPort: 58000, maxPort: 58999 },
      },
    });
  }, 60_000);

  afterAll(async () => {
    if (phone && phone.exitCode === null) phone.kill('SIGKILL');
    media?.close();
    await platform?.stop();
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a record verb result is listed by GET /v1/recordings, downloads with its checksum, and is signed-announced', async () => {
    expect(platform.components.find((c) => c.name.startsWith('SIP'))?.running, JSON.stringify(platform.components)).toBe(true);
    const api = async (method: string, p: string, key: string, body?: unknown) => {
      const res = await fetch(`${platform.baseUrl}${p}`, { method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    const admin = platform.secrets.adminKey;
    const tenant = (await api('POST', '/v1/tenants', admin, { name: 'recorder', webhookUrl: receiverUrl })).body;
    const key = (await api('POST', `/v1/tenants/${tenant.id}/keys`, admin, { name: 'voice' })).body.token;
    const app = await api('POST', '/v1/applications', key, {
      name: 'record-then-hangup',
      document: [{ verb: 'record', maxLengthSeconds: 2, beep: true }, { verb: 'hangup' }],
    });
    expect(app.status, JSON.stringify(app.body)).toBe(201);
    expect((await api('PUT', '/v1/numbers/+14155550199', key, { destination: { type: 'application', applicationId: app.body.id } })).status).toBe(200);

    // the phone: sipp answers (SDP → the Node RTP peer), waits for our BYE; the peer latches on the beep, then plays 700 Hz
    media = await RtpEndpoint.create(new RtpPortPool(PHONE_IP, 59000, 59099), { latch: true });
    let heard = 0;
    media.onFrame(() => heard++);
    const dir = mkdtempSync(path.join(tmpdir(), 'sipp-voice-record-'));
    const xml = readFileSync(path.join(ROOT, 'test/fixtures/sipp/voice/uas.xml'), 'utf8')
      .replaceAll('__MIP__', PHONE_IP).replaceAll('__MPORT__', String(media.port)).replaceAll('__WAIT_MS__', '20000').replaceAll('__RING_MS__', '100');
    writeFileSync(path.join(dir, 'uas.xml'), xml);
    let phoneOut = '';
    phone = spawn('sipp', ['-sf', 'uas.xml', '-i', PHONE_IP, '-p', '5060', '-m', '1', '-timeout', '30s', '-cp', '9500', '-mp', '59500', '-nostdin'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    phone.stdout!.on('data', (d: Buffer) => (phoneOut += d.toString()));
    phone.stderr!.on('data', (d: Buffer) => (phoneOut += d.toString()));
    const phoneDone = new Promise<number | null>((r) => phone!.once('exit', (code) => r(code)));
    await waitForBound('udp', PHONE_IP, 5060);

    const created = await api('POST', '/v1/calls', key, { to: `sip:phone@${PHONE_IP}:5060`, from: '+14155550199', applicationId: app.body.id });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const callId = created.body.callId as string;
    await until(() => heard > 3, 10_000, 'the beep at the phone');
    void media.play(new ToneSource({ frequencies: [700], durationMs: 3000 }));
    expect(await phoneDone, phoneOut).toBe(0);
    rmSync(dir, { recursive: true, force: true });

    // listed over REST (by call id and in the tenant's list)
    let list: { items: Array<Record<string, unknown>> } = { items: [] };
    await until(async () => {
      list = (await api('GET', `/v1/recordings?callId=${callId}`, key)).body;
      return list.items.length === 1;
    }, 10_000, 'the recording in GET /v1/recordings');
    const rec = list.items[0]!;
    expect(rec).toMatchObject({ callId, format: 'wav', channels: 1, sampleRate: 8000, status: 'available' });
    expect(rec.durationSeconds as number).toBeGreaterThan(1.5);
    expect((await api('GET', '/v1/recordings', key)).body.items.map((r: { id: string }) => r.id)).toContain(rec.id);

    // downloadable: same bytes as the checksum, a WAV holding the phone's tone
    const link = await api('GET', `/v1/recordings/${rec.id as string}/url`, key);
    expect(link.status, JSON.stringify(link.body)).toBe(200);
    const wav = Buffer.from(await (await fetch(link.body.url)).arrayBuffer());
    expect(wav.length).toBe(rec.sizeBytes);
    expect(createHash('sha256').update(wav).digest('hex')).toBe(rec.sha256);
    expect(wav.subarray(0, 4).toString('ascii')).toBe('RIFF');
    const pcm = new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.length));
    const tail = pcm.subarray(Math.max(0, pcm.length - 8000), pcm.length - 800); // the last second: the tone, not the start
    expect(Math.abs(zeroCrossingHz(tail) - 700)).toBeLessThan(30);

    // signed recording.completed to the tenant's webhook URL
    await until(() => hooks.some((h) => h.body.includes('recording.completed')), 10_000, 'recording.completed');
    const hook = hooks.find((h) => h.body.includes('recording.completed'))!;
    expect(verifyWebhook(tenant.webhookSecret, hook.ts, hook.body, hook.sig)).toBe(true);
    expect(JSON.parse(hook.body)).toMatchObject({ type: 'recording.completed', tenantId: tenant.id, data: { recordingId: rec.id, callId, source: 'sbc' } });

    // the SBC's local WAV was removed once S3 and the metadata confirmed it
    const voiceDir = path.join(dataDir, 'recordings', 'voice');
    expect(existsSync(voiceDir) ? readdirSync(voiceDir).filter((f) => f.startsWith(callId)) : []).toEqual([]);
  }, 60_000);
});
