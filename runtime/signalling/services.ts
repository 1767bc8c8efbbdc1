import type { Logger } from '../core/logging.js';
import type { Clock } from '../core/clock.js';
import { MetricsRegistry } from '../core/metrics.js';
import { Db } from '../core/storage/db.js';
import { TenantRepository, ApiKeyRepository } from '../core/storage/tenants.js';
import { RoomRepository } from '../core/storage/rooms.js';
import { PresenceRepository } from '../core/storage/presence.js';
import { CallRepository } from '../core/storage/calls.js';
import { DynamoSipRepository } from '../core/storage/sip.js';
import { IdempotencyStore } from '../core/storage/idempotency.js';
import { TokenService } from '../core/auth/tokens.js';
import { iceServersFor } from '../core/auth/turn.js';
import type { Mailer } from '../core/mail.js';
import type { IceServer } from '../core/protocol/common.js';
import type { SignallingConfig } from './config.js';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomToken } from '../core/ids.js';
import { createGatewayClient, type GatewayEventSink } from './gateway-client.js'; // gateway (docs/gateway.md)
import { createConferenceClient, type ConferenceControl } from './conference-client.js'; // conferences (docs/conferences.md)
import type { S3Client } from '@aws-sdk/client-s3'; // recordings (docs/recordings.md)
import { RecordingRepository } from '../core/storage/recordings.js'; // recordings
import { createAwsClients } from '../core/aws/clients.js'; // recordings
import { LiRepository, SecurityRepository } from '../core/storage/security.js'; // security (docs/security.md)
// --- voice-api (docs/api.md § Programmable voice) ---
import { ApplicationRepository } from '../core/storage/applications.js';
import { createVoiceClient, type VoiceControl } from './voice-client.js';
// --- end voice-api ---
import { VoicemailStore } from '../core/voicemail/store.js'; // voicemail (docs/voicemail.md)
import { VoicemailRepository } from '../core/storage/voicemail.js'; // voicemail
import type { VoicemailEvent } from '../core/voicemail/notifier.js'; // voicemail

/** Secret values, resolved by main.ts (inline or from Secrets Manager). */
export interface ResolvedSecrets {
  adminKey: string;
  jwtSigningKey: string;
  turnSecret: string;
  originSecret?: string;
  /** Shared secret of the WebRTC ⇄ SIP gateway (docs/gateway.md); falls back to `config.gateway.secret.value`. */
  gatewaySecret?: string;
}

/** Everything the signalling process needs, built once by the composition root and passed down. */
export interface Services {
  config: SignallingConfig;
  log: Logger;
  clock: Clock;
  metrics: MetricsRegistry;
  instanceId: string;
  secrets: ResolvedSecrets;
  tenants: TenantRepository;
  apiKeys: ApiKeyRepository;
  rooms: RoomRepository;
  presence: PresenceRepository;
  calls: CallRepository;
  /** SIP users, registrations, trunks, routes, numbers, gateway health, media nodes, SIP call records. */
  sip: DynamoSipRepository;
  idempotency: IdempotencyStore;
  tokens: TokenService;
  mailer: Mailer;
  iceServers(user: string): { iceServers: IceServer[]; expiresAt: number };
  /** Readiness probe of the storage dependency. */
  checkStorage(): Promise<void>;
  /** Hooks from REST into the live signalling layer (set by the socket layer when it starts). */
  events: SignallingEvents;
  /** The SBC's WebRTC ⇄ SIP gateway (absent without an SBC). */
  gateway?: DialGateway;
  // --- gateway (docs/gateway.md) ---
  /** Delivers SBC gateway events to sockets (set by buildSignallingApp once socket.io exists). */
  gatewayEvents?: GatewayEventSink;
  // --- end gateway ---
  // --- conferences (docs/conferences.md) ---
  /** The SBC's conference control API (absent without `sbcControlUrl` + the gateway secret). */
  conferences?: ConferenceControl;
  // --- end conferences ---
  // --- recordings (docs/recordings.md) ---
  recordings: RecordingRepository;
  /** Where recording files live (S3 client created lazily when not injected). */
  recordingFiles: { readonly s3: S3Client; bucket: string };
  // --- end recordings ---
  // --- security (docs/security.md) ---
  security: SecurityRepository;
  /** Lawful-interception targets and audit (admin routes only). */
  li: LiRepository;
  // --- end security ---
  // --- voicemail (docs/voicemail.md) ---
  /** Messages and mailbox settings; WAVs live in the recordings bucket under `voicemail/`. */
  voicemail: VoicemailStore;
  /** Emits `voicemail:new` to the owner's sockets (set by the socket layer once socket.io exists). */
  voicemailEvents?: (e: VoicemailEvent) => Promise<number>;
  // --- end voicemail ---
  // --- voice-api (docs/api.md § Programmable voice) ---
  applications: ApplicationRepository;
  /** The SBC's programmable-voice control API (absent without `sbcControlUrl` + the gateway secret). */
  voice?: VoiceControl;
  // --- end voice-api ---
}

/** Client of the SBC control API used by the `dial:*` socket events. */
export interface DialGateway {
  dial(req: { tenantId: string; identity: string; socketId: string; to: string; sdp: string; callerId?: string; roomId?: string /* media-services */ }): Promise<{ callId: string }>;
  control(req: { tenantId: string; identity: string; callId: string; action: 'hangup' | 'hold' | 'resume' | 'dtmf' | 'transfer' | 'record'; digits?: string; target?: string; recording?: 'start' | 'stop' | 'pause' | 'resume'; announce?: boolean /* media-services */ }): Promise<void>;
  answer(req: { tenantId: string; identity: string; socketId: string; callId: string; sdp: string }): Promise<void>;
}

export interface SignallingEvents {
  roomClosed(tenantId: string, roomId: string): Promise<void>;
}

export function createServices(input: {
  config: SignallingConfig;
  log: Logger;
  clock: Clock;
  doc: DynamoDBDocumentClient;
  secrets: ResolvedSecrets;
  mailer: Mailer;
  metrics?: MetricsRegistry;
  /** S3 client for recordings (default: one built from config.aws on first use). */
  s3?: S3Client;
}): Services {
  const { config, clock } = input;
  const db = new Db(input.doc, config.tableName, clock);
  const tenants = new TenantRepository(db);
  let voicemailStore: VoicemailStore | undefined; // voicemail (docs/voicemail.md)
  return {
    config,
    log: input.log,
    clock,
    metrics: input.metrics ?? new MetricsRegistry(),
    instanceId: randomToken(8),
    secrets: input.secrets,
    tenants,
    apiKeys: new ApiKeyRepository(db),
    rooms: new RoomRepository(db, { maxParticipants: config.limits.maxRoomParticipants }),
    presence: new PresenceRepository(db),
    calls: new CallRepository(db),
    sip: new DynamoSipRepository(db),
    idempotency: new IdempotencyStore(db),
    tokens: new TokenService(input.secrets.jwtSigningKey, config.tokens, clock),
    mailer: input.mailer,
    iceServers: (user) => iceServersFor(config.turn.urls, input.secrets.turnSecret, user, config.turn.ttlMinutes * 60, clock.now()),
    checkStorage: async () => {
      await tenants.get('__readyz__');
    },
    events: { roomClosed: async () => {} },
    // --- gateway (docs/gateway.md) ---
    ...(() => {
      const secret = input.secrets.gatewaySecret ?? config.gateway?.secret.value;
      if (!config.sbcControlUrl || !config.gateway || !secret) return {};
      return { gateway: createGatewayClient({ url: config.sbcControlUrl, secret, timeoutMs: config.gateway.requestTimeoutMs, log: input.log }) };
    })(),
    // --- end gateway ---
    // --- security (docs/security.md) ---
    security: new SecurityRepository(db),
    li: new LiRepository(db),
    // --- end security ---
    // --- conferences (docs/conferences.md): same SBC URL and shared secret as the gateway ---
    ...(() => {
      const secret = input.secrets.gatewaySecret ?? config.gateway?.secret.value;
      if (!config.sbcControlUrl || !secret) return {};
      return { conferences: createConferenceClient({ url: config.sbcControlUrl, secret, timeoutMs: config.gateway?.requestTimeoutMs ?? 5000, log: input.log }) };
    })(),
    // --- end conferences ---
    // --- recordings (docs/recordings.md) ---
    recordings: new RecordingRepository(db),
    recordingFiles: (() => {
      let s3 = input.s3;
      return {
        bucket: config.recordings?.bucket ?? 'cpaas-recordings',
        get s3(): S3Client {
          s3 ??= createAwsClients(config.aws).s3;
          return s3;
        },
      };
    })(),
    // --- end recordings ---
    // --- voicemail (docs/voicemail.md): same bucket as recordings (lazy S3 client), keys under voicemail/ ---
    get voicemail(): VoicemailStore {
      voicemailStore ??= new VoicemailStore(new VoicemailRepository(db), this.recordingFiles, clock, { urlExpirySeconds: config.recordings?.urlExpirySeconds ?? 300 });
      return voicemailStore;
    },
    // --- end voicemail ---
    // --- voice-api (docs/api.md § Programmable voice): same SBC URL and shared secret as the gateway ---
    applications: new ApplicationRepository(db),
    ...(() => {
      const secret = input.secrets.gatewaySecret ?? config.gateway?.secret.value;
      if (!config.sbcControlUrl || !secret) return {};
      return { voice: createVoiceClient({ url: config.sbcControlUrl, secret, timeoutMs: config.gateway?.requestTimeoutMs ?? 5000, log: input.log }) };
    })(),
    // --- end voice-api ---
  };
}
