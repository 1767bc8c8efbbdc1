/**
 * The voicemail flow end to end with the real VoicemailSink (runtime/core/voicemail: S3 + DynamoDB stand-ins on
 * 127.0.15.8): an unanswered call to a SIP user leaves a message that can be listed and downloaded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { requires } from '../../support/requires.js';
import { goertzel } from '../../runtime/media-agent/audio-support.js';
import { startStandIns, type StandIns } from '../../../runtime/local/stand-ins.js';
import { createAwsClients, type AwsClients } from '../../../runtime/core/aws/clients.js';
import { ensureTable } from '../../../runtime/core/storage/table.js';
import { createVoicemailSink, type VoicemailService } from '../../../runtime/core/voicemail/index.js';
import { decodeWav, ToneSource } from '../../../runtime/sbc/voice/media/sources.js';
import type { Frame } from '../../../runtime/sbc/voice/contracts.js';
import { ENGINE_IP, TAIL_SEND_BYE, TENANT, UAC_IP, closePeers, haveRtpengine, haveSipp, peer, seedVoice, sipp, startVoiceBed, until, type VoiceBed } from './harness.js';

const run = requires('sipp', haveSipp, 'sipp (Debian sip-tester) not installed')
  && requires('rtpengine', haveRtpengine, 'rtpengine (Debian rtpengine-daemon) not installed');

describe.runIf(run)('voicemail with the real VoicemailSink', () => {
  let standIns: StandIns;
  let aws: AwsClients;
  let sink: VoicemailService;
  let bed: VoiceBed;
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'voice-vm-cache-'));
  const tableName = `voice-vm-${process.pid}`;

  beforeAll(async () => {
    standIns = await startStandIns({ host: '127.0.15.8', buckets: ['voice-vm'] });
    aws = createAwsClients({ region: 'us-east-1', endpoints: standIns.endpoints, localCredentials: true });
    await ensureTable(aws.ddb, tableName);
    sink = createVoicemailSink({ doc: aws.doc, tableName, s3: aws.s3, bucket: 'voice-vm', log: pino({ level: 'silent' }), cacheDir, notifier: { send: () => Promise.resolve(0) } });
    bed = await startVoiceBed({ voicemail: sink });
    await seedVoice(bed.repo);
    await bed.repo.createUser({ tenantId: TENANT, username: 'frank', domain: 'acme.voice.test', password: 'frank-password-1', enabled: true });
    await bed.repo.putNumber({ tenantId: TENANT, e164: '+15550009', destination: { type: 'sip-user', username: 'frank' } });
  }, 30_000);
  afterAll(async () => {
    closePeers();
    await bed?.close();
    aws?.destroy();
    await standIns?.close();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('an unregistered user: default greeting, the caller speaks, the message is stored in S3 with its metadata', async () => {
    const phone = await peer(UAC_IP);
    const frames: Frame[] = [];
    phone.onFrame((f) => frames.push(f));
    const caller = sipp('uac.xml', [`${ENGINE_IP}:5060`, '-i', UAC_IP, '-p', '5061', '-m', '1', '-timeout', '30s'], {
      TO: '+15550009', FROM: '+12125550100', TAIL: TAIL_SEND_BYE(3000), MIP: UAC_IP, MPORT: String(phone.port),
    });
    await until(() => frames.length >= 44, 8000, 'the greeting and the beep'); // 600 ms + 300 ms
    await phone.play(new ToneSource({ frequencies: [650], durationMs: 1800 }));
    const r = await caller.done;
    expect(r.code, r.output).toBe(0);
    let items: Awaited<ReturnType<VoicemailService['repo']['list']>>['items'] = [];
    await until(async () => {
      items = (await sink.repo.list(TENANT, { mailbox: { kind: 'sip-user', id: 'frank' } }, 10)).items;
      return items.length === 1;
    }, 8000, 'the stored message');
    const m = items[0]!;
    expect(m).toMatchObject({ from: '+12125550100', read: false });
    expect(m.durationMs).toBeGreaterThan(1000);
    const obj = await aws.s3.send(new GetObjectCommand({ Bucket: 'voice-vm', Key: m.s3Key }));
    const pcm = decodeWav(Buffer.from(await obj.Body!.transformToByteArray()));
    const s = Array.from(pcm.subarray(1600, 8000));
    expect(goertzel(s, 650)).toBeGreaterThan(goertzel(s, 440) * 5);
  }, 40_000);
});
