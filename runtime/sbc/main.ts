/**
 * Composition root of the SBC process (one per SBC instance, beside drachtio-server). The only file of this
 * process that reads the environment: CPAAS_CONFIG (default /etc/cpaas/sbc.json) and CPAAS_LOG_LEVEL.
 */
import { hostname } from 'node:os';
import closeWithGrace from 'close-with-grace';
import { loadConfig } from '../core/config/load.js';
import { createLogger } from '../core/logging.js';
import { createAwsClients, resolveSecret } from '../core/aws/clients.js';
import { systemClock } from '../core/clock.js';
import { SbcConfig } from './config.js';
import { buildSbcApp, connectSrf, sipHostFromHostports } from './app.js';
import { createSipRepository } from './repository.js';
import { sbcEmf } from './control/metrics.js';
import { MediaLibrary } from '../core/storage/media-library.js'; // media-services
import { securityDeps } from './security/wiring.js'; // security (docs/security.md)
import { createSbcMetrics } from './control/metrics.js'; // security
// --- aws-wiring (docs/deploy.md § Programmable voice on AWS) ---
import { join } from 'node:path';
import { SesMailer } from '../core/mail.js';
import { WebhookSender } from '../core/webhooks.js';
import { createVoicemailSink } from '../core/voicemail/sink.js';
import { buildVoiceFeatures, resolveRtpHost } from './features.js';
// --- end aws-wiring ---
// --- sbc-cluster (docs/sbc.md § Several SBC instances) ---
import { Db } from '../core/storage/db.js';
import { CallOwnerRepository } from '../core/storage/call-owners.js';
import { CallOwnership, resolveAdvertiseUrl } from './ownership.js';
// --- end sbc-cluster ---

const config = loadConfig(SbcConfig, {
  file: process.env.CPAAS_CONFIG ?? '/etc/cpaas/sbc.json',
  required: true,
  overrides: { ...(process.env.CPAAS_LOG_LEVEL ? { logLevel: process.env.CPAAS_LOG_LEVEL } : {}) },
});
const log = createLogger({ service: 'sbc', level: config.logLevel, pretty: process.stdout.isTTY });
const aws = createAwsClients(config.aws);
const secret = await resolveSecret(aws.secrets, config.drachtio.secret, 'drachtio.secret');
const { srf, hostports } = await connectSrf({ host: config.drachtio.host, port: config.drachtio.port, secret, log });
const sipPort = config.sip?.port ?? 5060;
const localHost = config.sip?.publicIps[0] ? `${config.sip.publicIps[0]}:${sipPort}` : sipHostFromHostports(hostports);
// --- gateway (docs/gateway.md) ---
const gateway = config.gateway
  ? { ...config.gateway, secret: await resolveSecret(aws.secrets, config.gateway.secret, 'gateway.secret') }
  : undefined;
// --- end gateway ---
// --- security (docs/security.md): tenant lists, shared bans, security.alert webhooks, interception, capture ---
const sbcMetrics = createSbcMetrics();
const sec = securityDeps({
  security: config.security, doc: aws.doc, tableName: config.tableName, clock: systemClock, log, metrics: sbcMetrics.registry,
  tenantByDomain: (d) => createSipRepository({ doc: aws.doc, tableName: config.tableName, clock: systemClock }).tenantByDomain(d),
  ...(config.security.lawfulInterception ? { liSecret: await resolveSecret(aws.secrets, config.security.lawfulInterception.secret, 'security.lawfulInterception.secret') } : {}),
});
// --- end security ---
// --- aws-wiring: programmable voice (engine, applications, status callbacks, conferences, voicemail, `record` → recordings) ---
const instanceId = config.instanceId ?? hostname();
const voiceStorage = config.voiceStorage ?? { recordDir: '/var/spool/cpaas/voice', uploadRecordings: true, voicemail: true, greetingCacheDir: '/var/cache/cpaas/voicemail' };
const storage = config.recordingsBucket ? { s3: aws.s3, bucket: config.recordingsBucket } : undefined;
const voicemailWebhooks = config.voice && storage && voiceStorage.voicemail ? new WebhookSender({ log: log.child({ component: 'voicemail' }) }) : undefined;
const voicemail = voicemailWebhooks && storage
  ? createVoicemailSink({
      doc: aws.doc, tableName: config.tableName, ...storage, log, cacheDir: voiceStorage.greetingCacheDir, webhooks: voicemailWebhooks,
      // voicemail:new to the owner's browsers through signalling's /internal/voicemail/events (gateway secret)
      ...(gateway ? { signalling: { url: gateway.signallingUrl, secret: gateway.secret } } : {}),
      ...(voiceStorage.mail ? { mailer: new SesMailer(aws.ses, voiceStorage.mail) } : {}),
      defaultEnabled: false, // opt-in per mailbox, as GET /v1/voicemail/mailboxes/{kind}/{id} reports
    })
  : undefined;
const features = config.voice
  ? buildVoiceFeatures({
      doc: aws.doc, tableName: config.tableName, clock: systemClock, log, nodeId: instanceId,
      rtp: { host: resolveRtpHost(config.voice.rtpHost, sipHostFromHostports(hostports)), minPort: config.voice.rtpMinPort, maxPort: config.voice.rtpMaxPort },
      hooks: { timeoutMs: config.voice.hookTimeoutMs, blockPrivateUrls: !config.voice.allowPrivateHookUrls },
      recordDir: join(voiceStorage.recordDir, 'record'),
      uploadRecordings: voiceStorage.uploadRecordings,
      ...(storage ? { storage } : {}),
      ...(voicemail ? { voicemail } : {}),
      ...(voiceStorage.webhookFallbackUrl ? { webhookFallbackUrl: voiceStorage.webhookFallbackUrl } : {}),
    })
  : undefined;
if (features) log.info({ rtp: features.voice.rtp, voicemail: !!voicemail, uploadRecordings: !!features.voice.recordings }, 'programmable voice on');
// --- end aws-wiring ---
// --- sbc-cluster: live calls registered with this instance's private control URL; others' calls forwarded ---
const ownership = config.control.advertiseUrl
  ? new CallOwnership({
      repo: new CallOwnerRepository(new Db(aws.doc, config.tableName, systemClock)), instanceId, log: log.child({ component: 'ownership' }),
      controlUrl: resolveAdvertiseUrl(config.control.advertiseUrl, config.control.port, resolveRtpHost('auto', sipHostFromHostports(hostports))),
    })
  : undefined;
if (ownership) log.info({ controlUrl: ownership.controlUrl }, 'call ownership registry on (several SBC instances)');
// --- end sbc-cluster ---
const app = await buildSbcApp({
  config: { ...config, instanceId },
  srf,
  localHost,
  repo: createSipRepository({ doc: aws.doc, tableName: config.tableName, clock: systemClock }),
  log,
  clock: systemClock,
  // Nonces must verify on every SBC instance: derive them from the shared drachtio secret.
  nonceSecret: `nonce:${secret}`,
  ...(gateway ? { gateway } : {}), // gateway (docs/gateway.md)
  // --- security (docs/security.md) ---
  metrics: sbcMetrics,
  ...sec.deps,
  ...(sec.deps.capture && gateway ? { capture: { ...sec.deps.capture, secret: gateway.secret } } : {}),
  // --- end security ---
  // --- media-services (docs/recordings.md) ---
  ...(config.recording ? { recording: config.recording } : {}),
  mediaServices: {
    ...(config.mediaServices ?? {}),
    ...(config.recordingsBucket ? { library: new MediaLibrary(aws.s3, config.recordingsBucket) } : {}),
  },
  // --- end media-services ---
  ...(features ? { voice: features.voice, conferences: features.conferences } : {}), // aws-wiring
  ...(ownership ? { ownership } : {}), // sbc-cluster
});

const emfPrev = { started: 0, failed: 0 };
const emf = config.emfIntervalSeconds > 0
  ? setInterval(() => {
      for (const line of sbcEmf(app.metrics, Date.now(), emfPrev)) process.stdout.write(`${line}\n`);
    }, config.emfIntervalSeconds * 1000)
  : undefined;

closeWithGrace({ delay: 15_000 }, async ({ err, signal }) => {
  if (err) log.error({ err }, 'shutting down after an error');
  else log.info({ signal }, 'shutting down');
  if (emf) clearInterval(emf);
  await app.close();
  ownership?.close(); // sbc-cluster
  sec.close(); // security
  features?.close(); // aws-wiring
  voicemailWebhooks?.close(); // aws-wiring
  srf.disconnect();
  aws.destroy();
});
