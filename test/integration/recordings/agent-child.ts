/**
 * The recording pipeline as its own process, so the durability test can SIGKILL it mid-upload.
 * argv[2]: JSON { recordingDir, spoolDir, endpoints, tableName, bucket, nodeId, concurrency, retryMaxMs }.
 * Prints `READY` once started.
 */
import { createAwsClients } from '../../../runtime/core/aws/clients.js';
import { createLogger } from '../../../runtime/core/logging.js';
import { systemClock } from '../../../runtime/core/clock.js';
import { Db } from '../../../runtime/core/storage/db.js';
import { RecordingRepository } from '../../../runtime/core/storage/recordings.js';
import { TenantRepository } from '../../../runtime/core/storage/tenants.js';
import { WebhookSender } from '../../../runtime/core/webhooks.js';
import { RecordingPipeline } from '../../../runtime/media-agent/recordings/pipeline.js';

const cfg = JSON.parse(process.argv[2]!) as {
  recordingDir: string;
  spoolDir: string;
  endpoints: { dynamodb: string; s3: string; ses: string };
  tableName: string;
  bucket: string;
  nodeId: string;
  concurrency: number;
  retryMaxMs: number;
};
const log = createLogger({ service: 'media-agent', level: (process.env.REC_TEST_LOG as 'debug' | undefined) ?? 'warn', pretty: false });
const aws = createAwsClients({ region: 'us-east-1', endpoints: cfg.endpoints, localCredentials: true });
const db = new Db(aws.doc, cfg.tableName, systemClock);
const webhooks = new WebhookSender({ log, backoff: { baseMs: 50, maxMs: 500 }, maxAttempts: 5, attemptTimeoutMs: 2_000 });
const pipeline = new RecordingPipeline({
  recordingDir: cfg.recordingDir,
  spoolDir: cfg.spoolDir,
  s3: aws.s3,
  bucket: cfg.bucket,
  recordings: new RecordingRepository(db),
  tenants: new TenantRepository(db),
  webhooks,
  log,
  nodeId: cfg.nodeId,
  concurrency: cfg.concurrency,
  scanIntervalMs: 200,
  retry: { baseMs: 100, maxMs: cfg.retryMaxMs },
});
await pipeline.start();
process.stdout.write('READY\n');
process.on('SIGTERM', () => {
  void pipeline.stop().then(() => {
    webhooks.close();
    aws.destroy();
    process.exit(0);
  });
});
