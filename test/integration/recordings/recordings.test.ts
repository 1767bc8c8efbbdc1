/**
 * Recordings end to end on loopback 127.0.5.0/24:
 *  (a) real rtpengine (userspace, pcap recording) relays a call between two UDP peers sending 440 Hz / 880 Hz;
 *      the agent pipeline turns it into a stereo WAV in s3rver, metadata readable over REST, presigned URL
 *      downloads the same bytes, and the signed recording.completed webhook arrives after 5xx retries;
 *  (b) durability: S3 down for a while (REC_OUTAGE_SECONDS, default 10, up to 60 for a manual run) and the
 *      agent process SIGKILLed during uploads: after a restart every recording is stored exactly once.
 */
import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Client } from 'rtpengine-client';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { hasCommand, requires } from '../../support/requires.js';
import { silentLogger } from '../../../runtime/core/logging.js';
import { createAwsClients } from '../../../runtime/core/aws/clients.js';
import { Db } from '../../../runtime/core/storage/db.js';
import { RecordingRepository, type Recording } from '../../../runtime/core/storage/recordings.js';
import { WebhookSender } from '../../../runtime/core/webhooks.js';
import { RecordingPipeline } from '../../../runtime/media-agent/recordings/pipeline.js';
import { formatMetadataString } from '../../../runtime/media-agent/recordings/rtpengine-files.js';
import { readWav } from '../../../runtime/media-agent/recordings/pcap-to-wav.js';
import type { Daemon } from '../../../runtime/local/daemon.js';
import { goertzel } from '../../runtime/media-agent/audio-support.js';
import { ngClient, recordedCall, startRecordingRtpengine, waitFor, webhookReceiver, writeSyntheticRecording } from './support.js';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const NG_PORT = 22320;
const BUCKET = 'cpaas-recordings';
const OUTAGE_SECONDS = Math.min(60, Number(process.env.REC_OUTAGE_SECONDS ?? 10));

const haveRtpengine = requires('rtpengine', hasCommand('rtpengine'), 'apt-get install rtpengine-daemon (FACTS §4.1)');

let p: TestPlatform;
let tmp: string;
const secrets = new Map<string, string>();

async function tenantWithWebhook(url: string): Promise<{ tenantId: string; apiKey: string }> {
  const t = await p.services.tenants.create({ name: 'rec tenant', webhookUrl: url });
  secrets.set(t.id, t.webhookSecret);
  const key = await p.services.apiKeys.create(t.id, 'test');
  return { tenantId: t.id, apiKey: key.token };
}

const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  p = await startTestPlatform();
  tmp = mkdtempSync(join(tmpdir(), 'cpaas-rec-'));
});

afterAll(async () => {
  await p?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.runIf(haveRtpengine)('recording a call through rtpengine', () => {
  let rtpengine: Daemon | undefined;
  let ng: Client | undefined;
  afterAll(async () => {
    ng?.close();
    await rtpengine?.stop();
  });

  it('stores a stereo WAV (440 Hz left, 880 Hz right), serves it over REST and sends a signed webhook after 5xx retries', async () => {
    const recDir = join(tmp, 'a-rec');
    const spoolDir = join(tmp, 'a-spool');
    rtpengine = await startRecordingRtpengine({ ngPort: NG_PORT, recDir });
    ng = await ngClient();
    const hooks = await webhookReceiver((tid) => secrets.get(tid), [503, 500]);
    const { tenantId, apiKey } = await tenantWithWebhook(hooks.url);
    const webhooks = new WebhookSender({ log: silentLogger, backoff: { baseMs: 50, maxMs: 200 } });
    const pipeline = new RecordingPipeline({
      recordingDir: recDir,
      spoolDir,
      s3: p.aws.s3,
      bucket: BUCKET,
      recordings: p.services.recordings,
      tenants: p.services.tenants,
      webhooks,
      log: silentLogger,
      nodeId: 'media-test',
      scanIntervalMs: 200,
    });
    await pipeline.start();
    try {
      const callId = 'ca_rec_a1';
      await recordedCall(ng, { ngPort: NG_PORT, callId: 'sip-call-a1@127.0.5.2', metadata: formatMetadataString({ tenant: tenantId, call: callId, parties: ['alice', 'bob'] }), seconds: 2 });

      // the webhook: 503, 500, then 200; every attempt signed, same event id
      await waitFor('recording.completed delivered', () => hooks.received.find((h) => h.status === 200), 30_000);
      expect(hooks.received.map((h) => h.status)).toEqual([503, 500, 200]);
      expect(hooks.received.every((h) => h.valid)).toBe(true);
      expect(new Set(hooks.received.map((h) => h.id)).size).toBe(1);
      const event = hooks.received[2]!.body;
      expect(event).toMatchObject({ type: 'recording.completed', tenantId, data: { callId, format: 'wav', channels: 2 } });
      const recordingId = event.data.recordingId as string;
      expect(hooks.received[2]!.id).toBe(`evt_${recordingId}`);

      // REST: list by call, get, presigned URL
      const list = (await (await p.api(`/v1/recordings?callId=${callId}`, { key: apiKey })).json()) as { items: Recording[] };
      expect(list.items.map((r) => r.id)).toEqual([recordingId]);
      const rec = (await (await p.api(`/v1/recordings/${recordingId}`, { key: apiKey })).json()) as Recording;
      expect(rec).toMatchObject({ callId, tenantId, format: 'wav', channels: 2, sampleRate: 8000, status: 'available', nodeId: 'media-test' });
      expect(rec.parties.map((x) => [x.label, x.channel])).toEqual([['alice', 0], ['bob', 1]]);
      expect(rec.durationSeconds).toBeGreaterThan(1.8);
      expect(rec.durationSeconds).toBeLessThan(2.6);
      const urlRes = await p.api(`/v1/recordings/${recordingId}/url`, { key: apiKey });
      expect(urlRes.status).toBe(200);
      const { url, expiresAt } = (await urlRes.json()) as { url: string; expiresAt: string };
      expect(url.startsWith(p.standIns.endpoints.s3)).toBe(true);
      expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(300_000);
      const wav = Buffer.from(await (await fetch(url)).arrayBuffer());
      expect(wav.length).toBe(rec.sizeBytes);
      expect(sha256(wav)).toBe(rec.sha256);

      // the audio: each side's tone on its own channel
      const { channels, data } = readWav(wav);
      expect(channels).toBe(2);
      const steady = (ch: Int16Array) => ch.subarray(4000, Math.min(ch.length, 14000));
      expect(goertzel(steady(data[0]!), 440)).toBeGreaterThan(0.7);
      expect(goertzel(steady(data[0]!), 880)).toBeLessThan(0.05);
      expect(goertzel(steady(data[1]!), 880)).toBeGreaterThan(0.7);
      expect(goertzel(steady(data[1]!), 440)).toBeLessThan(0.05);

      // nothing left locally
      await pipeline.idle();
      expect(readdirSync(join(recDir, 'metadata'))).toEqual([]);
      expect(readdirSync(join(recDir, 'pcaps'))).toEqual([]);
      expect(readdirSync(spoolDir)).toEqual([]);

      // limits and tenancy
      expect((await p.api(`/v1/recordings/${recordingId}/url?expiresIn=999999`, { key: apiKey })).status).toBe(400);
      const other = await tenantWithWebhook(hooks.url);
      expect((await p.api(`/v1/recordings/${recordingId}`, { key: other.apiKey })).status).toBe(404);
      expect(((await (await p.api('/v1/recordings', { key: other.apiKey })).json()) as { items: unknown[] }).items).toEqual([]);
      const past = ((await (await p.api(`/v1/recordings?to=${encodeURIComponent(new Date(Date.parse(rec.startedAt)).toISOString())}`, { key: apiKey })).json()) as { items: unknown[] }).items;
      expect(past).toEqual([]);

      // delete: object and metadata
      expect((await p.api(`/v1/recordings/${recordingId}`, { key: apiKey, method: 'DELETE' })).status).toBe(204);
      expect((await p.api(`/v1/recordings/${recordingId}`, { key: apiKey })).status).toBe(404);
      await expect(p.aws.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: rec.s3Key }))).rejects.toMatchObject({ name: 'NotFound' });
    } finally {
      await pipeline.stop();
      webhooks.close();
      await hooks.close();
    }
  });
});

describe('durability: S3 outage and a SIGKILLed agent', () => {
  type S3rverT = { run(): Promise<AddressInfo>; close(): Promise<void> };
  const S3rver = require('s3rver') as new (o: Record<string, unknown>) => S3rverT;
  let s3srv: S3rverT | undefined;
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await s3srv?.close().catch(() => undefined);
  });

  it(`stores every recording exactly once after a ${OUTAGE_SECONDS} s S3 outage and a kill -9 mid-upload`, { timeout: 60_000 + OUTAGE_SECONDS * 1000 }, async () => {
    const recDir = join(tmp, 'b-rec');
    const spoolDir = join(tmp, 'b-spool');
    const s3Dir = join(tmp, 'b-s3');
    const s3Opts = (port: number) => ({ address: '127.0.5.10', port, silent: true, directory: s3Dir, configureBuckets: [{ name: BUCKET, configs: [] }] });
    s3srv = new S3rver(s3Opts(0));
    const s3Port = (await s3srv.run()).port;
    const s3Endpoint = `http://127.0.5.10:${s3Port}`;
    const aws = createAwsClients({ region: 'us-east-1', endpoints: { ...p.standIns.endpoints, s3: s3Endpoint }, localCredentials: true });
    const hooks = await webhookReceiver((tid) => secrets.get(tid));
    const { tenantId } = await tenantWithWebhook(hooks.url);
    const meta = (i: number) => formatMetadataString({ tenant: tenantId, call: `ca_dur_${i}`, parties: ['a', 'b'] });
    // 5 calls finished while S3 is down; one long enough for a multipart upload (400 s ≈ 12.8 MB)
    for (let i = 0; i < 5; i++) writeSyntheticRecording(recDir, { base: `dur-${i}-00000000000000${i}`, metadata: meta(i), seconds: i === 0 ? 400 : 3 });

    const startChild = async (): Promise<ChildProcess> => {
      const c = spawn(process.execPath, ['--import', 'tsx', join(here, 'agent-child.ts'), JSON.stringify({
        recordingDir: recDir, spoolDir, endpoints: { ...p.standIns.endpoints, s3: s3Endpoint }, tableName: p.config.tableName, bucket: BUCKET, nodeId: 'media-dur', concurrency: 2, retryMaxMs: 1_000,
      })], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        let out = '';
        c.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('READY')) resolve();
        });
        c.once('exit', (code) => reject(new Error(`agent exited early (${code})`)));
      });
      return c;
    };
    const journals = () => readdirSync(spoolDir).filter((n) => !n.startsWith('.')).map((n) => (existsSync(join(spoolDir, n, 'journal.json')) ? (JSON.parse(readFileSync(join(spoolDir, n, 'journal.json'), 'utf8')) as { state: string }).state : 'none'));

    // S3 goes down; the agent converts everything and keeps retrying the uploads
    await s3srv.close();
    child = await startChild();
    await waitFor('all 5 converted and waiting to upload', () => journals().filter((s) => s === 'uploading').length === 5, 30_000);
    await new Promise((r) => setTimeout(r, OUTAGE_SECONDS * 1000));
    expect(journals().filter((s) => s === 'uploading')).toHaveLength(5);

    // S3 comes back; kill -9 the agent as soon as uploads are under way
    s3srv = new S3rver(s3Opts(s3Port));
    await s3srv.run();
    const objects = async () => (await aws.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `recordings/${tenantId}/` }))).Contents ?? [];
    await waitFor('first upload confirmed', () => journals().some((s) => s !== 'uploading' && s !== 'converted'), 30_000, 20);
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    const statesAtKill = journals();

    // two more calls end while the agent is down
    for (let i = 5; i < 7; i++) writeSyntheticRecording(recDir, { base: `dur-${i}-00000000000000${i}`, metadata: meta(i), seconds: 2 });

    child = await startChild();
    await waitFor('all recordings done', () => readdirSync(spoolDir).filter((n) => !n.startsWith('.')).length === 0 && readdirSync(join(recDir, 'metadata')).length === 0, 60_000, 100);
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));

    // exactly once: 7 objects, 7 metadata items, checksums match; every webhook event at least once, verified
    const repo = new RecordingRepository(new Db(aws.doc, p.config.tableName, { now: () => Date.now() }));
    const recs = (await repo.list(tenantId, {}, 100)).items;
    expect(recs.map((r) => r.callId).sort()).toEqual(Array.from({ length: 7 }, (_, i) => `ca_dur_${i}`));
    const objs = await objects();
    expect(objs.map((o) => o.Key).sort()).toEqual(recs.map((r) => r.s3Key).sort());
    for (const r of recs) {
      const body = Buffer.from(await (await aws.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: r.s3Key }))).Body!.transformToByteArray());
      expect(body.length).toBe(r.sizeBytes);
      expect(sha256(body)).toBe(r.sha256);
    }
    expect(recs.find((r) => r.callId === 'ca_dur_0')!.sizeBytes).toBeGreaterThan(12_000_000);
    await waitFor('7 webhook events', () => new Set(hooks.received.map((h) => h.id)).size === 7, 10_000);
    expect(hooks.received.every((h) => h.valid)).toBe(true);
    expect(readdirSync(join(recDir, 'pcaps'))).toEqual([]);
    console.log(`durability: states at kill ${JSON.stringify(statesAtKill)}; webhook deliveries ${hooks.received.length} for 7 events`);
    aws.destroy();
    await hooks.close();
  });
});
