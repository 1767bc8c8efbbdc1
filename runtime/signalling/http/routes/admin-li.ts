/**
 * Lawful interception (docs/security.md § Lawful interception): admin key only; tenants never see these routes'
 * data (not keyed by tenant, not in any tenant response or CDR). Every change is audited (append-only items,
 * `GET /v1/admin/li/audit`) before it is applied.
 */
import { Type } from 'typebox';
import { AppError } from '../../../core/errors.js';
import { newId } from '../../../core/ids.js';
import { LiAuditDto, LiTargetBody, LiTargetDto } from '../../../core/protocol/security.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { errorResponses } from '../server.js';
import { NoContent } from './sip.js';

const adminOnly = [{ bearer: [] }];
const admin = { auth: 'admin' as const };
const TargetParams = Type.Object({ targetId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) });
const AuditQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }), cursor: Type.Optional(Type.String({ maxLength: 1024 })) });

function checkWindow(b: LiTargetBody): void {
  if (!(Date.parse(b.validUntil) > Date.parse(b.validFrom))) throw AppError.invalid('validUntil must be after validFrom', 'body/validUntil');
}

export async function adminLiRoutes(app: Http, services: Services): Promise<void> {
  const actor = (req: { principal?: { kind: string } }) => req.principal?.kind ?? 'admin';

  app.get('/v1/admin/li/targets', {
    config: admin,
    schema: { security: adminOnly, tags: ['lawful-interception'], summary: 'Interception targets (admin)', response: { 200: Type.Object({ items: Type.Array(LiTargetDto) }), ...errorResponses } },
  }, async () => ({ items: await services.li.list() }));

  app.post('/v1/admin/li/targets', {
    config: admin,
    schema: {
      security: adminOnly, tags: ['lawful-interception'], summary: 'Create an interception target (admin; audited)',
      description: 'Calls from or to the number / SIP URI within [validFrom, validUntil) get their media forked to `collection.media` (caller → port, callee → port + 2) and signed `li.call` events POSTed to `collection.eventsUrl`. The parties see nothing.',
      body: LiTargetBody, response: { 201: LiTargetDto, ...errorResponses },
    },
  }, async (req, reply) => {
    const b = req.body as LiTargetBody;
    checkWindow(b);
    const t = await services.li.put({ id: newId('lit', services.clock.now()), ...b }, actor(req));
    return reply.code(201).send(t);
  });

  app.get('/v1/admin/li/targets/:targetId', {
    config: admin,
    schema: { security: adminOnly, tags: ['lawful-interception'], summary: 'One interception target (admin)', params: TargetParams, response: { 200: LiTargetDto, ...errorResponses } },
  }, async (req) => {
    const { targetId } = req.params as { targetId: string };
    const t = await services.li.get(targetId);
    if (!t) throw AppError.notFound('target', targetId);
    return t;
  });

  app.put('/v1/admin/li/targets/:targetId', {
    config: admin,
    schema: { security: adminOnly, tags: ['lawful-interception'], summary: 'Replace an interception target (admin; audited)', params: TargetParams, body: LiTargetBody, response: { 200: LiTargetDto, ...errorResponses } },
  }, async (req) => {
    const { targetId } = req.params as { targetId: string };
    const b = req.body as LiTargetBody;
    checkWindow(b);
    if (!(await services.li.get(targetId))) throw AppError.notFound('target', targetId);
    return services.li.put({ id: targetId, ...b }, actor(req));
  });

  app.delete('/v1/admin/li/targets/:targetId', {
    config: admin,
    schema: { security: adminOnly, tags: ['lawful-interception'], summary: 'Delete an interception target (admin; audited)', params: TargetParams, response: { 204: NoContent, ...errorResponses } },
  }, async (req, reply) => {
    const { targetId } = req.params as { targetId: string };
    if (!(await services.li.delete(targetId, actor(req)))) throw AppError.notFound('target', targetId);
    return reply.code(204).send(null);
  });

  app.get('/v1/admin/li/audit', {
    config: admin,
    schema: { security: adminOnly, tags: ['lawful-interception'], summary: 'Audit trail of target changes, oldest first (admin)', querystring: AuditQuery, response: { 200: Type.Object({ items: Type.Array(LiAuditDto), nextCursor: Type.Optional(Type.String()) }), ...errorResponses } },
  }, async (req) => {
    const q = req.query as { limit: number; cursor?: string };
    return services.li.auditLog(q.limit, q.cursor);
  });
}
