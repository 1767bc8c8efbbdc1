import { Type } from 'typebox';
import { AppError } from '../../../core/errors.js';
import { ApiKey, CreateApiKeyRequest, CreatedApiKey, CreateTenantRequest, Page, PageQuery, Tenant } from '../../../core/protocol/http.js';
import { Id } from '../../../core/protocol/common.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { tenantOf } from '../auth.js';
import { idempotent } from '../idempotency.js';
import { errorResponses } from '../server.js';

const TenantParams = Type.Object({ tenantId: Id });
const KeyId = Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z0-9][a-z0-9-]*\\.[0-9a-z]+$', description: 'API key id `<tenantId>.<16 chars>`' });
const TenantKeyParams = Type.Object({ tenantId: Id, keyId: KeyId });
const OwnKeyParams = Type.Object({ keyId: KeyId });

/** The create response adds the webhook signing secret, shown only here. */
const CreatedTenant = Type.Intersect([
  Tenant,
  Type.Object({ webhookSecret: Type.String({ description: 'Signs webhook deliveries (HMAC-SHA256). Shown once.' }) }),
]);

/** Admin routes take only the admin key as a Bearer token. */
const adminOnly = [{ bearer: [] }];

const conflict = { 409: { $ref: 'ErrorBody#' }, 422: { $ref: 'ErrorBody#' } } as const;

/**
 * Tenants and API keys. Admin routes (`/v1/tenants…`) need the admin key; the tenant self-service
 * routes (`/v1/keys…`) act on the calling tenant's own keys only.
 */
export async function tenantRoutes(app: Http, services: Services): Promise<void> {
  const requireTenant = async (tenantId: string) => {
    const t = await services.tenants.get(tenantId);
    if (!t) throw new AppError('TENANT_NOT_FOUND', `tenant ${tenantId} not found`);
    return t;
  };

  // ---- admin: tenants ----------------------------------------------------------------------------

  app.post(
    '/v1/tenants',
    {
      config: { auth: 'admin' },
      schema: {
        security: adminOnly,
        tags: ['tenants'],
        summary: 'Create a tenant (admin)',
        description: 'Supports `Idempotency-Key`. The id is generated unless given; a taken id is 409 CONFLICT.',
        body: CreateTenantRequest,
        response: { 201: CreatedTenant, ...errorResponses, ...conflict },
      },
    },
    async (req, reply) => idempotent(services, req, reply, 201, () => services.tenants.create(req.body)),
  );

  app.get(
    '/v1/tenants',
    {
      config: { auth: 'admin' },
      schema: { security: adminOnly, tags: ['tenants'], summary: 'List tenants, oldest first (admin)', querystring: PageQuery, response: { 200: Page(Tenant, 'tenants'), ...errorResponses } },
    },
    async (req) => services.tenants.list(req.query.limit, req.query.cursor),
  );

  app.get(
    '/v1/tenants/:tenantId',
    { config: { auth: 'admin' }, schema: { security: adminOnly, tags: ['tenants'], summary: 'Get a tenant (admin)', params: TenantParams, response: { 200: Tenant, ...errorResponses } } },
    async (req) => requireTenant(req.params.tenantId),
  );

  app.delete(
    '/v1/tenants/:tenantId',
    {
      config: { auth: 'admin' },
      schema: {
        security: adminOnly,
        tags: ['tenants'],
        summary: 'Disable a tenant (admin)',
        description: 'Sets status `disabled`: every key of the tenant is rejected from then on (403 NOT_AUTHORIZED). Data is kept.',
        params: TenantParams,
        response: { 200: Tenant, ...errorResponses },
      },
    },
    async (req) => services.tenants.setStatus(req.params.tenantId, 'disabled'),
  );

  // ---- admin: a tenant's keys --------------------------------------------------------------------

  app.post(
    '/v1/tenants/:tenantId/keys',
    {
      config: { auth: 'admin' },
      schema: {
        security: adminOnly,
        tags: ['keys'],
        summary: "Create an API key for a tenant (admin)",
        description: 'Supports `Idempotency-Key`. The secret is returned only in this response.',
        params: TenantParams,
        body: CreateApiKeyRequest,
        response: { 201: CreatedApiKey, ...errorResponses, ...conflict },
      },
    },
    async (req, reply) =>
      idempotent(services, req, reply, 201, async () => {
        await requireTenant(req.params.tenantId);
        return services.apiKeys.create(req.params.tenantId, req.body.name);
      }),
  );

  app.get(
    '/v1/tenants/:tenantId/keys',
    {
      config: { auth: 'admin' },
      schema: { security: adminOnly, tags: ['keys'], summary: "List a tenant's API keys (admin)", params: TenantParams, querystring: PageQuery, response: { 200: Page(ApiKey, 'API keys'), ...errorResponses } },
    },
    async (req) => {
      await requireTenant(req.params.tenantId);
      return services.apiKeys.list(req.params.tenantId, req.query.limit, req.query.cursor);
    },
  );

  app.delete(
    '/v1/tenants/:tenantId/keys/:keyId',
    {
      config: { auth: 'admin' },
      schema: { security: adminOnly, tags: ['keys'], summary: "Revoke a tenant's API key (admin)", params: TenantKeyParams, response: { 200: ApiKey, ...errorResponses } },
    },
    async (req) => services.apiKeys.revoke(req.params.tenantId, req.params.keyId),
  );

  // ---- tenant self-service -----------------------------------------------------------------------

  app.post(
    '/v1/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'Create an API key for the calling tenant',
        description: 'Supports `Idempotency-Key`. The secret is returned only in this response.',
        body: CreateApiKeyRequest,
        response: { 201: CreatedApiKey, ...errorResponses, ...conflict },
      },
    },
    async (req, reply) => idempotent(services, req, reply, 201, () => services.apiKeys.create(tenantOf(req), req.body.name)),
  );

  app.get(
    '/v1/keys',
    { schema: { tags: ['keys'], summary: "List the calling tenant's API keys", querystring: PageQuery, response: { 200: Page(ApiKey, 'API keys'), ...errorResponses } } },
    async (req) => services.apiKeys.list(tenantOf(req), req.query.limit, req.query.cursor),
  );

  app.delete(
    '/v1/keys/:keyId',
    {
      schema: {
        tags: ['keys'],
        summary: 'Revoke one of the calling tenant\'s API keys',
        description: "Another tenant's key id is 404 NOT_FOUND. Revoking the key used for this request is allowed.",
        params: OwnKeyParams,
        response: { 200: ApiKey, ...errorResponses },
      },
    },
    async (req) => services.apiKeys.revoke(tenantOf(req), req.params.keyId),
  );
}
