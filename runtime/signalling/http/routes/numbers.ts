import { Type } from 'typebox';
import { E164, PhoneNumberDto, PutNumberRequest } from '../../../core/protocol/sip.js';
import { AppError } from '../../../core/errors.js';
import type { PhoneNumber } from '../../../core/storage/sip-types.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { tenantOf } from '../auth.js';
import { errorResponses } from '../server.js';
import { NoContent } from './sip.js';

const NumberParams = Type.Object({ e164: E164 });

const toNumberDto = (n: PhoneNumber) => ({ e164: n.e164, destination: n.destination, createdAt: n.createdAt });

/** Phone numbers (DIDs) and where their calls go. */
export async function numberRoutes(app: Http, services: Services): Promise<void> {
  app.put(
    '/v1/numbers/:e164',
    {
      schema: {
        tags: ['numbers'],
        summary: "Assign a number or change its destination",
        description: 'Idempotent. A number belongs to one tenant (409 CONFLICT otherwise). A `sip-user`, `trunk` or `application` (`applicationId`) destination must exist in the tenant.',
        params: NumberParams,
        body: PutNumberRequest,
        response: { 200: PhoneNumberDto, ...errorResponses, 409: { $ref: 'ErrorBody#' } },
      },
    },
    async (req) => {
      const tenantId = tenantOf(req);
      const d = req.body.destination;
      if (d.type === 'sip-user' && !(await services.sip.getUser(tenantId, d.username))) throw AppError.invalid(`SIP user ${d.username} not found`, 'body/destination/username');
      if (d.type === 'trunk' && !(await services.sip.getTrunk(tenantId, d.trunkId))) throw AppError.invalid(`trunk ${d.trunkId} not found`, 'body/destination/trunkId');
      // --- voice-api: an application destination names exactly one of a stored application or a webhook URL ---
      if (d.type === 'application') {
        if ((d.url === undefined) === (d.applicationId === undefined)) throw AppError.invalid('an application destination needs exactly one of applicationId or url', 'body/destination/applicationId');
        if (d.applicationId && !(await services.applications.get(tenantId, d.applicationId))) throw AppError.invalid(`application ${d.applicationId} not found`, 'body/destination/applicationId');
      }
      // --- end voice-api ---
      return toNumberDto(await services.sip.putNumber({ tenantId, e164: req.params.e164, destination: d }));
    },
  );

  app.get(
    '/v1/numbers',
    { schema: { tags: ['numbers'], summary: 'List numbers', response: { 200: Type.Object({ items: Type.Array(PhoneNumberDto) }, { description: 'All numbers of the tenant' }), ...errorResponses } } },
    async (req) => ({ items: (await services.sip.listNumbers(tenantOf(req))).map(toNumberDto) }),
  );

  app.get(
    '/v1/numbers/:e164',
    { schema: { tags: ['numbers'], summary: 'Get a number', params: NumberParams, response: { 200: PhoneNumberDto, ...errorResponses } } },
    async (req) => {
      const n = await services.sip.getNumber(tenantOf(req), req.params.e164);
      if (!n) throw AppError.notFound('number', req.params.e164);
      return toNumberDto(n);
    },
  );

  app.delete(
    '/v1/numbers/:e164',
    { schema: { tags: ['numbers'], summary: 'Release a number', params: NumberParams, response: { 204: NoContent, ...errorResponses } } },
    async (req, reply) => {
      const tenantId = tenantOf(req);
      if (!(await services.sip.getNumber(tenantId, req.params.e164))) throw AppError.notFound('number', req.params.e164);
      await services.sip.deleteNumber(tenantId, req.params.e164);
      return reply.code(204).send(null);
    },
  );
}
