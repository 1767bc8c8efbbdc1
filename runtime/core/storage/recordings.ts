import { createHash } from 'node:crypto';
import { PutBucketCorsCommand, type S3Client } from '@aws-sdk/client-s3';
import { AppError } from '../errors.js';
import { Db, stripKeys, type Item, type PageResult } from './db.js';

/**
 * Call recordings (docs/recordings.md). Items:
 *
 * | item      | pk            | sk            | gsi1pk                     | gsi1sk        |
 * |-----------|---------------|---------------|----------------------------|---------------|
 * | recording | T#<tid>#REC   | <recordingId> | T#<tid>#REC#CALL#<callId>  | <recordingId> |
 *
 * Recording ids are time-sortable (`rec_<base36 ms of startedAt><12 chars of a hash>`) and deterministic:
 * the media agent derives them from the tenant, call and rtpengine file name, so a retried upload after a
 * crash writes the same id and S3 key (exactly-once = idempotent key + conditional put).
 */
const recPk = (tid: string) => `T#${tid}#REC`;
const callGsiPk = (tid: string, callId: string) => `T#${tid}#REC#CALL#${callId}`;

/** `wav` from the media agent; client-side room recordings keep what the browser's MediaRecorder produced. */
export type RecordingFormat = 'wav' | 'webm' | 'ogg' | 'mp4';
export type RecordingStatus = 'available';

export interface RecordingParty {
  /** Label from the call's recording metadata (`parties=` in the rtpengine offer), when given. */
  label?: string;
  /** `ip:port` the party's media came from. */
  source: string;
  channel: number;
  packets: number;
  codec: string;
}

export interface Recording {
  id: string;
  tenantId: string;
  callId: string;
  parties: RecordingParty[];
  startedAt: string;
  durationSeconds: number;
  sizeBytes: number;
  /** Hex sha-256 of the stored object. */
  sha256: string;
  s3Key: string;
  format: RecordingFormat;
  channels: number;
  sampleRate: number;
  status: RecordingStatus;
  createdAt: string;
  /** The media node that recorded it. */
  nodeId?: string;
  /** `sbc` (server-side, the media agent) when absent; `client` = uploaded by a browser of a room (what it heard/sent). */
  source?: 'sbc' | 'client';
  /** Client recordings: the room and the identity that recorded. */
  roomId?: string;
  identity?: string;
  contentType?: string;
}

/** A presigned client upload not completed yet (expires with the URL + a grace period). */
export interface ClientUpload {
  recordingId: string;
  tenantId: string;
  roomId: string;
  identity: string;
  s3Key: string;
  contentType: string;
  format: RecordingFormat;
  startedAt: string;
  maxBytes: number;
  /** epoch seconds (DynamoDB TTL). */
  expiresAt: number;
}
const uploadPk = (tid: string) => `T#${tid}#RECUP`;

type RecordingItem = Item & Recording;

/** Deterministic, time-sortable id of one rtpengine recording (same inputs → same id). */
export function recordingIdFor(tenantId: string, callId: string, sourceName: string, startedAtMs: number): string {
  const h = BigInt(`0x${createHash('sha256').update(`${tenantId}\n${callId}\n${sourceName}`).digest('hex').slice(0, 16)}`).toString(36).padStart(13, '0').slice(-12);
  return `rec_${Math.max(0, Math.floor(startedAtMs)).toString(36).padStart(9, '0')}${h}`;
}

/** The S3 key of a recording: tenant first (bucket policies / lifecycle per tenant), then the date. */
export function recordingS3Key(tenantId: string, recordingId: string, startedAtMs: number, format: RecordingFormat = 'wav'): string {
  const d = new Date(startedAtMs).toISOString();
  return `recordings/${tenantId}/${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}/${recordingId}.${format}`;
}

/** First/last possible id for a start time (for date filters over the time-sortable sort key). */
const idBound = (ms: number, last: boolean) => `rec_${Math.max(0, Math.floor(ms)).toString(36).padStart(9, '0')}${last ? 'zzzzzzzzzzzz~' : ''}`;

export interface RecordingFilter {
  callId?: string;
  /** ISO time: recordings started at or after. */
  from?: string;
  /** ISO time: recordings started before. */
  to?: string;
}

export class RecordingRepository {
  constructor(private readonly db: Db) {}

  /**
   * Writes the metadata once. A second write of the same recording (a retry after a crash) with the same
   * checksum is accepted and returns `created: false`; a different checksum under the same id is a CONFLICT.
   */
  async putOnce(rec: Recording): Promise<{ created: boolean }> {
    try {
      await this.db.put({ pk: recPk(rec.tenantId), sk: rec.id, gsi1pk: callGsiPk(rec.tenantId, rec.callId), gsi1sk: rec.id, ...rec } as RecordingItem, { ifNotExists: true });
      return { created: true };
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'CONFLICT')) throw err;
      const existing = await this.get(rec.tenantId, rec.id);
      if (existing && existing.sha256 === rec.sha256 && existing.sizeBytes === rec.sizeBytes) return { created: false };
      throw new AppError('CONFLICT', `recording ${rec.id} exists with other content`, {}, { cause: err });
    }
  }

  // ---- client-side room recordings (presigned uploads) ----
  async putUpload(u: ClientUpload): Promise<void> {
    await this.db.put({ pk: uploadPk(u.tenantId), sk: u.recordingId, ...u } as Item & ClientUpload);
  }

  async getUpload(tenantId: string, recordingId: string): Promise<ClientUpload | undefined> {
    const item = await this.db.get<Item & ClientUpload>(uploadPk(tenantId), recordingId);
    return item ? stripKeys<ClientUpload>(item) : undefined;
  }

  async deleteUpload(tenantId: string, recordingId: string): Promise<void> {
    await this.db.delete(uploadPk(tenantId), recordingId);
  }

  async get(tenantId: string, id: string): Promise<Recording | undefined> {
    const item = await this.db.get<RecordingItem>(recPk(tenantId), id);
    return item ? stripKeys<Recording>(item) : undefined;
  }

  async delete(tenantId: string, id: string): Promise<void> {
    await this.db.delete(recPk(tenantId), id);
  }

  /** Newest first. `callId` uses the GSI; `from`/`to` bound the time-sortable sort key. */
  async list(tenantId: string, filter: RecordingFilter, limit: number, cursor?: string): Promise<PageResult<Recording>> {
    const fromId = filter.from ? idBound(Date.parse(filter.from), false) : undefined;
    const toId = filter.to ? idBound(Date.parse(filter.to), false) : undefined;
    const pk = filter.callId ? callGsiPk(tenantId, filter.callId) : recPk(tenantId);
    const items: Recording[] = [];
    let next = cursor;
    for (let round = 0; round < 20 && items.length < limit; round++) {
      const page = await this.db.page<RecordingItem>(pk, {
        limit: limit - items.length,
        descending: true,
        ...(filter.callId ? { index: 'gsi1' as const } : {}),
        ...(toId ? { skLessThan: toId } : {}),
        ...(next ? { cursor: next } : {}),
      });
      next = page.nextCursor;
      for (const item of page.items) {
        if (fromId && item.id < fromId) return { items };
        items.push(stripKeys<Recording>(item));
      }
      if (!next) break;
    }
    // With `from`, the next page may start below it: the caller then gets an empty last page.
    return { items, ...(next ? { nextCursor: next } : {}) };
  }
}

/**
 * Browsers PUT client-side room recordings straight to S3 (presigned URLs), which S3 allows only with a CORS rule on
 * the bucket for the app's origins: PUT with `content-type` (docs/recordings.md § Client-side recording). `npm start`
 * sets it on s3rver; on AWS the data stack's bucket needs the same rule.
 */
export async function ensureClientUploadCors(s3: S3Client, bucket: string, origins: string[]): Promise<void> {
  await s3.send(new PutBucketCorsCommand({
    Bucket: bucket,
    CORSConfiguration: { CORSRules: [{ AllowedOrigins: origins, AllowedMethods: ['PUT'], AllowedHeaders: ['content-type'], MaxAgeSeconds: 3000 }] },
  }));
}
