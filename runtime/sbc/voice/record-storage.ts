/**
 * Where the `record` verb's WAVs go when the document does not ask for voicemail (docs/voice.md § record): the
 * same place as the media agent's call recordings (docs/recordings.md), so they appear in `GET /v1/recordings`,
 * their presigned download URL works, and the tenant gets the signed `recording.completed` webhook.
 *
 *   const recordings = createRecordStorage({ s3, bucket, recordings: new RecordingRepository(db), tenants, webhooks, log, nodeId });
 *   // → VoiceOptions.recordings; the interpreter deletes the local WAV only when store() resolves.
 *
 * store(): read the WAV → sha-256 → S3 under the media agent's key scheme (`recordings/<tenant>/<yyyy>/<mm>/<dd>/<id>.wav`,
 * user metadata sha256/recording-id/tenant-id/call-id; HeadObject before and after: a retry never uploads twice)
 * → metadata (conditional put of a deterministic id) → resolve → webhook in the background (at least once, stable
 * event id `evt_<recordingId>`). Any failure before the metadata is written rejects: the WAV stays on disk.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../../core/logging.js';
import { systemClock, type Clock } from '../../core/clock.js';
import { WebhookSender } from '../../core/webhooks.js';
import { recordingIdFor, recordingS3Key, type Recording, type RecordingRepository } from '../../core/storage/recordings.js';
import { putChecked, sha256Hex } from '../../core/voicemail/store.js';
import type { RecordingSink } from './interpreter.js';

export interface RecordStorageDeps {
  s3: S3Client;
  /** The recordings bucket (the media agent's). */
  bucket: string;
  recordings: Pick<RecordingRepository, 'putOnce'>;
  /** Tenant webhook URL and signing secret (TenantRepository). */
  tenants: { get(id: string): Promise<{ webhookUrl?: string } | undefined>; webhookSecret(id: string): Promise<string | undefined> };
  /** Absent: no `recording.completed` webhook. */
  webhooks?: WebhookSender;
  /** Tried after the tenant's URL is exhausted. */
  webhookFallbackUrl?: string;
  log: Logger;
  /** Recorded on the metadata (`nodeId`): the SBC instance. */
  nodeId: string;
  clock?: Clock;
  /** Largest WAV accepted (default 256 MiB ≈ 4.6 h of 8 kHz 16-bit mono). */
  maxBytes?: number;
}

/** The `record` verb's WAV as a call recording (8 kHz mono PCM16, what the SBC's RTP endpoint heard from the party). */
export function createRecordStorage(d: RecordStorageDeps): RecordingSink {
  const clock = d.clock ?? systemClock;
  const log = d.log.child({ component: 'voice-record' });
  const maxBytes = d.maxBytes ?? 256 * 1024 * 1024;

  async function webhook(rec: Recording): Promise<void> {
    if (!d.webhooks) return;
    const tenant = await d.tenants.get(rec.tenantId);
    if (!tenant?.webhookUrl) return;
    const secret = await d.tenants.webhookSecret(rec.tenantId);
    if (!secret) return log.warn({ tenantId: rec.tenantId }, 'tenant has a webhook URL but no signing secret; recording.completed not sent');
    const { s3Key: _k, ...data } = rec;
    const event = WebhookSender.event(rec.tenantId, 'recording.completed', { recordingId: rec.id, ...data }, clock.now(), `evt_${rec.id}`);
    const sent = d.webhooks.send(event, { url: tenant.webhookUrl, secret, ...(d.webhookFallbackUrl ? { fallbackUrl: d.webhookFallbackUrl } : {}) });
    if (!sent) return log.warn({ recordingId: rec.id }, 'webhook queue full; recording.completed dropped');
    const r = await sent;
    if (!r.ok) log.warn({ recordingId: rec.id, attempts: r.attempts, lastError: r.lastError }, 'recording.completed webhook not delivered');
  }

  return {
    async store(r) {
      const wav = await readFile(r.wavPath);
      if (wav.length > maxBytes) throw new Error(`recording ${r.wavPath} is ${wav.length} bytes, the limit is ${maxBytes}`);
      const sha256 = sha256Hex(wav);
      const startedAt = clock.now() - Math.max(0, Math.round(r.durationMs));
      // Deterministic per call and file (the interpreter numbers each call's recordings): a retried store() after a
      // crash writes the same id and key.
      const id = recordingIdFor(r.tenantId, r.callId, basename(r.wavPath), startedAt);
      const s3Key = recordingS3Key(r.tenantId, id, startedAt);
      await putChecked({ s3: d.s3, bucket: d.bucket }, s3Key, wav, sha256, { 'recording-id': id, 'tenant-id': encodeURIComponent(r.tenantId), 'call-id': encodeURIComponent(r.callId) });
      const rec: Recording = {
        id,
        tenantId: r.tenantId,
        callId: r.callId,
        // One channel: what the call's party sent to the SBC's voice endpoint.
        parties: [{ source: 'voice-endpoint', channel: 0, packets: Math.round(r.durationMs / 20), codec: 'L16' }],
        startedAt: new Date(startedAt).toISOString(),
        durationSeconds: Math.round(r.durationMs / 100) / 10,
        sizeBytes: wav.length,
        sha256,
        s3Key,
        format: 'wav',
        channels: 1,
        sampleRate: 8000,
        status: 'available',
        createdAt: new Date(clock.now()).toISOString(),
        nodeId: d.nodeId,
        source: 'sbc',
      };
      await d.recordings.putOnce(rec);
      log.info({ recordingId: id, callId: r.callId, tenantId: r.tenantId, sizeBytes: wav.length, durationMs: r.durationMs }, 'record verb: recording stored');
      void webhook(rec).catch((err: unknown) => log.warn({ err, recordingId: id }, 'recording.completed webhook failed'));
      return { recordingId: id };
    },
  };
}
