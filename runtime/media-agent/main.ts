/**
 * Composition root of the media agent (one per media node, beside rtpengine). The only file of this
 * process that reads the environment: CPAAS_CONFIG (default /etc/cpaas/media-agent.json), CPAAS_LOG_LEVEL.
 */
import { hostname, networkInterfaces } from 'node:os';
import closeWithGrace from 'close-with-grace';
import { loadConfig } from '../core/config/load.js';
import { createLogger } from '../core/logging.js';
import { createAwsClients, resolveSecret } from '../core/aws/clients.js';
import { systemClock } from '../core/clock.js';
import { createSipRepository } from '../sbc/repository.js';
import { RtpEngineNode } from '../sbc/media/rtpengine.js';
import { MediaAgentConfig } from './config.js';
import { startMediaAgent } from './agent.js';
import { Db } from '../core/storage/db.js'; // recordings (docs/recordings.md)
import { RecordingRepository } from '../core/storage/recordings.js'; // recordings
import { TenantRepository } from '../core/storage/tenants.js'; // recordings
import { MetricsRegistry } from '../core/metrics.js'; // recordings
import { WebhookSender } from '../core/webhooks.js'; // recordings
import { RecordingPipeline } from './recordings/pipeline.js'; // recordings
import { startMetricsServer } from './metrics-server.js';
import { MediaLibrary } from '../core/storage/media-library.js'; // play sources
import { startPlaySourceServer } from './play-sources.js'; // play sources

const config = loadConfig(MediaAgentConfig, {
  file: process.env.CPAAS_CONFIG ?? '/etc/cpaas/media-agent.json',
  required: true,
  overrides: { ...(process.env.CPAAS_LOG_LEVEL ? { logLevel: process.env.CPAAS_LOG_LEVEL } : {}) },
});
const log = createLogger({ service: 'media-agent', level: config.logLevel, pretty: process.stdout.isTTY });
const aws = createAwsClients(config.aws);

function privateIpv4(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
// 'auto': rtpengine listens on this host's private address (AWS media nodes, rtpengine-start.sh).
const ngHost = config.rtpengine.ngHost === '0.0.0.0' ? '127.0.0.1' : config.rtpengine.ngHost === 'auto' ? privateIpv4() : config.rtpengine.ngHost;
const advertiseHost = config.advertiseHost ?? (config.rtpengine.ngHost === '0.0.0.0' ? privateIpv4() : ngHost);
const nodeId = config.nodeId ?? hostname();

// --- play sources (docs/recordings.md § Playback on AWS): tones/URLs/library files resolved beside rtpengine ---
const playSources = config.playSources
  ? await startPlaySourceServer({
    host: config.playSources.host ?? advertiseHost,
    port: config.playSources.port,
    advertiseHost,
    secret: await resolveSecret(aws.secrets, config.playSources.secret, 'playSources.secret'),
    ttlSeconds: config.playSources.ttlSeconds,
    deps: {
      cacheDir: config.playSources.cacheDir,
      tmpDir: config.playSources.tmpDir,
      maxUrlBytes: config.playSources.maxUrlBytes,
      allowPrivateUrls: config.playSources.allowPrivateUrls,
      library: new MediaLibrary(aws.s3, config.recordingsBucket ?? config.recordings?.bucket ?? 'cpaas-recordings'),
    },
    log: log.child({ component: 'play-sources' }),
  })
  : undefined;
if (playSources) log.info({ url: playSources.url }, 'play-source endpoint listening');
// --- end play sources ---
const node = await RtpEngineNode.connect({ id: nodeId, target: { host: ngHost, port: config.rtpengine.ngPort }, timeoutMs: config.rtpengine.timeoutMs, log });
const agent = await startMediaAgent({
  node,
  repo: createSipRepository({ doc: aws.doc, tableName: config.tableName, clock: systemClock }),
  nodeId,
  advertise: { host: advertiseHost, port: config.rtpengine.ngPort },
  capacity: config.capacity,
  heartbeatSeconds: config.heartbeatSeconds,
  ...(playSources ? { playSourcesUrl: playSources.url } : {}), // play sources
  log,
});

const metrics = new MetricsRegistry(); // recordings + GET /metrics
// --- recordings (docs/recordings.md) ---
const recordings = await (async () => {
  const rc = config.recordings;
  if (!rc) return undefined;
  const db = new Db(aws.doc, config.tableName, systemClock);
  const webhooks = new WebhookSender({ log, metrics, maxAttempts: rc.webhookAttempts, attemptTimeoutMs: rc.webhookTimeoutMs });
  const pipeline = new RecordingPipeline({
    recordingDir: rc.dir,
    spoolDir: rc.spoolDir,
    s3: aws.s3,
    bucket: rc.bucket ?? config.recordingsBucket ?? 'cpaas-recordings',
    recordings: new RecordingRepository(db),
    tenants: new TenantRepository(db),
    webhooks,
    ...(rc.webhookFallbackUrl ? { webhookFallbackUrl: rc.webhookFallbackUrl } : {}),
    log,
    metrics,
    nodeId,
    mode: rc.mode,
    concurrency: rc.concurrency,
    scanIntervalMs: rc.scanIntervalMs,
    retry: { baseMs: rc.retryBaseMs, maxMs: rc.retryMaxMs },
    staleMultipartSeconds: rc.staleMultipartSeconds,
    partSizeBytes: rc.partSizeBytes,
    format: rc.format,
    opusBitrateKbps: rc.opusBitrateKbps,
  });
  await pipeline.start();
  log.info({ dir: rc.dir, spool: rc.spoolDir }, 'recording pipeline started');
  return { pipeline, webhooks };
})();
// --- end recordings ---
const metricsServer = config.metrics ? await startMetricsServer({ ...config.metrics, registry: metrics }) : undefined;
if (metricsServer) log.info({ metrics: metricsServer.address }, 'metrics endpoint listening');

closeWithGrace({ delay: 5_000 }, async ({ err, signal }) => {
  if (err) log.error({ err }, 'shutting down after an error');
  else log.info({ signal }, 'shutting down');
  await agent.stop();
  await metricsServer?.close();
  await playSources?.close(); // play sources
  await recordings?.pipeline.stop(); // recordings
  recordings?.webhooks.close(); // recordings
  node.close();
  aws.destroy();
});
