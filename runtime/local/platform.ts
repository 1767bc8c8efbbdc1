import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../core/logging.js';
import { createAwsClients } from '../core/aws/clients.js';
import { ensureTable } from '../core/storage/table.js';
import { systemClock } from '../core/clock.js';
import { SesMailer } from '../core/mail.js';
import { AppError } from '../core/errors.js';
import { createServices } from '../signalling/services.js';
import { buildSignallingApp, type SignallingApp } from '../signalling/app.js';
import { startStandIns, type StandIns } from './stand-ins.js';
import { ensureClientUploadCors } from '../core/storage/recordings.js'; // media-services
import { localSignallingConfig } from './platform-config.js';
import { loadOrCreateSecrets, type LocalSecrets } from './secrets.js';
import { startCoturn } from './coturn.js';
import { localRoutes, LOCAL_TENANT_ID } from './local-routes.js';
import { hasExecutable } from './which.js';
import { startLocalSipSide } from '../sbc/local.js';
// --- voicemail (docs/voicemail.md) ---
import { createVoicemailSink } from '../core/voicemail/sink.js';
import { WebhookSender } from '../core/webhooks.js';
// --- end voicemail ---

export interface LocalPlatformOptions {
  /** Where data survives restarts (DynamoDB, S3, secrets). */
  dataDir: string;
  /** Repository root: serves assets/sdk/dist and assets/demo. */
  rootDir: string;
  host: string;
  port: number;
  adminKey?: string;
  turn: { enabled: boolean; port: number; minPort: number; maxPort: number };
  /**
   * SIP side (SIP engine + SBC + rtpengine + WebRTC ⇄ SIP gateway); default on, 127.0.0.1:5060. Tests pick their
   * own loopback address and ports: rtpengine's ng/http/media ports and the SBC control port (default 8090).
   */
  sip?: {
    enabled?: boolean; host?: string; port?: number;
    rtpengine?: { host?: string; ngPort: number; httpPort: number; minPort: number; maxPort: number };
    controlPort?: number;
    /** Tenants whose calls are recorded from the start ('*' = all); default none (recording on demand). */
    recordTenants?: string[];
    /** consent: tenants whose recordings (policy ones once answered) start with the consent tone; default none. */
    announceTenants?: string[];
    /** UDP range of the voice engine's RTP endpoints on the rtpengine host (default 41000–41999). */
    voiceRtp?: { minPort: number; maxPort: number }; // aws-wiring
  };
  log: Logger;
}

export interface ComponentStatus {
  name: string;
  running: boolean;
  detail: string;
  /** How to add it when missing. */
  fix?: string;
}

export interface LocalPlatform {
  baseUrl: string;
  secrets: LocalSecrets;
  secretsCreated: boolean;
  components: ComponentStatus[];
  app: SignallingApp;
  standIns: StandIns;
  stop(): Promise<void>;
}

/**
 * `npm start`: the whole platform on one machine. Embedded stand-ins for DynamoDB/S3/SES, the signalling
 * process, coturn when installed, and the SIP side when its parts are installed. The same code as on AWS;
 * only the endpoints differ.
 */
export async function startLocalPlatform(o: LocalPlatformOptions): Promise<LocalPlatform> {
  const stops: Array<() => Promise<void>> = [];
  const components: ComponentStatus[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err: unknown) => o.log.warn({ err }, 'stopping a component failed'));
  };
  try {
    const { secrets, created } = loadOrCreateSecrets(o.dataDir, o.adminKey);
    const standIns = await startStandIns({ dir: join(o.dataDir, 'aws'), buckets: ['cpaas-recordings'] });
    stops.push(() => standIns.close());
    components.push({ name: 'DynamoDB/S3/SES stand-ins', running: true, detail: `dynamodb ${standIns.endpoints.dynamodb}, s3 ${standIns.endpoints.s3}, ses ${standIns.endpoints.ses} (mail at ${standIns.endpoints.ses}/)` });

    let turnUrls: string[] = [];
    if (o.turn.enabled && hasExecutable('turnserver')) {
      try {
        const coturn = await startCoturn({ dir: join(o.dataDir, 'coturn'), listenIp: '127.0.0.1', port: o.turn.port, minPort: o.turn.minPort, maxPort: o.turn.maxPort, secret: secrets.turnSecret, allowLoopbackPeers: true, log: o.log });
        stops.push(() => coturn.stop());
        turnUrls = coturn.urls;
        components.push({ name: 'coturn (TURN)', running: true, detail: coturn.urls.join(' ') });
      } catch (err) {
        components.push({ name: 'coturn (TURN)', running: false, detail: `failed to start: ${(err as Error).message.split('\n')[0]}`, fix: 'check that UDP/TCP port 3478 is free' });
      }
    } else {
      components.push({
        name: 'coturn (TURN)',
        running: false,
        detail: o.turn.enabled ? 'turnserver not installed' : 'disabled (CPAAS_TURN=off)',
        fix: o.turn.enabled ? 'sudo apt-get install coturn (or: bash scripts/setup.sh)' : 'start without CPAAS_TURN=off',
      });
    }

    // --- SIP side / gateway wiring (docs/gateway.md): signalling reaches the SBC control API with the shared secret. ---
    const sipOn = o.sip?.enabled !== false;
    const sipHost = o.sip?.host ?? '127.0.0.1';
    const control = { host: sipHost, port: o.sip?.controlPort ?? 8090 };
    const gatewayOverrides = sipOn ? { sbcControlUrl: `http://${control.host}:${control.port}`, gateway: { secret: { value: secrets.gatewaySecret } } } : {};
    // --- end SIP side / gateway wiring ---
    const config = localSignallingConfig({
      endpoints: standIns.endpoints,
      secrets,
      host: o.host,
      port: o.port,
      turnUrls,
      staticDir: join(o.rootDir, 'assets'),
      publicUrl: `http://${o.host === '0.0.0.0' ? '127.0.0.1' : o.host}:${o.port}`,
      overrides: gatewayOverrides,
    });
    const aws = createAwsClients(config.aws);
    stops.push(async () => aws.destroy());
    await ensureTable(aws.ddb, config.tableName);
    const services = createServices({ config, log: o.log, clock: systemClock, doc: aws.doc, secrets, mailer: new SesMailer(aws.ses, config.mail) });
    // The `local` tenant used by the demo's token helper.
    await services.tenants.create({ id: LOCAL_TENANT_ID, name: 'Local demo tenant' }).catch((err: unknown) => {
      if (!(err instanceof AppError && err.code === 'CONFLICT')) throw err;
    });
    const app = await buildSignallingApp(services, {
      extraRoutes: [localRoutes],
      publicConfig: () => ({ apiBaseUrl: '', socketUrl: '', local: true }),
    });
    const baseUrl = await app.listen(o.host, o.port);
    stops.push(() => app.close());
    // --- media-services: browsers PUT client-side room recordings to s3rver (CORS for the platform's origins) ---
    await ensureClientUploadCors(aws.s3, config.recordings?.bucket ?? 'cpaas-recordings', [...new Set([baseUrl, `http://127.0.0.1:${new URL(baseUrl).port}`, `http://localhost:${new URL(baseUrl).port}`])])
      .catch((err: unknown) => o.log.warn({ err }, 'could not set CORS on the recordings bucket (client-side recording uploads will fail)'));
    // --- end media-services ---

    // --- SIP side (owned by the SBC engineer): rtpengine when installed, SIP engine, media agent, SBC. ---
    if (sipOn) {
      const rtp = o.sip?.rtpengine;
      // --- voicemail (docs/voicemail.md): the sink the SBC's call flow deposits into (S3 + metadata, voicemail:new via
      // signalling's /internal/voicemail/events, SES mail, voicemail.received webhook) ---
      const voicemailWebhooks = new WebhookSender({ log: o.log });
      stops.push(async () => voicemailWebhooks.close());
      const voicemail = createVoicemailSink({
        doc: aws.doc, tableName: config.tableName, s3: aws.s3, bucket: config.recordings?.bucket ?? 'cpaas-recordings', log: o.log,
        cacheDir: join(o.dataDir, 'voicemail', 'greetings'),
        signalling: { url: baseUrl.replace('//0.0.0.0:', '//127.0.0.1:'), secret: secrets.gatewaySecret },
        mailer: new SesMailer(aws.ses, config.mail), webhooks: voicemailWebhooks,
        defaultEnabled: false, // opt-in: PUT /v1/voicemail/mailboxes/{kind}/{id} { enabled: true }
      });
      components.push({ name: 'voicemail', running: true, detail: `messages in s3 bucket ${config.recordings?.bucket ?? 'cpaas-recordings'} (voicemail/), inbox at ${baseUrl}/demo/voicemail.html` });
      // --- end voicemail ---
      const sipSide = await startLocalSipSide({
        doc: aws.doc, tableName: config.tableName, log: o.log,
        ...(o.sip?.host ? { sip: { host: o.sip.host, port: o.sip.port ?? 5060 } } : {}),
        ...(rtp ? { rtpengine: { ...rtp, host: rtp.host ?? sipHost } } : {}),
        control,
        gateway: { secret: secrets.gatewaySecret, signallingUrl: baseUrl.replace('//0.0.0.0:', '//127.0.0.1:') },
        recordings: { dir: join(o.dataDir, 'recordings'), s3: aws.s3, bucket: config.recordings?.bucket ?? 'cpaas-recordings', tenants: o.sip?.recordTenants ?? [], ...(o.sip?.announceTenants ? { announceTenants: o.sip.announceTenants } : {}) }, // consent: announceTenants
        voicemail, // voicemail (docs/voicemail.md): the sink above
        ...(o.sip?.voiceRtp ? { voiceRtp: o.sip.voiceRtp } : {}), // aws-wiring
      });
      stops.push(() => sipSide.stop());
      components.push(...sipSide.components);
    }
    // --- end SIP side ---
    const sdkBuilt = existsSync(join(o.rootDir, 'assets', 'sdk', 'dist'));
    components.push({ name: 'REST API + signalling', running: true, detail: `${baseUrl}/docs (API docs), ${baseUrl}/metrics` });
    components.push({ name: 'SDK and demo', running: sdkBuilt, detail: sdkBuilt ? `${baseUrl}/demo/ and ${baseUrl}/sdk/` : 'SDK not built', ...(sdkBuilt ? {} : { fix: 'npm run build:sdk' }) });

    return { baseUrl, secrets, secretsCreated: created, components, app, standIns, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
