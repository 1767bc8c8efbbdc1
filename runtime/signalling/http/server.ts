import Fastify, { LogController } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import addFormats from 'ajv-formats';
import { AjvCompiler } from '@fastify/ajv-compiler';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../core/errors.js';
import { safeEqual } from '../../core/auth/api-keys.js';
import { ErrorBody } from '../../core/protocol/common.js';
import type { Services } from '../services.js';
import { authenticate } from './auth.js';
import { httpErrorHandler } from './errors.js';
import type { Http } from './types.js';
import { routes } from './routes/index.js';

export const API_VERSION = '1.0.0';

export interface HttpOptions {
  /** Extra plugins registered after the API (e.g. the local-only token helper of `npm start`). */
  extraRoutes?: Array<(app: Http, services: Services) => Promise<void> | void>;
  /** Public config served as /config.json (and /demo/config.json) for the SDK and demo pages. */
  publicConfig?: () => Record<string, unknown>;
}

export async function buildHttp(services: Services, opts: HttpOptions = {}): Promise<Http> {
  const { config } = services;
  const app = Fastify({
    loggerInstance: services.log.child({ component: 'http' }),
    // One log line per request would exceed the logging rubric at load; errors are logged by the handler.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.http.trustProxy,
    bodyLimit: 256 * 1024,
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 72_000,
    return503OnClosing: true,
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
      plugins: [(addFormats as unknown as { default?: unknown }).default ?? addFormats] as never[],
    },
    // Query strings and path params arrive as strings and are coerced ("25" → 25); JSON bodies are typed
    // already and must not be: coercion inside a union (metadata values) would turn 1 into "1".
    schemaController: {
      compilersFactory: {
        buildValidator: (externalSchemas, ajvOptions) => {
          const coercing = AjvCompiler()(externalSchemas, ajvOptions as never);
          const exact = AjvCompiler()(externalSchemas, { ...ajvOptions, customOptions: { ...ajvOptions?.customOptions, coerceTypes: false } } as never);
          return (route) => (route.httpPart === 'body' ? exact : coercing)(route);
        },
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as Http;

  app.setErrorHandler(httpErrorHandler);

  const requests = services.metrics.counter('http_requests_total', 'HTTP requests by route and status class');
  const latency = services.metrics.histogram('http_request_duration_seconds', 'HTTP request latency');
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    requests.inc({ route, status: `${Math.floor(reply.statusCode / 100)}xx` });
    latency.observe(reply.elapsedTime / 1000, { route });
  });

  // Origin protection behind CloudFront: requests must carry the secret header (health checks excepted).
  const origin = config.http.originSecretHeader;
  if (origin && services.secrets.originSecret) {
    const name = origin.name.toLowerCase();
    const secret = services.secrets.originSecret;
    app.addHook('onRequest', async (req) => {
      // Health checks, and the SBC's private path (/internal/*: internal load balancer, checked with the gateway secret).
      if (req.url === '/healthz' || req.url === '/readyz' || req.url.startsWith('/internal/')) return;
      const got = req.headers[name];
      if (typeof got !== 'string' || !safeEqual(got, secret)) throw AppError.forbidden('requests must come through the CDN');
    });
  }

  // Authentication per route: `config.auth` = 'admin' | 'tenant' | 'public' (API routes default to tenant).
  app.addHook('onRequest', async (req) => {
    const need = req.routeOptions.config?.auth ?? (req.url.startsWith('/v1/') ? 'tenant' : 'public');
    if (need === 'public') return;
    const principal = await authenticate(services, req.headers.authorization);
    if (need === 'admin' && principal.kind !== 'admin') throw AppError.forbidden('this route needs the admin key');
    if (need === 'tenant' && principal.kind !== 'tenant') throw AppError.forbidden('this route needs a tenant API key');
    req.principal = principal;
  });

  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: config.limits.restRequestsPerMinutePerTenant,
    timeWindow: 60_000,
    keyGenerator: (req) => (req.principal?.kind === 'tenant' ? `t:${req.principal.tenantId}` : `ip:${req.ip}`),
    allowList: (req) => req.principal?.kind === 'admin' || req.url === '/healthz' || req.url === '/metrics',
    errorResponseBuilder: (_req, ctx) => new AppError('RATE_LIMITED', `rate limit exceeded, retry in ${Math.ceil(ctx.ttl / 1000)} s`, { retryable: true }),
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'CPaaS API', version: API_VERSION, description: 'REST API of the self-hosted CPaaS. Errors always have the ErrorBody shape.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Tenant API key `<keyId>.<secret>`, or the admin key' },
          basic: { type: 'http', scheme: 'basic', description: 'Tenant API key id and secret' },
        },
      },
      security: [{ bearer: [] }, { basic: [] }],
    },
    hideUntagged: true,
    // Components are named after their schema $id (Room, Tenant, ErrorBody…) instead of def-0, def-1…
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  app.addSchema(ErrorBody);
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: false } });

  for (const register of routes) await app.register(async (scope) => register(scope as Http, services));
  for (const register of opts.extraRoutes ?? []) await app.register(async (scope) => register(scope as Http, services));

  app.get('/openapi.json', { config: { auth: 'public' } }, async () => app.swagger());
  if (opts.publicConfig) {
    const cfg = opts.publicConfig;
    app.get('/config.json', { config: { auth: 'public' } }, async () => cfg());
    app.get('/demo/config.json', { config: { auth: 'public' } }, async () => cfg());
  }

  const staticDir = config.http.staticDir;
  if (staticDir) {
    const sdkDir = join(staticDir, 'sdk', 'dist');
    const demoDir = join(staticDir, 'demo');
    if (existsSync(sdkDir)) await app.register(fastifyStatic, { root: sdkDir, prefix: '/sdk/', decorateReply: false, maxAge: 300_000 });
    if (existsSync(demoDir)) await app.register(fastifyStatic, { root: demoDir, prefix: '/demo/', decorateReply: false, index: ['index.html'] });
    app.get('/', { config: { auth: 'public' } }, async (_req, reply) => reply.redirect('/demo/'));
  }

  app.setNotFoundHandler({ preHandler: app.rateLimit ? app.rateLimit() : undefined }, async (req) => {
    throw new AppError('ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`);
  });
  return app;
}

export const errorResponses = {
  400: { $ref: 'ErrorBody#' },
  401: { $ref: 'ErrorBody#' },
  403: { $ref: 'ErrorBody#' },
  404: { $ref: 'ErrorBody#' },
  429: { $ref: 'ErrorBody#' },
} as const;
