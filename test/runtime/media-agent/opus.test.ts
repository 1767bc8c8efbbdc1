/**
 * OGG/Opus recordings (`recordings.format: "ogg"`): opusenc output is deterministic (fixed Ogg serial), decodes back
 * to both parties' tones, and the pipeline stores it as `format: "ogg"` under a `.ogg` key with a matching sha-256.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { startStandIns, type StandIns } from '../../../runtime/local/stand-ins.js';
import { createAwsClients, type AwsClients } from '../../../runtime/core/aws/clients.js';
import { ensureTable } from '../../../runtime/core/storage/table.js';
import { Db } from '../../../runtime/core/storage/db.js';
import { RecordingRepository } from '../../../runtime/core/storage/recordings.js';
import { silentLogger } from '../../../runtime/core/logging.js';
import { systemClock } from '../../../runtime/core/clock.js';
import { WebhookSender } from '../../../runtime/core/webhooks.js';
import { RecordingPipeline } from '../../../runtime/media-agent/recordings/pipeline.js';
import { encodeOgg, oggSerial, opusencAvailable } from '../../../runtime/media-agent/recordings/opus.js';
import { pcapToWav, readWav } from '../../../runtime/media-agent/recordings/pcap-to-wav.js';
import { formatMetadataString } from '../../../runtime/media-agent/recordings/rtpengine-files.js';
import { requires } from '../../support/requires.js';
import { writeSyntheticRecording } from '../../integration/recordings/support.js';
import { goertzel } from './audio-support.js';

const available = requires('media agent: opusenc', opusencAvailable(), 'opusenc not found (apt-get install opus-tools)');
const BUCKET = 'cpaas-recordings';

/** opusdec → 8 kHz WAV → per-channel Goertzel at 440/880 Hz. */
function decodeTones(ogg: Buffer, dir: string): Array<{ p440: number; p880: number }> {
  const inF = join(dir, `in-${Date.now()}.ogg`);
  const outF = join(dir, `out-${Date.now()}.wav`);
  writeFileSync(inF, ogg);
  execFileSync('opusdec', ['--quiet', '--rate', '8000', inF, outF]);
  const wav = readWav(readFileSync(outF));
  return wav.data.map((ch) => {
    const mid = ch.subarray(1600, Math.min(ch.length, 7200));
    return { p440: goertzel(mid, 440), p880: goertzel(mid, 880) };
  });
}

describe.skipIf(!available)('OGG/Opus recordings', () => {
  let tmp: string;
  let standIns: StandIns;
  let aws: AwsClients;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'cpaas-opus-'));
    standIns = await startStandIns({ buckets: [BUCKET] });
    aws = createAwsClients({ region: 'us-east-1', endpoints: standIns.endpoints, localCredentials: true });
    await ensureTable(aws.ddb, 'cpaas-opus-test');
  });
  afterAll(async () => {
    aws?.destroy();
    await standIns?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('encodes deterministically and decodes back to each party’s tone', async () => {
    writeSyntheticRecording(join(tmp, 'direct'), { base: 'direct-0', metadata: 'tenant=t|call=c', seconds: 1, toneA: 440, toneB: 880 });
    const wav = pcapToWav(readFileSync(join(tmp, 'direct', 'pcaps', 'direct-0.pcap'))).wav;
    const a = await encodeOgg(wav, { serial: oggSerial('rec_x') });
    const b = await encodeOgg(wav, { serial: oggSerial('rec_x') });
    expect(a.equals(b)).toBe(true);
    expect(a.subarray(0, 4).toString()).toBe('OggS');
    expect(a.length).toBeLessThan(wav.length / 3);
    const [left, right] = decodeTones(a, tmp);
    expect(left!.p440).toBeGreaterThan(left!.p880 * 20);
    expect(right!.p880).toBeGreaterThan(right!.p440 * 20);
    await expect(encodeOgg(Buffer.from('not a wav'), { serial: 1 })).rejects.toThrow(/opusenc exited/);
  });

  it('the pipeline stores format "ogg" under a .ogg key with the object’s sha-256', async () => {
    const recDir = join(tmp, 'rec');
    writeSyntheticRecording(recDir, { base: 'ogg-1-0000000000000000', metadata: formatMetadataString({ tenant: 'tenant-ogg', call: 'ca_ogg', parties: ['a', 'b'] }), seconds: 2 });
    const repo = new RecordingRepository(new Db(aws.doc, 'cpaas-opus-test', systemClock));
    const webhooks = new WebhookSender({ log: silentLogger });
    const pipeline = new RecordingPipeline({
      recordingDir: recDir, spoolDir: join(tmp, 'spool'), s3: aws.s3, bucket: BUCKET, recordings: repo,
      tenants: { get: async () => undefined, webhookSecret: async () => undefined }, webhooks, log: silentLogger, nodeId: 'n1',
      scanIntervalMs: 50, format: 'ogg', opusBitrateKbps: 24,
    });
    await pipeline.start();
    try {
      await pipeline.idle();
    } finally {
      await pipeline.stop();
      webhooks.close();
    }
    const rec = (await repo.list('tenant-ogg', {}, 10)).items[0]!;
    expect(rec).toMatchObject({ format: 'ogg', callId: 'ca_ogg', channels: 2 });
    expect(rec.s3Key).toMatch(/\.ogg$/);
    const head = await aws.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: rec.s3Key }));
    expect(head.ContentType).toBe('audio/ogg');
    const body = Buffer.from(await (await aws.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: rec.s3Key }))).Body!.transformToByteArray());
    expect(createHash('sha256').update(body).digest('hex')).toBe(rec.sha256);
    const [left, right] = decodeTones(body, tmp);
    expect(left!.p440).toBeGreaterThan(left!.p880 * 20);
    expect(right!.p880).toBeGreaterThan(right!.p440 * 20);
  });
});
