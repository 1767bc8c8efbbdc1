import { Type } from 'typebox';
import { PageQuery, Page } from '../../../core/protocol/http.js';
import { ApplicationDto, ApplicationId, CreateApplicationRequest, UpdateApplicationRequest } from '../../../core/protocol/voice-api.js';
import { AppError } from '../../../core/errors.js';
import type { Application, ApplicationInput } from '../../../core/storage/applications.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { tenantOf } from '../auth.js';
import { idempotent } from '../idempotency.js';
import { errorResponses } from '../server.js';
import { NoContent } from './sip.js';
import { addVoiceSchemas, refify, voiceValidator } from '../voice-schemas.js';

const AppParams = Type.Object({ applicationId: ApplicationId });

const toDto = (a: Application) => {
  const { tenantId: _t, ...rest } = a;
  return rest;
};

/** Rules the schema cannot say: exactly one of `url` / `document`. Throws INVALID_PAYLOAD. */
export function checkSpec(spec: { url?: string | undefined; document?: unknown }, at: string): void {
  if (spec.url === undefined && spec.document === undefined) throw AppError.invalid(`${at} needs one of url or document`, `${at}/url`);
  if (spec.url !== undefined && spec.document !== undefined) throw AppError.invalid(`${at} takes url or document, not both`, `${at}/document`);
}

const inputOf = (b: Record<string, unknown>): ApplicationInput => b as unknown as ApplicationInput;

/** Voice applications (docs/api.md § Programmable voice). */
export async function applicationRoutes(app: Http, services: Services): Promise<void> {
  addVoiceSchemas(app);
  const documentInBody = [{ at: 'body/document', get: (b: Record<string, unknown>) => b.document }];

  app.post(
    '/v1/applications',
    {
      validatorCompiler: voiceValidator(CreateApplicationRequest, documentInBody),
      schema: {
        tags: ['voice'],
        summary: 'Create a voice application',
        description:
          'An application is what runs on a call: a webhook `url` that returns call-control documents (signed POSTs, docs/webhooks.md) or an inline `document`. Map numbers to it with `PUT /v1/numbers/{e164}` `{ destination: { type: "application", applicationId } }`, or originate calls with it (`POST /v1/calls`). `sipAddresses: ["support"]` makes `sip:support@<tenant SIP domain>` run it (409 `SIP_ADDRESS_TAKEN` when another application has the address, 409 `SIP_ADDRESS_IS_SIP_USER` when a SIP user has the name). Supports `Idempotency-Key`.',
        body: refify(CreateApplicationRequest),
        response: { 201: refify(ApplicationDto), ...errorResponses, 409: { $ref: 'ErrorBody#' }, 422: { $ref: 'ErrorBody#' } },
      },
    },
    async (req, reply) => {
      checkSpec(req.body, 'body');
      return idempotent(services, req, reply, 201, async () => toDto(await services.applications.create(tenantOf(req), inputOf(req.body))));
    },
  );

  app.get(
    '/v1/applications',
    { schema: { tags: ['voice'], summary: 'List voice applications, oldest first', querystring: PageQuery, response: { 200: Page(refify(ApplicationDto), 'applications'), ...errorResponses } } },
    async (req) => {
      const page = await services.applications.list(tenantOf(req), req.query.limit, req.query.cursor);
      return { items: page.items.map(toDto), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
    },
  );

  app.get(
    '/v1/applications/:applicationId',
    { schema: { tags: ['voice'], summary: 'Get a voice application', params: AppParams, response: { 200: refify(ApplicationDto), ...errorResponses } } },
    async (req) => {
      const a = await services.applications.get(tenantOf(req), req.params.applicationId);
      if (!a) throw AppError.notFound('application', req.params.applicationId);
      return toDto(a);
    },
  );

  app.put(
    '/v1/applications/:applicationId',
    {
      validatorCompiler: voiceValidator(UpdateApplicationRequest, documentInBody),
      schema: {
        tags: ['voice'],
        summary: 'Replace a voice application',
        description: 'Calls already running keep the document they fetched; new calls use the new definition. SIP addresses left out are released; new ones are checked as on creation (409 `SIP_ADDRESS_TAKEN` / `SIP_ADDRESS_IS_SIP_USER`).',
        params: AppParams,
        body: refify(UpdateApplicationRequest),
        response: { 200: refify(ApplicationDto), ...errorResponses, 409: { $ref: 'ErrorBody#' } },
      },
    },
    async (req) => {
      checkSpec(req.body, 'body');
      const a = await services.applications.replace(tenantOf(req), req.params.applicationId, inputOf(req.body));
      if (!a) throw AppError.notFound('application', req.params.applicationId);
      return toDto(a);
    },
  );

  app.delete(
    '/v1/applications/:applicationId',
    {
      schema: {
        tags: ['voice'],
        summary: 'Delete a voice application',
        description: 'Refused (409 CONFLICT) while numbers are mapped to it: map them elsewhere first. Its SIP addresses are released.',
        params: AppParams,
        response: { 204: NoContent, ...errorResponses, 409: { $ref: 'ErrorBody#' } },
      },
    },
    async (req, reply) => {
      const tenantId = tenantOf(req);
      const id = req.params.applicationId;
      if (!(await services.applications.get(tenantId, id))) throw AppError.notFound('application', id);
      const users = (await services.sip.listNumbers(tenantId)).filter((n) => n.destination.type === 'application' && n.destination.applicationId === id);
      if (users.length) throw new AppError('CONFLICT', `application ${id} is used by ${users.map((n) => n.e164).join(', ')}`);
      await services.applications.delete(tenantId, id);
      return reply.code(204).send(null);
    },
  );
}
