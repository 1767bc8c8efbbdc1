/**
 * Composition root of the signalling + REST process (one per instance on AWS). The only file of this
 * process that reads the environment: CPAAS_CONFIG (path of the JSON config, default
 * /etc/cpaas/signalling.json) and CPAAS_LOG_LEVEL.
 */
import closeWithGrace from 'close-with-grace';
import { loadConfig } from '../core/config/load.js';
import { createLogger } from '../core/logging.js';
import { createAwsClients, resolveSecret } from '../core/aws/clients.js';
import { systemClock } from '../core/clock.js';
import { SesMailer } from '../core/mail.js';
import { SignallingConfig } from './config.js';
import { createServices } from './services.js';
import { buildSignallingApp } from './app.js';
import { createRedisAdapter } from './redis.js';

const config = loadConfig(SignallingConfig, {
  file: process.env.CPAAS_CONFIG ?? '/etc/cpaas/signalling.json',
  required: true,
  overrides: { ...(process.env.CPAAS_LOG_LEVEL ? { logLevel: process.env.CPAAS_LOG_LEVEL } : {}) },
});
const log = createLogger({ service: 'signalling', level: config.logLevel, pretty: process.stdout.isTTY });
const aws = createAwsClients(config.aws);
const [adminKey, jwtSigningKey, turnSecret, originSecret, gatewaySecret] = await Promise.all([
  resolveSecret(aws.secrets, config.secrets.adminKey, 'adminKey'),
  resolveSecret(aws.secrets, config.secrets.jwtSigningKey, 'jwtSigningKey'),
  resolveSecret(aws.secrets, config.secrets.turnSecret, 'turnSecret'),
  config.http.originSecretHeader ? resolveSecret(aws.secrets, config.http.originSecretHeader.secret, 'originSecret') : Promise.resolve(undefined),
  config.gateway ? resolveSecret(aws.secrets, config.gateway.secret, 'gateway.secret') : Promise.resolve(undefined), // gateway (docs/gateway.md)
]);
const services = createServices({
  config,
  log,
  clock: systemClock,
  doc: aws.doc,
  secrets: { adminKey, jwtSigningKey, turnSecret, ...(originSecret ? { originSecret } : {}), ...(gatewaySecret ? { gatewaySecret } : {}) },
  mailer: new SesMailer(aws.ses, config.mail),
  s3: aws.s3, // recordings (docs/recordings.md)
});
const redis = config.redisUrl ? await createRedisAdapter(config.redisUrl, log) : undefined;
const app = await buildSignallingApp(services, {
  ...(redis ? { adapter: redis.adapter } : {}),
  publicConfig: () => ({ apiBaseUrl: config.http.publicUrl ?? '', socketUrl: config.http.publicUrl ?? '' }),
});
await app.listen(config.http.host, config.http.port);

const emf = config.emfIntervalSeconds > 0
  ? setInterval(() => {
      for (const line of services.metrics.emf('CPaaS', 'signalling', Date.now())) process.stdout.write(`${line}\n`);
    }, config.emfIntervalSeconds * 1000)
  : undefined;

closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err) log.error({ err }, 'shutting down after an error');
  else log.info({ signal }, 'shutting down');
  if (emf) clearInterval(emf);
  await app.close();
  await redis?.close();
  aws.destroy();
});
