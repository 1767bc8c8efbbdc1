/**
 * Recording pipeline against the embedded stand-ins (s3rver, dynalite), with faults injected right after a
 * side effect and before its journal entry (the worst moment for a crash): every retry re-reads the journal
 * from disk, so this is what a restart sees. Checks exactly-once storage and the quarantine of bad input.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startStandIns, type StandIns } from '../../../runtime/local/stand-ins.js';
import { createAwsClients, type AwsClients } from '../../../runtime/core/aws/clients.js';
import { ensureTable } from '../../../runtime/core/storage/table.js';
import { Db } from '../../../runtime/core/storage/db.js';
import { RecordingRepository, type Recording } from '../../../runtime/core/storage/recordings.js';
import { silentLogger } from '../../../runtime/core/logging.js';
import { systemClock } from '../../../runtime/core/clock.js';
import { MetricsRegistry } from '../../../runtime/core/metrics.js';
import { WebhookSender } from '../../../runtime/core/webhooks.js';
import { RecordingPipeline } from '../../../runtime/media-agent/recordings/pipeline.js';
import { formatMetadataString } from '../../../runtime/media-agent/recordings/rtpengine-files.js';
import { writeSyntheticRecording } from '../../integration/recordings/support.js';

const BUCKET = 'cpaas-recordings';
let standIns: StandIns;
let aws: AwsClients;
let repo: RecordingRepository;
let tmp: string;

beforeAll(async () => {
  standIns = await startStandIns({ buckets: [BUCKET] });
  aws = createAwsClients({ region: 'us-east-1', endpoints: standIns.endpoints, localCredentials: true });
  await ensureTable(aws.ddb, 'cpaas-pipeline-test');
  repo = new RecordingRepository(new Db(aws.doc, 'cpaas-pipeline-test', systemClock));
  tmp = mkdtempSync(join(tmpdir(), 'cpaas-pipe-'));
});
afterAll(async () => {
  aws?.destroy();
  await standIns?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** An S3 client whose first PutObject succeeds and then reports a failure, as if the process died right after. */
function s3FailingAfterFirstPut(s3: S3Client): { client: S3Client; puts: () => number } {
  let puts = 0;
  const client = new Proxy(s3, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver) as unknown;
      return async (cmd: unknown) => {
        const out = await target.send(cmd as never);
        if (cmd instanceof PutObjectCommand && ++puts === 1) throw new Error('injected: crash after PutObject');
        return out;
      };
    },
  });
  return { client, puts: () => puts };
}

describe('RecordingPipeline', () => {
  it('stores each recording once when it fails right after the upload and right after the metadata write', async () => {
    const recDir = join(tmp, 'rec1');
    const spoolDir = join(tmp, 'spool1');
    const tenantId = 'tenant-pipe';
    for (let i = 0; i < 3; i++) writeSyntheticRecording(recDir, { base: `pipe-${i}-0000000000000000`, metadata: formatMetadataString({ tenant: tenantId, call: `ca_pipe_${i}`, parties: ['x', 'y'] }), seconds: 1 });
    const s3 = s3FailingAfterFirstPut(aws.s3);
    let putCalls = 0;
    const recordings = {
      async putOnce(rec: Recording) {
        const r = await repo.putOnce(rec);
        if (++putCalls === 1) throw new Error('injected: crash after the metadata put');
        return r;
      },
    };
    const metrics = new MetricsRegistry();
    const pipeline = new RecordingPipeline({
      recordingDir: recDir,
      spoolDir,
      s3: s3.client,
      bucket: BUCKET,
      recordings,
      tenants: { get: async () => undefined, webhookSecret: async () => undefined },
      webhooks: new WebhookSender({ log: silentLogger }),
      log: silentLogger,
      metrics,
      nodeId: 'n1',
      scanIntervalMs: 50,
      retry: { baseMs: 20, maxMs: 50 },
    });
    await pipeline.start();
    await pipeline.idle();
    await pipeline.stop();

    const items = (await repo.list(tenantId, {}, 100)).items;
    expect(items.map((r) => r.callId).sort()).toEqual(['ca_pipe_0', 'ca_pipe_1', 'ca_pipe_2']);
    const objects = (await aws.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `recordings/${tenantId}/` }))).Contents ?? [];
    expect(objects).toHaveLength(3);
    expect(s3.puts()).toBe(3); // the failed-after-PUT recording was not uploaded again: HeadObject matched
    expect(putCalls).toBe(4); // the metadata write was repeated once and found the same checksum
    expect(pipeline.stats).toMatchObject({ pending: 0, completed: 3, failedAttempts: 2 });
    expect(metrics.render()).toMatch(/cpaas_recordings_completed_total 3/);
    expect(readdirSync(spoolDir)).toEqual([]);
    expect(readdirSync(join(recDir, 'pcaps'))).toEqual([]);
  });

  it('quarantines a recording without a tenant and keeps going', async () => {
    const recDir = join(tmp, 'rec2');
    const spoolDir = join(tmp, 'spool2');
    writeSyntheticRecording(recDir, { base: 'orphan-0000000000000000', metadata: 'call=ca_x', seconds: 1 });
    writeSyntheticRecording(recDir, { base: 'good-0000000000000000', metadata: formatMetadataString({ tenant: 'tenant-q', call: 'ca_good' }), seconds: 1 });
    const pipeline = new RecordingPipeline({
      recordingDir: recDir,
      spoolDir,
      s3: aws.s3,
      bucket: BUCKET,
      recordings: repo,
      tenants: { get: async () => undefined, webhookSecret: async () => undefined },
      webhooks: new WebhookSender({ log: silentLogger }),
      log: silentLogger,
      nodeId: 'n1',
      scanIntervalMs: 50,
    });
    await pipeline.start();
    await pipeline.idle();
    await pipeline.stop();
    expect(readdirSync(join(spoolDir, '.failed', 'orphan-0000000000000000')).sort()).toEqual(['orphan-0000000000000000.pcap', 'rtpengine-meta-orphan-0000000000000000.txt']);
    expect((await repo.list('tenant-q', {}, 10)).items.map((r) => r.callId)).toEqual(['ca_good']);
    expect(readdirSync(join(recDir, 'metadata'))).toEqual([]);
  });

  it('keeps uploading while a webhook receiver hangs; an undelivered webhook survives a stop and is sent after restart', async () => {
    const recDir = join(tmp, 'rec3');
    const spoolDir = join(tmp, 'spool3');
    const tenantId = 'tenant-slow';
    for (let i = 0; i < 3; i++) writeSyntheticRecording(recDir, { base: `slow-${i}-0000000000000000`, metadata: formatMetadataString({ tenant: tenantId, call: `ca_slow_${i}` }), seconds: 1 });
    let hang = true;
    const got: string[] = [];
    const server = createServer((req, res) => {
      if (hang) return; // never answers
      got.push(String(req.headers['x-cpaas-event-id']));
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.5.1', r));
    const url = `http://127.0.5.1:${(server.address() as AddressInfo).port}/`;
    const make = (webhooks: WebhookSender) =>
      new RecordingPipeline({
        recordingDir: recDir,
        spoolDir,
        s3: aws.s3,
        bucket: BUCKET,
        recordings: repo,
        tenants: { get: async () => ({ webhookUrl: url }), webhookSecret: async () => 'k' },
        webhooks,
        log: silentLogger,
        nodeId: 'n1',
        concurrency: 1,
        scanIntervalMs: 50,
        retry: { baseMs: 20, maxMs: 50 },
      });
    // A spool entry's directory exists a moment before its first journal write: read it as 'creating' until then.
    const states = () =>
      readdirSync(spoolDir).map((b) => {
        try {
          return (JSON.parse(readFileSync(join(spoolDir, b, 'journal.json'), 'utf8')) as { state: string }).state;
        } catch {
          return 'creating';
        }
      });
    const slow = new WebhookSender({ log: silentLogger, attemptTimeoutMs: 60_000 });
    const first = make(slow);
    await first.start();
    for (let i = 0; i < 100 && !(states().length === 3 && states().every((x) => x === 'webhook-queued')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(states()).toEqual(['webhook-queued', 'webhook-queued', 'webhook-queued']);
    expect((await repo.list(tenantId, {}, 10)).items).toHaveLength(3);
    await first.stop();
    slow.close(); // aborts the pending deliveries: they must not count as done
    await slow.drain();
    await new Promise((r) => setTimeout(r, 50));
    expect(states()).toEqual(['webhook-queued', 'webhook-queued', 'webhook-queued']);
    server.closeAllConnections();

    hang = false;
    const ok = new WebhookSender({ log: silentLogger, attemptTimeoutMs: 2_000, backoff: { baseMs: 20, maxMs: 50 } });
    const second = make(ok);
    await second.start();
    await second.idle();
    await second.stop();
    expect(readdirSync(spoolDir)).toEqual([]);
    expect(got.sort()).toEqual((await repo.list(tenantId, {}, 10)).items.map((r) => `evt_${r.id}`).sort());
    await new Promise<void>((r) => server.close(() => r()));
  });
});
