/**
 * A real signalling process (REST + socket.io) on an ephemeral loopback port, over the real embedded
 * stand-ins (dynalite, s3rver, SES local). Used by integration and end-to-end tests.
 */
import { randomBytes } from 'node:crypto';
import { createAwsClients, type AwsClients } from '../../runtime/core/aws/clients.js';
import { ensureTable } from '../../runtime/core/storage/table.js';
import { createLogger, silentLogger, type Logger } from '../../runtime/core/logging.js';
import { systemClock, type Clock } from '../../runtime/core/clock.js';
import { SesMailer } from '../../runtime/core/mail.js';
import { startStandIns, type StandIns } from '../../runtime/local/stand-ins.js';
import { localSignallingConfig } from '../../runtime/local/platform-config.js';
import { createServices, type Services } from '../../runtime/signalling/services.js';
import { buildSignallingApp, type SignallingApp, type SignallingAppOptions } from '../../runtime/signalling/app.js';
import type { SignallingConfig } from '../../runtime/signalling/config.js';
import type { Grants } from '../../runtime/core/protocol/common.js';
import { createRedisAdapter } from '../../runtime/signalling/redis.js';

export interface TestPlatformOptions {
  turnUrls?: string[];
  turnSecret?: string;
  /** Deep-merged into the signalling config (e.g. { limits: { socketEventsPerSecond: 5 } }). */
  overrides?: Record<string, unknown>;
  clock?: Clock;
  log?: Logger | boolean;
  staticDir?: string;
  redisUrl?: string;
  appOptions?: SignallingAppOptions;
  /** Share stand-ins with another platform instance (multi-instance tests). */
  standIns?: StandIns;
  /** Share secrets with another instance (a cluster: tokens minted by one verify on all). */
  secrets?: { adminKey: string; jwtSigningKey: string; turnSecret: string };
  port?: number;
}

export interface TestPlatform {
  baseUrl: string;
  port: number;
  adminKey: string;
  secrets: { adminKey: string; jwtSigningKey: string; turnSecret: string };
  standIns: StandIns;
  config: SignallingConfig;
  services: Services;
  app: SignallingApp;
  aws: AwsClients;
  createTenant(name?: string): Promise<{ tenantId: string; apiKey: string }>;
  mintToken(tenantId: string, identity: string, grants?: Partial<Grants>, opts?: { ttlSeconds?: number; displayName?: string }): Promise<string>;
  /** fetch() against the platform with an Authorization header. */
  api(path: string, init?: RequestInit & { key?: string; json?: unknown }): Promise<Response>;
  /** Stops and starts the signalling process on the same port, keeping the data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  stopApp(): Promise<void>;
  startApp(): Promise<void>;
}

const secret = () => randomBytes(24).toString('base64url');

export async function startTestPlatform(opts: TestPlatformOptions = {}): Promise<TestPlatform> {
  const ownStandIns = !opts.standIns;
  const standIns = opts.standIns ?? (await startStandIns({ buckets: ['cpaas-recordings'] }));
  const secrets = opts.secrets ?? { adminKey: secret(), jwtSigningKey: secret(), turnSecret: opts.turnSecret ?? secret() };
  const log = opts.log === true ? createLogger({ service: 'signalling', level: 'debug' }) : opts.log ? opts.log : silentLogger;
  let port = opts.port ?? 0;
  const config = (p: number) =>
    localSignallingConfig({
      endpoints: standIns.endpoints,
      secrets,
      port: p,
      ...(opts.turnUrls ? { turnUrls: opts.turnUrls } : {}),
      ...(opts.staticDir ? { staticDir: opts.staticDir } : {}),
      ...(opts.redisUrl ? { redisUrl: opts.redisUrl } : {}),
      ...(opts.overrides ? { overrides: opts.overrides } : {}),
    });
  const aws = createAwsClients(config(port).aws);
  await ensureTable(aws.ddb, config(port).tableName);

  let app: SignallingApp | undefined;
  let services!: Services;
  const platform = {} as TestPlatform;

  let redis: Awaited<ReturnType<typeof createRedisAdapter>> | undefined;
  async function startApp(): Promise<void> {
    const cfg = config(port);
    services = createServices({ config: cfg, log, clock: opts.clock ?? systemClock, doc: aws.doc, secrets, mailer: new SesMailer(aws.ses, cfg.mail) });
    if (cfg.redisUrl) redis = await createRedisAdapter(cfg.redisUrl, log);
    app = await buildSignallingApp(services, { ...(opts.appOptions ?? {}), ...(redis ? { adapter: redis.adapter } : {}) });
    const url = await app.listen('127.0.0.1', port);
    port = Number(new URL(url).port);
    Object.assign(platform, { baseUrl: url, port, config: cfg, services, app });
  }
  async function stopApp(): Promise<void> {
    await app?.close();
    app = undefined;
    await redis?.close();
    redis = undefined;
  }

  Object.assign(platform, {
    adminKey: secrets.adminKey,
    secrets,
    standIns,
    aws,
    async createTenant(name = 'test tenant') {
      const t = await services.tenants.create({ name });
      const key = await services.apiKeys.create(t.id, 'test');
      return { tenantId: t.id, apiKey: key.token };
    },
    async mintToken(tenantId: string, identity: string, grants: Partial<Grants> = { rooms: ['*'] }, o: { ttlSeconds?: number; displayName?: string } = {}) {
      const out = await services.tokens.mint({ tenantId, identity, grants, ...o });
      return out.token;
    },
    async api(path: string, init: RequestInit & { key?: string; json?: unknown } = {}) {
      const headers = new Headers(init.headers);
      if (init.key) headers.set('authorization', `Bearer ${init.key}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      return fetch(`${platform.baseUrl}${path}`, { ...init, headers, ...(body !== undefined ? { body } : {}) });
    },
    async restart() {
      await stopApp();
      await startApp();
    },
    stopApp,
    startApp,
    async stop() {
      await stopApp();
      aws.destroy();
      if (ownStandIns) await standIns.close();
    },
  });
  await startApp();
  return platform;
}
