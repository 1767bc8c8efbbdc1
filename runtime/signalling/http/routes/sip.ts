import { Type } from 'typebox';
import { Page, PageQuery } from '../../../core/protocol/http.js';
import { CreateSipUserRequest, RegistrationDto, SetSipDomainRequest, SipDomain, SipUserDto, SipUsername } from '../../../core/protocol/sip.js';
import { AppError } from '../../../core/errors.js';
import { defaultSipDomain } from '../../../core/storage/sip.js';
import type { Registration, SipUser } from '../../../core/storage/sip-types.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { tenantOf } from '../auth.js';
import { idempotent } from '../idempotency.js';
import { errorResponses } from '../server.js';

const UserParams = Type.Object({ username: SipUsername });
const conflict = { 409: { $ref: 'ErrorBody#' } } as const;
export const NoContent = Type.Null({ description: 'No content' });

/** The public view of a SIP user: never the HA1. */
export const toSipUserDto = (u: SipUser): SipUserDto => ({
  username: u.username,
  domain: u.domain,
  ...(u.displayName !== undefined ? { displayName: u.displayName } : {}),
  ...(u.identity !== undefined ? { identity: u.identity } : {}),
  enabled: u.enabled,
  createdAt: u.createdAt,
});

const toRegistrationDto = (r: Registration) => ({
  contactId: r.contactId,
  contact: r.contact,
  source: r.source,
  expiresAt: new Date(r.expiresAt * 1000).toISOString(),
  ...(r.userAgent ? { userAgent: r.userAgent } : {}),
});

async function domainView(services: Services, tenantId: string): Promise<SipDomain> {
  const domain = await services.sip.tenantDomain(tenantId);
  return { domain, isDefault: domain === defaultSipDomain(tenantId), registrar: `sip:${domain}`, addressOfRecord: `sip:<username>@${domain}` };
}

/** SIP domain, SIP users and their live registrations. */
export async function sipRoutes(app: Http, services: Services): Promise<void> {
  app.get(
    '/v1/sip/domain',
    { schema: { tags: ['sip'], summary: "The tenant's SIP domain (digest realm) and registrar hint", response: { 200: SipDomain, ...errorResponses } } },
    async (req) => domainView(services, tenantOf(req)),
  );

  app.put(
    '/v1/sip/domain',
    {
      schema: {
        tags: ['sip'],
        summary: 'Use a custom SIP domain',
        description:
          'The domain is unique across tenants (409 CONFLICT when taken). SIP users\' and trunks\' inbound digest credentials are bound to the domain (it is the digest realm), ' +
          'so changing it while either exists is refused with 409 CONFLICT: delete and re-create them first.',
        body: SetSipDomainRequest,
        response: { 200: SipDomain, ...errorResponses, ...conflict },
      },
    },
    async (req) => {
      const tenantId = tenantOf(req);
      const wanted = req.body.domain.toLowerCase().replace(/\.$/, '');
      const current = await services.sip.tenantDomain(tenantId);
      if (wanted !== current && (await services.sip.listUsers(tenantId, 1)).items.length > 0) {
        throw new AppError('CONFLICT', 'SIP users exist: their credentials are bound to the current domain (the digest realm); delete them first', { field: 'body/domain' });
      }
      if (wanted !== current && (await services.sip.listTrunks(tenantId)).some((t) => t.inboundDigest)) {
        throw new AppError('CONFLICT', "trunks have inbound digest credentials bound to the current domain (the digest realm); remove them first", { field: 'body/domain' });
      }
      await services.sip.setTenantDomain(tenantId, wanted);
      return domainView(services, tenantId);
    },
  );

  app.post(
    '/v1/sip/users',
    {
      schema: {
        tags: ['sip'],
        summary: 'Create a SIP user',
        description:
          'Supports `Idempotency-Key`. The password is stored only as the digest HA1 (realm = the SIP domain) and never returned. ' +
          '409 `SIP_USERNAME_IS_SIP_ADDRESS` when the name is a SIP address of a voice application (`sipAddresses`).', // voice-sip-address
        body: CreateSipUserRequest,
        response: { 201: SipUserDto, ...errorResponses, ...conflict, 422: { $ref: 'ErrorBody#' } },
      },
    },
    async (req, reply) =>
      idempotent(services, req, reply, 201, async () => {
        const tenantId = tenantOf(req);
        const b = req.body;
        const user = await services.sip.createUser({
          tenantId,
          username: b.username,
          domain: await services.sip.tenantDomain(tenantId),
          password: b.password,
          enabled: b.enabled ?? true,
          ...(b.displayName !== undefined ? { displayName: b.displayName } : {}),
          ...(b.identity !== undefined ? { identity: b.identity } : {}),
        });
        return toSipUserDto(user);
      }),
  );

  app.get(
    '/v1/sip/users',
    { schema: { tags: ['sip'], summary: 'List SIP users, by username', querystring: PageQuery, response: { 200: Page(SipUserDto, 'SIP users'), ...errorResponses } } },
    async (req) => {
      const page = await services.sip.listUsers(tenantOf(req), req.query.limit, req.query.cursor);
      return { ...page, items: page.items.map(toSipUserDto) };
    },
  );

  app.get(
    '/v1/sip/users/:username',
    { schema: { tags: ['sip'], summary: 'Get a SIP user', params: UserParams, response: { 200: SipUserDto, ...errorResponses } } },
    async (req) => toSipUserDto(await requireUser(services, tenantOf(req), req.params.username)),
  );

  app.delete(
    '/v1/sip/users/:username',
    { schema: { tags: ['sip'], summary: 'Delete a SIP user and its registrations', params: UserParams, response: { 204: NoContent, ...errorResponses } } },
    async (req, reply) => {
      const tenantId = tenantOf(req);
      await requireUser(services, tenantId, req.params.username);
      await services.sip.deleteUser(tenantId, req.params.username);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/sip/users/:username/registrations',
    {
      schema: {
        tags: ['sip'],
        summary: 'Live registrations (bindings) of a SIP user',
        params: UserParams,
        response: { 200: Type.Object({ items: Type.Array(RegistrationDto) }, { description: 'All live bindings (not paginated)' }), ...errorResponses },
      },
    },
    async (req) => {
      const tenantId = tenantOf(req);
      await requireUser(services, tenantId, req.params.username);
      return { items: (await services.sip.registrations(tenantId, req.params.username)).map(toRegistrationDto) };
    },
  );
}

async function requireUser(services: Services, tenantId: string, username: string): Promise<SipUser> {
  const user = await services.sip.getUser(tenantId, username);
  if (!user) throw AppError.notFound('SIP user', username);
  return user;
}
