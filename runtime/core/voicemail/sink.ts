/**
 * `createVoicemailSink(deps)`: the `VoicemailSink` of runtime/sbc/voice/contracts.ts (docs/voicemail.md).
 *
 *   import { createVoicemailSink } from '../core/voicemail/index.js';
 *   const voicemail = createVoicemailSink({
 *     doc, tableName,                       // the single DynamoDB table (messages, mailbox settings, SIP users)
 *     s3, bucket,                           // where WAVs go (key voicemail/<tenant>/<kind>/<mailbox>/<id>.wav)
 *     log,
 *     cacheDir,                             // local cache of custom greetings (created when missing)
 *     signalling?: { url, secret },         // POST <url>/internal/voicemail/events (the gateway shared secret) → `voicemail:new`
 *     mailer?,                              // SES: mails `notifyEmail` of the mailbox settings
 *     webhooks?,                            // a WebhookSender: signed `voicemail.received` to the tenant's webhookUrl
 *     defaultEnabled?,                      // enabled state of never-configured mailboxes (default true; npm start: false)
 *   });
 *   // voicemail.deposit(d) → { messageId }; voicemail.greeting(tenantId, mailbox) → local WAV path | undefined;
 *   // voicemail.settings(tenantId, mailbox) → { enabled, ringTimeoutSeconds?, … } (never configured: `defaultEnabled`)
 *
 * deposit(): read the WAV → sha-256 → S3 (skip when the same object is there, HeadObject check after) → metadata
 * (conditional put, deterministic id: a retry after a crash stores nothing twice) → delete the local WAV → notify
 * (socket event, email, webhook; best effort, logged). Any failure before the delete rejects and leaves the file.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '../logging.js';
import { systemClock, type Clock } from '../clock.js';
import { AppError } from '../errors.js';
import { escapeHtml, type Mailer } from '../mail.js';
import { WebhookSender } from '../webhooks.js';
import { Db } from '../storage/db.js';
import { DynamoSipRepository } from '../storage/sip.js';
import { TenantRepository } from '../storage/tenants.js';
import { voicemailIdFor, voicemailS3Key, VoicemailRepository, type MailboxRef, type MailboxSettings, type VoicemailMessage } from '../storage/voicemail.js';
import type { VoicemailDeposit, VoicemailSink } from '../../sbc/voice/contracts.js';
import { putChecked, sha256Hex, type VoicemailFiles } from './store.js';
import { httpVoicemailNotifier, type VoicemailNotifier } from './notifier.js';

export interface VoicemailSinkDeps {
  doc: DynamoDBDocumentClient;
  tableName: string;
  s3: S3Client;
  bucket: string;
  log: Logger;
  /** Custom greetings are downloaded here once (file name carries the greeting's checksum). */
  cacheDir: string;
  /** Signalling's internal endpoint for `voicemail:new` (shared secret = the gateway secret). */
  signalling?: { url: string; secret: string; timeoutMs?: number };
  /** Or any notifier (tests). Wins over `signalling`. */
  notifier?: VoicemailNotifier;
  mailer?: Mailer;
  webhooks?: WebhookSender;
  clock?: Clock;
  /** Largest WAV accepted (default 64 MiB ≈ 70 min of 8 kHz 16-bit mono). */
  maxBytes?: number;
  /**
   * `settings().enabled` of a mailbox that was never configured. Default true (the voice engine's tests deposit
   * into unconfigured mailboxes); deployments pass false so voicemail is opt-in per mailbox, matching what
   * `GET /v1/voicemail/mailboxes/{kind}/{id}` reports (npm start does).
   */
  defaultEnabled?: boolean;
}

/** The sink plus what the call flow may want to know about a mailbox. */
export interface VoicemailService extends VoicemailSink {
  greeting(tenantId: string, mailbox: VoicemailDeposit['mailbox']): Promise<string | undefined>;
  /** Stored settings or the defaults (`enabled: defaultEnabled`, default greeting). */
  settings(tenantId: string, mailbox: VoicemailDeposit['mailbox']): Promise<MailboxSettings>;
  readonly repo: VoicemailRepository;
}

const MAILBOX_ID = /^[^/\s]{1,128}$/;

export function createVoicemailSink(deps: VoicemailSinkDeps): VoicemailService {
  const clock = deps.clock ?? systemClock;
  const log = deps.log.child({ component: 'voicemail' });
  const db = new Db(deps.doc, deps.tableName, clock);
  const repo = new VoicemailRepository(db);
  const sip = new DynamoSipRepository(db);
  const tenants = new TenantRepository(db);
  const files: VoicemailFiles = { s3: deps.s3, bucket: deps.bucket };
  const notifier = deps.notifier ?? (deps.signalling ? httpVoicemailNotifier({ ...deps.signalling, log }) : undefined);
  const maxBytes = deps.maxBytes ?? 64 * 1024 * 1024;
  const fetching = new Map<string, Promise<string | undefined>>();

  /** The identity whose browsers see the mailbox: the identity itself, or the SIP user's linked identity. */
  const ownerOf = async (tenantId: string, mailbox: MailboxRef): Promise<string | undefined> => {
    if (mailbox.kind === 'identity') return mailbox.id;
    return (await sip.getUser(tenantId, mailbox.id))?.identity;
  };

  async function notify(m: VoicemailMessage, settings: MailboxSettings | undefined): Promise<void> {
    const l = log.child({ messageId: m.id, tenantId: m.tenantId });
    const jobs: Array<Promise<unknown>> = [];
    if (notifier && m.owner) {
      jobs.push(
        notifier
          .send({ type: 'new', tenantId: m.tenantId, owner: m.owner, message: m })
          .then((n) => l.debug({ sockets: n }, 'voicemail:new sent'))
          .catch((err: unknown) => l.warn({ err }, 'voicemail:new not delivered')),
      );
    }
    if (deps.mailer && settings?.notifyEmail) {
      const secs = Math.round(m.durationMs / 1000);
      const who = `${m.mailbox.kind === 'identity' ? '' : 'SIP user '}${m.mailbox.id}`;
      jobs.push(
        deps.mailer
          .send({
            to: settings.notifyEmail,
            subject: `New voicemail from ${m.from} (${secs} s)`,
            text: `A new voicemail for ${who}.\nFrom: ${m.from}\nLength: ${secs} s\nReceived: ${m.receivedAt}\nMessage id: ${m.id}\n`,
            html: `<p>A new voicemail for <b>${escapeHtml(who)}</b>.</p><ul><li>From: ${escapeHtml(m.from)}</li><li>Length: ${secs} s</li><li>Received: ${escapeHtml(m.receivedAt)}</li><li>Message id: <code>${escapeHtml(m.id)}</code></li></ul>`,
          })
          .catch((err: unknown) => l.warn({ err }, 'voicemail email not sent')),
      );
    }
    if (deps.webhooks) {
      jobs.push(
        (async () => {
          const tenant = await tenants.get(m.tenantId);
          if (!tenant?.webhookUrl) return;
          const secret = await tenants.webhookSecret(m.tenantId);
          if (!secret) return l.warn('tenant has a webhook URL but no signing secret; voicemail.received not sent');
          const { s3Key: _k, ...data } = m;
          const event = WebhookSender.event(m.tenantId, 'voicemail.received', { messageId: m.id, ...data }, clock.now(), `evt_${m.id}`);
          const sent = deps.webhooks!.send(event, { url: tenant.webhookUrl, secret });
          if (!sent) return l.warn('webhook queue full; voicemail.received dropped');
          // Delivery (with retries) continues in the background: not awaited by deposit().
          void sent.then((r) => {
            if (!r.ok) l.warn({ attempts: r.attempts, lastError: r.lastError }, 'voicemail.received webhook not delivered');
          });
        })().catch((err: unknown) => l.warn({ err }, 'voicemail.received webhook not queued')),
      );
    }
    await Promise.all(jobs);
  }

  async function deposit(d: VoicemailDeposit): Promise<{ messageId: string }> {
    if (!d.tenantId || !MAILBOX_ID.test(d.mailbox?.id ?? '') || (d.mailbox.kind !== 'identity' && d.mailbox.kind !== 'sip-user')) {
      throw AppError.invalid(`bad voicemail deposit (tenant ${d.tenantId}, mailbox ${d.mailbox?.kind}:${d.mailbox?.id})`);
    }
    const receivedAtMs = Date.parse(d.receivedAt);
    const at = Number.isFinite(receivedAtMs) ? receivedAtMs : clock.now();
    const wav = await readFile(d.wavPath);
    if (wav.length > maxBytes) throw AppError.invalid(`voicemail file is ${wav.length} bytes, the limit is ${maxBytes}`);
    const sha256 = sha256Hex(wav);
    const id = voicemailIdFor(d.tenantId, d.mailbox, d.callId, at);
    const s3Key = voicemailS3Key(d.tenantId, d.mailbox, id);
    const l = log.child({ messageId: id, tenantId: d.tenantId, callId: d.callId });
    try {
      await putChecked(files, s3Key, wav, sha256, { 'tenant-id': encodeURIComponent(d.tenantId), 'message-id': id, 'call-id': encodeURIComponent(d.callId) });
    } catch (err) {
      l.warn({ err, wavPath: d.wavPath }, 'voicemail upload failed; the file is kept');
      throw new AppError('SERVICE_UNAVAILABLE', 'voicemail storage (S3) is unavailable; the recording was kept', { retryable: true }, { cause: err });
    }
    const owner = await ownerOf(d.tenantId, d.mailbox);
    const message: VoicemailMessage = {
      id,
      tenantId: d.tenantId,
      mailbox: { kind: d.mailbox.kind, id: d.mailbox.id },
      ...(owner ? { owner } : {}),
      from: d.from,
      callId: d.callId,
      durationMs: Math.max(0, Math.round(d.durationMs)),
      sizeBytes: wav.length,
      sha256,
      s3Key,
      read: false,
      receivedAt: new Date(at).toISOString(),
      createdAt: new Date(clock.now()).toISOString(),
    };
    const { created, message: stored } = await repo.putOnce(message);
    await unlink(d.wavPath).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') l.warn({ err, wavPath: d.wavPath }, 'stored voicemail: local file not removed');
    });
    l.info({ mailbox: `${d.mailbox.kind}:${d.mailbox.id}`, durationMs: message.durationMs, sizeBytes: wav.length, created }, 'voicemail stored');
    const settings = await repo.getSettings(d.tenantId, d.mailbox).catch(() => undefined);
    await notify(stored, settings);
    return { messageId: id };
  }

  async function fetchGreeting(tenantId: string, mailbox: MailboxRef): Promise<string | undefined> {
    const settings = await repo.getSettings(tenantId, mailbox);
    const g = settings?.greeting;
    if (!g) return undefined;
    const boxHash = createHash('sha256').update(`${tenantId}\n${mailbox.kind}\n${mailbox.id}`).digest('hex').slice(0, 16);
    const path = join(deps.cacheDir, `${boxHash}-${g.sha256.slice(0, 16)}.wav`);
    if (existsSync(path)) return path;
    const out = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: g.s3Key }));
    const body = Buffer.from(await out.Body!.transformToByteArray());
    if (sha256Hex(body) !== g.sha256) throw new Error(`greeting ${g.s3Key} does not match its checksum`);
    await mkdir(deps.cacheDir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, path);
    return path;
  }

  return {
    repo,
    deposit,
    settings: (tenantId, mailbox) => repo.settings(tenantId, mailbox, new Date(clock.now()).toISOString(), deps.defaultEnabled ?? true),
    async greeting(tenantId, mailbox) {
      const k = `${tenantId}\n${mailbox.kind}\n${mailbox.id}`;
      let p = fetching.get(k);
      if (!p) {
        p = fetchGreeting(tenantId, mailbox)
          .catch((err: unknown) => {
            log.warn({ err, tenantId, mailbox }, 'custom greeting unavailable; the default prompt plays');
            return undefined;
          })
          .finally(() => fetching.delete(k));
        fetching.set(k, p);
      }
      return p;
    },
  };
}
