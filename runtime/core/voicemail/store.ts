/**
 * Voicemail objects in S3 and the message/mailbox operations shared by the REST routes and the owner's socket
 * events (docs/voicemail.md). The sink (./sink.ts) writes messages; this module reads, updates and deletes them.
 */
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { AppError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { PageResult } from '../storage/db.js';
import { greetingS3Key, VoicemailRepository, type MailboxRef, type MailboxSettings, type VoicemailFilter, type VoicemailMessage } from '../storage/voicemail.js';
import type { PutMailboxSettings, VoicemailWithUrl } from '../protocol/voicemail.js';
import { toGreetingWav } from './wav.js';

/** Where voicemail objects live: the recordings bucket (prefix `voicemail/`) unless configured otherwise. */
export interface VoicemailFiles {
  readonly s3: S3Client;
  readonly bucket: string;
}

export const s3Unavailable = (err: unknown): AppError => new AppError('SERVICE_UNAVAILABLE', 'voicemail storage is unavailable, retry later', { retryable: true }, { cause: err });

export const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** HeadObject: does `key` hold exactly this content (size + `x-amz-meta-sha256`)? false when absent or different. */
export async function objectMatches(files: VoicemailFiles, key: string, size: number, sha256: string): Promise<boolean> {
  try {
    const h = await files.s3.send(new HeadObjectCommand({ Bucket: files.bucket, Key: key }));
    return h.ContentLength === size && h.Metadata?.sha256 === sha256;
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

/**
 * Uploads `body` under `key` (lib-storage `Upload`: one PUT for small files, multipart for large ones, parts
 * aborted on error) with its sha-256 as object metadata, then confirms it with HeadObject. Skips the upload when
 * the key already holds the same content (a retried deposit). Throws on any failure.
 */
export async function putChecked(files: VoicemailFiles, key: string, body: Buffer, sha256: string, metadata: Record<string, string> = {}): Promise<void> {
  if (await objectMatches(files, key, body.length, sha256)) return;
  const upload = new Upload({
    client: files.s3,
    params: { Bucket: files.bucket, Key: key, Body: body, ContentType: 'audio/wav', Metadata: { ...metadata, sha256 } },
    partSize: 8 * 1024 * 1024,
    queueSize: 2,
    leavePartsOnError: false,
  });
  await upload.done();
  if (!(await objectMatches(files, key, body.length, sha256))) throw new Error(`object ${key} not confirmed after upload`);
}

export class VoicemailStore {
  constructor(
    readonly repo: VoicemailRepository,
    private readonly files: VoicemailFiles,
    private readonly clock: Clock,
    private readonly opts: { urlExpirySeconds?: number } = {},
  ) {}

  list(tenantId: string, filter: VoicemailFilter, limit: number, cursor?: string): Promise<PageResult<VoicemailMessage>> {
    return this.repo.list(tenantId, filter, limit, cursor);
  }

  async get(tenantId: string, id: string): Promise<VoicemailMessage> {
    const m = await this.repo.get(tenantId, id);
    if (!m) throw AppError.notFound('voicemail message', id);
    return m;
  }

  /** The message with a presigned GET (inline `audio/wav`, so an `<audio>` element plays it). */
  async withUrl(tenantId: string, idOrMessage: string | VoicemailMessage, expiresIn?: number): Promise<VoicemailWithUrl> {
    const message = typeof idOrMessage === 'string' ? await this.get(tenantId, idOrMessage) : idOrMessage;
    const ttl = expiresIn ?? this.opts.urlExpirySeconds ?? 300;
    const now = this.clock.now();
    const url = await getSignedUrl(
      this.files.s3,
      new GetObjectCommand({ Bucket: this.files.bucket, Key: message.s3Key, ResponseContentType: 'audio/wav', ResponseContentDisposition: `inline; filename="${message.id}.wav"` }),
      { expiresIn: ttl },
    ).catch((err: unknown) => {
      throw s3Unavailable(err);
    });
    return { message, url, expiresAt: new Date(now + ttl * 1000).toISOString() };
  }

  async setRead(tenantId: string, id: string, read: boolean): Promise<VoicemailMessage> {
    const m = await this.repo.setRead(tenantId, id, read);
    if (!m) throw AppError.notFound('voicemail message', id);
    return m;
  }

  /** The S3 object first, then the metadata: an S3 failure leaves the message listed, so the call can be repeated. */
  async remove(tenantId: string, id: string): Promise<VoicemailMessage> {
    const m = await this.get(tenantId, id);
    await this.files.s3.send(new DeleteObjectCommand({ Bucket: this.files.bucket, Key: m.s3Key })).catch((err: unknown) => {
      throw s3Unavailable(err);
    });
    await this.repo.delete(tenantId, id);
    return m;
  }

  // ---- mailboxes -----------------------------------------------------------------------------------------

  settings(tenantId: string, mailbox: MailboxRef): Promise<MailboxSettings> {
    return this.repo.settings(tenantId, mailbox, new Date(this.clock.now()).toISOString());
  }

  async putSettings(tenantId: string, mailbox: MailboxRef, req: PutMailboxSettings): Promise<MailboxSettings> {
    const cur = await this.settings(tenantId, mailbox);
    let greeting = cur.greeting;
    if (req.greeting === 'none' && greeting) {
      await this.files.s3.send(new DeleteObjectCommand({ Bucket: this.files.bucket, Key: greeting.s3Key })).catch((err: unknown) => {
        throw s3Unavailable(err);
      });
      greeting = null;
    }
    const { notifyEmail: _e, ringTimeoutSeconds: _r, ...base } = cur;
    const notifyEmail = req.notifyEmail === undefined ? cur.notifyEmail : (req.notifyEmail ?? undefined);
    const ringTimeoutSeconds = req.ringTimeoutSeconds === undefined ? cur.ringTimeoutSeconds : (req.ringTimeoutSeconds ?? undefined);
    return this.repo.putSettings({
      ...base,
      tenantId,
      kind: mailbox.kind,
      id: mailbox.id,
      enabled: req.enabled,
      greeting,
      ...(notifyEmail ? { notifyEmail } : {}),
      ...(ringTimeoutSeconds !== undefined ? { ringTimeoutSeconds } : {}),
      updatedAt: new Date(this.clock.now()).toISOString(),
    });
  }

  /** Stores a custom greeting (converted to 8 kHz mono 16-bit PCM) and points the mailbox at it. */
  async putGreeting(tenantId: string, mailbox: MailboxRef, upload: Buffer, maxSeconds = 120): Promise<MailboxSettings> {
    const { wav, durationMs } = toGreetingWav(upload);
    if (durationMs > maxSeconds * 1000) throw AppError.invalid(`greeting is ${Math.round(durationMs / 1000)} s long, the limit is ${maxSeconds} s`, '/body');
    const sha256 = sha256Hex(wav);
    const key = greetingS3Key(tenantId, mailbox);
    await putChecked(this.files, key, wav, sha256, { 'tenant-id': encodeURIComponent(tenantId), mailbox: encodeURIComponent(`${mailbox.kind}:${mailbox.id}`) }).catch((err: unknown) => {
      throw s3Unavailable(err);
    });
    const cur = await this.settings(tenantId, mailbox);
    const now = new Date(this.clock.now()).toISOString();
    return this.repo.putSettings({ ...cur, greeting: { sha256, sizeBytes: wav.length, durationMs, s3Key: key, updatedAt: now }, updatedAt: now });
  }
}
