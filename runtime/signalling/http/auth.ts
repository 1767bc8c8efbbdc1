import type { FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.js';
import { parseAuthorization, safeEqual, splitApiKey } from '../../core/auth/api-keys.js';
import type { Services } from '../services.js';
import type { Principal } from './types.js';

/** Resolves the caller from `Authorization` (Bearer admin key, Bearer `<keyId>.<secret>`, or Basic). */
export async function authenticate(services: Services, header: string | undefined): Promise<Principal> {
  const creds = parseAuthorization(header);
  if (!creds) throw AppError.unauthenticated('missing Authorization header (Bearer <api key> or Basic <id:secret>)');
  if (creds.kind === 'bearer' && safeEqual(creds.value, services.secrets.adminKey)) return { kind: 'admin' };
  const parts = splitApiKey(creds);
  if (!parts) throw AppError.unauthenticated('invalid API key');
  const ok = await services.apiKeys.verify(parts.tenantId, parts.keyId, parts.secret);
  if (!ok) throw AppError.unauthenticated('invalid API key');
  const tenant = await services.tenants.getCached(parts.tenantId);
  if (!tenant || tenant.status !== 'active') throw AppError.forbidden('tenant is disabled');
  return { kind: 'tenant', tenantId: parts.tenantId, keyId: parts.keyId };
}

/** The tenant of a tenant-authenticated request (routes with `auth: 'tenant'`). */
export function tenantOf(req: FastifyRequest): string {
  const p = req.principal;
  if (!p || p.kind !== 'tenant') throw AppError.forbidden('this route needs a tenant API key');
  return p.tenantId;
}
