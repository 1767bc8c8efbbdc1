/**
 * Construction of the SBC's programmable-voice features, shared by both composition roots (`npm start`'s
 * runtime/sbc/local.ts and the AWS process runtime/sbc/main.ts), so both wire the same things the same way:
 *
 * - the voice engine's options: RTP endpoints, tenant webhook signing secrets, stored applications
 *   (DynamoApplicationResolver), voicemail (a sink built by the caller), `record` verb recordings uploaded as call
 *   recordings (record-storage.ts), hook timeouts and the SSRF guard;
 * - conferences: `conference.*` events as signed tenant webhooks;
 * - the media library (S3, `media/<tenant>/…`) for play sources.
 *
 * Nothing here reads the environment; main.ts and local.ts pass what they read or built.
 */
import { networkInterfaces } from 'node:os';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '../core/logging.js';
import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import { WebhookSender } from '../core/webhooks.js';
import { Db } from '../core/storage/db.js';
import { TenantRepository } from '../core/storage/tenants.js';
import { RecordingRepository } from '../core/storage/recordings.js';
import { DynamoApplicationResolver } from '../core/storage/applications.js';
import { MediaLibrary } from '../core/storage/media-library.js';
import type { VoiceOptions } from './voice/engine.js';
import type { ConferenceEventSink } from './voice/conference/manager.js';
import { conferenceWebhookSink } from './voice/conference/events.js';
import { createRecordStorage } from './voice/record-storage.js';

export interface VoiceFeatureDeps {
  doc: DynamoDBDocumentClient;
  tableName: string;
  clock: Clock;
  log: Logger;
  /** This SBC instance (recording metadata `nodeId`). */
  nodeId: string;
  /** Address rtpengine reaches the endpoints at (see resolveRtpHost) and their UDP range. */
  rtp: { host: string; minPort: number; maxPort: number };
  hooks?: VoiceOptions['hooks'];
  /** The recordings bucket: media library (`media/`), `record` verb recordings (`recordings/`). Absent: neither. */
  storage?: { s3: S3Client; bucket: string };
  /** Upload `record` verb results as call recordings (default true when `storage` is given). */
  uploadRecordings?: boolean;
  /** Where `record` writes its WAVs before they are stored. */
  recordDir?: string;
  /** The voicemail sink (createVoicemailSink), built by the caller (its notifier/mailer differ per deployment). */
  voicemail?: VoiceOptions['voicemail'];
  /** Tried after a tenant's webhook URL is exhausted (conference.*, recording.completed). */
  webhookFallbackUrl?: string;
}

export interface VoiceFeatures {
  /** `SbcDeps.voice`. */
  voice: VoiceOptions;
  /** `SbcDeps.conferences`. */
  conferences: { events: ConferenceEventSink };
  /** The tenant media library (`SbcDeps.mediaServices.library`) when `storage` is given. */
  library?: MediaLibrary;
  /** Cancels webhook deliveries in flight (after the SBC app is closed). */
  close(): void;
}

/** Port range sanity beyond the schema's bounds (one error naming the fields). */
export function validateVoiceRtp(rtp: { minPort: number; maxPort: number }): void {
  if (rtp.minPort > rtp.maxPort) throw AppError.invalid(`voice.rtpMinPort (${rtp.minPort}) is above voice.rtpMaxPort (${rtp.maxPort})`);
  if (rtp.maxPort - rtp.minPort < 1) throw AppError.invalid('voice.rtpMinPort…voice.rtpMaxPort must hold at least two ports (one endpoint)');
}

/**
 * `auto` → the host's private IPv4 address (what rtpengine on a media node reaches): the address of the SIP
 * engine's UDP contact when it is a private address (drachtio binds the instance's private IP on AWS), else the
 * first non-internal IPv4 of a physical-looking interface (container bridges and veths skipped). Anything else is
 * returned unchanged.
 */
export function resolveRtpHost(host: string, sipHost?: string, ifaces: ReturnType<typeof networkInterfaces> = networkInterfaces()): string {
  if (host !== 'auto') return host;
  const fromSip = sipHost?.replace(/:\d+$/, '');
  if (fromSip && /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(fromSip)) return fromSip;
  for (const [name, addrs] of Object.entries(ifaces)) {
    if (/^(lo|docker|br-|veth|virbr|cni|flannel)/.test(name)) continue;
    const a = addrs?.find((x) => x.family === 'IPv4' && !x.internal);
    if (a) return a.address;
  }
  throw AppError.invalid('voice.rtpHost is "auto" but this host has no non-loopback IPv4 address');
}

export function buildVoiceFeatures(d: VoiceFeatureDeps): VoiceFeatures {
  validateVoiceRtp(d.rtp);
  const db = new Db(d.doc, d.tableName, d.clock);
  const tenants = new TenantRepository(db);
  const webhooks = new WebhookSender({ log: d.log.child({ component: 'voice-webhooks' }) });
  const fallback = d.webhookFallbackUrl ? { webhookFallbackUrl: d.webhookFallbackUrl } : {};
  const upload = d.storage && d.uploadRecordings !== false;
  const voice: VoiceOptions = {
    rtp: d.rtp,
    webhookSecret: (tenantId) => tenants.webhookSecret(tenantId),
    applications: new DynamoApplicationResolver({ doc: d.doc, tableName: d.tableName, clock: d.clock }),
    ...(d.voicemail ? { voicemail: d.voicemail } : {}),
    ...(upload ? {
      recordings: createRecordStorage({
        s3: d.storage!.s3, bucket: d.storage!.bucket, recordings: new RecordingRepository(db), tenants, webhooks,
        log: d.log, nodeId: d.nodeId, clock: d.clock, ...fallback,
      }),
    } : {}),
    ...(d.recordDir ? { recordDir: d.recordDir } : {}),
    ...(d.hooks ? { hooks: d.hooks } : {}),
  };
  return {
    voice,
    conferences: { events: conferenceWebhookSink({ tenants, webhooks, log: d.log, ...(d.webhookFallbackUrl ? { fallbackUrl: d.webhookFallbackUrl } : {}) }) },
    ...(d.storage ? { library: new MediaLibrary(d.storage.s3, d.storage.bucket) } : {}),
    close: () => webhooks.close(),
  };
}
