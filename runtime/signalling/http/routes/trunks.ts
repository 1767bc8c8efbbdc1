import { Type } from 'typebox';
import { CreateRouteRequest, CreateTrunkRequest, RouteDto, TrunkDto, TrunkHealth, UpdateTrunkRequest } from '../../../core/protocol/sip.js';
import { AppError } from '../../../core/errors.js';
import { newId } from '../../../core/ids.js';
import { digestHa1, parseCidr } from '../../../core/storage/sip.js';
import type { Gateway, Route, Trunk } from '../../../core/storage/sip-types.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { tenantOf } from '../auth.js';
import { idempotent } from '../idempotency.js';
import { errorResponses } from '../server.js';
import { NoContent } from './sip.js';

const ResourceId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const TrunkParams = Type.Object({ trunkId: ResourceId });
const RouteParams = Type.Object({ routeId: ResourceId });
const conflict = { 409: { $ref: 'ErrorBody#' } } as const;

type GatewayInput = { id?: string; host: string; port: number; transport?: Gateway['transport']; priority: number; cost: number };

/** The public view of a trunk: credentials without their secrets. */
export const toTrunkDto = (t: Trunk): TrunkDto => ({
  id: t.id,
  name: t.name,
  enabled: t.enabled,
  inboundCidrs: t.inboundCidrs,
  ...(t.inboundDigest ? { inboundDigest: { username: t.inboundDigest.username } } : {}),
  gateways: t.gateways,
  ...(t.outboundAuth ? { outboundAuth: { username: t.outboundAuth.username } } : {}),
  numberFormat: t.numberFormat,
  ...(t.countryCode ? { countryCode: t.countryCode } : {}),
  headerRules: t.headerRules,
  ...(t.record ? { record: true } : {}), // media-services
  ...(t.codecs?.length ? { codecs: t.codecs } : {}), // media-services
  createdAt: t.createdAt,
});

function validateCidrs(cidrs: string[]): string[] {
  return cidrs.map((c, i) => {
    const p = parseCidr(c, `body/inboundCidrs/${i}`);
    return `${p.address}/${p.prefix}`;
  });
}

function toGateways(input: GatewayInput[], now: number): Gateway[] {
  const seen = new Set<string>();
  return input.map((g, i) => {
    const id = g.id ?? newId('gw', now);
    if (seen.has(id)) throw AppError.invalid(`gateway id ${id} is used twice`, `body/gateways/${i}/id`);
    seen.add(id);
    return { id, host: g.host, port: g.port, transport: g.transport ?? 'udp', priority: g.priority, cost: g.cost };
  });
}

function validateHeaderRules(rules: Trunk['headerRules']): Trunk['headerRules'] {
  rules.forEach((r, i) => {
    if (r.action === 'rename' && !r.newName) throw AppError.invalid('a rename rule needs newName', `body/headerRules/${i}/newName`);
    if (r.action === 'add' && r.value === undefined) throw AppError.invalid('an add rule needs value', `body/headerRules/${i}/value`);
  });
  return rules;
}

export async function requireTrunk(services: Services, tenantId: string, trunkId: string): Promise<Trunk> {
  const trunk = await services.sip.getTrunk(tenantId, trunkId);
  if (!trunk) throw AppError.notFound('trunk', trunkId);
  return trunk;
}

/** Carrier trunks with their gateways and health, and the least-cost routes that use them. */
export async function trunkRoutes(app: Http, services: Services): Promise<void> {
  app.post(
    '/v1/trunks',
    {
      schema: {
        tags: ['trunks'],
        summary: 'Create a carrier trunk',
        description:
          'Supports `Idempotency-Key`. Inbound calls are accepted from `inboundCidrs` (and/or with `inboundDigest`, stored as HA1 with the tenant SIP domain as realm). ' +
          '`outboundAuth.password` is write-only.',
        body: CreateTrunkRequest,
        response: { 201: TrunkDto, ...errorResponses, 422: { $ref: 'ErrorBody#' } },
      },
    },
    async (req, reply) =>
      idempotent(services, req, reply, 201, async () => {
        const tenantId = tenantOf(req);
        const b = req.body;
        const realm = b.inboundDigest ? await services.sip.tenantDomain(tenantId) : '';
        const trunk = await services.sip.createTrunk({
          tenantId,
          name: b.name,
          enabled: b.enabled ?? true,
          inboundCidrs: validateCidrs(b.inboundCidrs ?? []),
          ...(b.inboundDigest ? { inboundDigest: { username: b.inboundDigest.username, realm, ha1: digestHa1(b.inboundDigest.username, realm, b.inboundDigest.password) } } : {}),
          gateways: toGateways(b.gateways, services.clock.now()),
          ...(b.outboundAuth ? { outboundAuth: b.outboundAuth } : {}),
          numberFormat: b.numberFormat ?? 'e164',
          ...(b.countryCode ? { countryCode: b.countryCode } : {}),
          headerRules: validateHeaderRules(b.headerRules ?? []),
          ...(b.record ? { record: true } : {}), // media-services
          ...(b.codecs?.length ? { codecs: b.codecs } : {}), // media-services
        });
        return toTrunkDto(trunk);
      }),
  );

  app.get(
    '/v1/trunks',
    { schema: { tags: ['trunks'], summary: 'List trunks', response: { 200: Type.Object({ items: Type.Array(TrunkDto) }, { description: 'All trunks of the tenant' }), ...errorResponses } } },
    async (req) => ({ items: (await services.sip.listTrunks(tenantOf(req))).map(toTrunkDto) }),
  );

  app.get(
    '/v1/trunks/:trunkId',
    { schema: { tags: ['trunks'], summary: 'Get a trunk', params: TrunkParams, response: { 200: TrunkDto, ...errorResponses } } },
    async (req) => toTrunkDto(await requireTrunk(services, tenantOf(req), req.params.trunkId)),
  );

  app.patch(
    '/v1/trunks/:trunkId',
    {
      schema: {
        tags: ['trunks'],
        summary: 'Update a trunk',
        description: 'Replaces the given fields; `null` removes `inboundDigest`, `outboundAuth` or `countryCode`. Gateways keep their ids when given.',
        params: TrunkParams,
        body: UpdateTrunkRequest,
        response: { 200: TrunkDto, ...errorResponses },
      },
    },
    async (req) => {
      const tenantId = tenantOf(req);
      await requireTrunk(services, tenantId, req.params.trunkId);
      const b = req.body;
      const patch: Parameters<Services['sip']['updateTrunk']>[2] = {};
      if (b.name !== undefined) patch.name = b.name;
      if (b.enabled !== undefined) patch.enabled = b.enabled;
      if (b.inboundCidrs !== undefined) patch.inboundCidrs = validateCidrs(b.inboundCidrs);
      if (b.inboundDigest === null) patch.inboundDigest = undefined;
      else if (b.inboundDigest) {
        const realm = await services.sip.tenantDomain(tenantId);
        patch.inboundDigest = { username: b.inboundDigest.username, realm, ha1: digestHa1(b.inboundDigest.username, realm, b.inboundDigest.password) };
      }
      if (b.gateways !== undefined) patch.gateways = toGateways(b.gateways, services.clock.now());
      if (b.outboundAuth === null) patch.outboundAuth = undefined;
      else if (b.outboundAuth) patch.outboundAuth = b.outboundAuth;
      if (b.numberFormat !== undefined) patch.numberFormat = b.numberFormat;
      if (b.countryCode === null) patch.countryCode = undefined;
      else if (b.countryCode !== undefined) patch.countryCode = b.countryCode;
      if (b.headerRules !== undefined) patch.headerRules = validateHeaderRules(b.headerRules);
      if (b.record !== undefined) patch.record = b.record; // media-services
      if (b.codecs !== undefined) patch.codecs = b.codecs?.length ? b.codecs : undefined; // media-services
      return toTrunkDto(await services.sip.updateTrunk(tenantId, req.params.trunkId, patch));
    },
  );

  app.delete(
    '/v1/trunks/:trunkId',
    {
      schema: {
        tags: ['trunks'],
        summary: 'Delete a trunk',
        description: '409 CONFLICT while routes or numbers still point at it.',
        params: TrunkParams,
        response: { 204: NoContent, ...errorResponses, ...conflict },
      },
    },
    async (req, reply) => {
      const tenantId = tenantOf(req);
      const { trunkId } = req.params;
      await requireTrunk(services, tenantId, trunkId);
      const routes = (await services.sip.listRoutes(tenantId)).filter((r) => r.trunkId === trunkId);
      if (routes.length > 0) throw new AppError('CONFLICT', `trunk ${trunkId} is used by route(s) ${routes.map((r) => r.id).join(', ')}`);
      const numbers = (await services.sip.listNumbers(tenantId)).filter((n) => n.destination.type === 'trunk' && n.destination.trunkId === trunkId);
      if (numbers.length > 0) throw new AppError('CONFLICT', `trunk ${trunkId} is the destination of number(s) ${numbers.map((n) => n.e164).join(', ')}`);
      await services.sip.deleteTrunk(tenantId, trunkId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/trunks/:trunkId/health',
    {
      schema: {
        tags: ['trunks'],
        summary: "Health of a trunk's gateways",
        description: 'Probe status per gateway (`unknown` until the SBC has probed it) and the moving average of call quality (MOS).',
        params: TrunkParams,
        response: { 200: TrunkHealth, ...errorResponses },
      },
    },
    async (req) => {
      const tenantId = tenantOf(req);
      const trunk = await requireTrunk(services, tenantId, req.params.trunkId);
      const rows = (await services.sip.gatewayHealth(tenantId)).filter((h) => h.trunkId === trunk.id);
      return {
        trunkId: trunk.id,
        gateways: trunk.gateways.map((g) => {
          const h = rows.find((r) => r.gatewayId === g.id);
          return {
            gatewayId: g.id,
            host: g.host,
            port: g.port,
            status: h?.status ?? ('unknown' as const),
            ...(h?.lastCheckedAt ? { lastCheckedAt: h.lastCheckedAt } : {}),
            consecutiveFailures: h?.consecutiveFailures ?? 0,
            ...(h?.mosAverage !== undefined ? { mosAverage: h.mosAverage } : {}),
            calls: h?.calls ?? 0,
          };
        }),
      };
    },
  );

  // ---- routes (least-cost routing) ------------------------------------------------------------------

  app.post(
    '/v1/routes',
    {
      schema: {
        tags: ['routes'],
        summary: 'Create an outbound route',
        description: 'Supports `Idempotency-Key`. Longest matching prefix wins, then gateway cost, then priority. The trunk must belong to the tenant.',
        body: CreateRouteRequest,
        response: { 201: RouteDto, ...errorResponses, 422: { $ref: 'ErrorBody#' } },
      },
    },
    async (req, reply) =>
      idempotent(services, req, reply, 201, async () => {
        const tenantId = tenantOf(req);
        if (!(await services.sip.getTrunk(tenantId, req.body.trunkId))) throw AppError.invalid(`trunk ${req.body.trunkId} not found`, 'body/trunkId');
        return toRouteDto(await services.sip.createRoute({ tenantId, prefix: req.body.prefix, trunkId: req.body.trunkId, priority: req.body.priority }));
      }),
  );

  app.get(
    '/v1/routes',
    { schema: { tags: ['routes'], summary: 'List outbound routes', response: { 200: Type.Object({ items: Type.Array(RouteDto) }, { description: 'All routes of the tenant' }), ...errorResponses } } },
    async (req) => ({ items: (await services.sip.listRoutes(tenantOf(req))).map(toRouteDto) }),
  );

  app.delete(
    '/v1/routes/:routeId',
    { schema: { tags: ['routes'], summary: 'Delete an outbound route', params: RouteParams, response: { 204: NoContent, ...errorResponses } } },
    async (req, reply) => {
      const tenantId = tenantOf(req);
      if (!(await services.sip.getRoute(tenantId, req.params.routeId))) throw AppError.notFound('route', req.params.routeId);
      await services.sip.deleteRoute(tenantId, req.params.routeId);
      return reply.code(204).send(null);
    },
  );
}

const toRouteDto = (r: Route) => ({ id: r.id, prefix: r.prefix, trunkId: r.trunkId, priority: r.priority, createdAt: r.createdAt });
