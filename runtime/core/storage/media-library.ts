/**
 * The tenant media library (docs/recordings.md § Media library): prompts and announcements played into calls.
 * Files live in S3 only (no DynamoDB item): `media/<tenantId>/<name>.wav`, always 8 kHz mono 16-bit PCM (uploads
 * are normalized by the REST layer), with user metadata `duration-ms`, `sha256` and `original` (what was uploaded).
 */
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

export const MEDIA_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';
const NAME_RE = new RegExp(MEDIA_NAME_PATTERN);
export const isMediaName = (name: string): boolean => name.length >= 1 && name.length <= 128 && NAME_RE.test(name);

export const mediaPrefix = (tenantId: string): string => `media/${tenantId}/`;
export const mediaS3Key = (tenantId: string, name: string): string => `${mediaPrefix(tenantId)}${name}.wav`;

export interface MediaFile {
  name: string;
  sizeBytes: number;
  durationMs?: number;
  sha256?: string;
  /** Format of the uploaded file before normalization, e.g. `pcm/44100/2`. */
  original?: string;
  etag?: string;
  updatedAt: string;
}

const notFound = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
};

export class MediaLibrary {
  constructor(readonly s3: S3Client, readonly bucket: string) {}

  async put(tenantId: string, name: string, wav: Buffer, meta: { durationMs: number; original: string }): Promise<MediaFile> {
    const sha256 = createHash('sha256').update(wav).digest('hex');
    const out = await this.s3.send(new PutObjectCommand({
      Bucket: this.bucket, Key: mediaS3Key(tenantId, name), Body: wav, ContentType: 'audio/wav',
      Metadata: { 'duration-ms': String(meta.durationMs), sha256, original: meta.original },
    }));
    return { name, sizeBytes: wav.length, durationMs: meta.durationMs, sha256, original: meta.original, ...(out.ETag ? { etag: out.ETag.replace(/"/g, '') } : {}), updatedAt: new Date().toISOString() };
  }

  /** Metadata of one file, or undefined. */
  async head(tenantId: string, name: string): Promise<MediaFile | undefined> {
    try {
      const h = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: mediaS3Key(tenantId, name) }));
      const m = h.Metadata ?? {};
      return {
        name, sizeBytes: h.ContentLength ?? 0,
        ...(m['duration-ms'] ? { durationMs: Number(m['duration-ms']) } : {}),
        ...(m.sha256 ? { sha256: m.sha256 } : {}),
        ...(m.original ? { original: m.original } : {}),
        ...(h.ETag ? { etag: h.ETag.replace(/"/g, '') } : {}),
        updatedAt: (h.LastModified ?? new Date(0)).toISOString(),
      };
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  }

  /** The file's bytes, or undefined. */
  async get(tenantId: string, name: string): Promise<Buffer | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: mediaS3Key(tenantId, name) }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  }

  /** Files of a tenant by name (S3 ListObjectsV2 pages of up to `limit`). */
  async list(tenantId: string, limit = 100, cursor?: string): Promise<{ items: MediaFile[]; nextCursor?: string }> {
    const prefix = mediaPrefix(tenantId);
    const out = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, MaxKeys: limit, ...(cursor ? { ContinuationToken: cursor } : {}) }));
    const items = (out.Contents ?? [])
      .filter((o) => o.Key?.endsWith('.wav'))
      .map((o) => ({
        name: o.Key!.slice(prefix.length, -'.wav'.length), sizeBytes: o.Size ?? 0,
        ...(o.ETag ? { etag: o.ETag.replace(/"/g, '') } : {}), updatedAt: (o.LastModified ?? new Date(0)).toISOString(),
      }));
    return { items, ...(out.IsTruncated && out.NextContinuationToken ? { nextCursor: out.NextContinuationToken } : {}) };
  }

  /** true when something was deleted. */
  async delete(tenantId: string, name: string): Promise<boolean> {
    if (!(await this.head(tenantId, name))) return false;
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: mediaS3Key(tenantId, name) }));
    return true;
  }
}
