import type { FastifyInstance, FastifyBaseLogger, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Services } from '../services.js';

export type Http = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/** Who is calling: the platform admin, or a tenant through one of its API keys. */
export type Principal = { kind: 'admin' } | { kind: 'tenant'; tenantId: string; keyId: string };

/** Route-level auth requirement, set with `config: { auth: ... }` on each route. */
export type AuthRequirement = 'admin' | 'tenant' | 'public';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    auth?: AuthRequirement;
  }
}

export interface RouteOptions {
  services: Services;
}
