import { Type } from 'typebox';
import { AppError } from '../../../core/errors.js';
import {
  Conference, ConferenceDialRequest, ConferenceDialResult, ConferenceList, ConferenceName, ConferenceParticipant, ConferenceParticipantId, ConferenceParticipantUpdate,
} from '../../../core/protocol/conference.js';
import type { ConferenceControl } from '../../conference-client.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { tenantOf } from '../auth.js';
import { errorResponses } from '../server.js';

const NameParams = Type.Object({ name: ConferenceName });
const ParticipantParams = Type.Object({ name: ConferenceName, participantId: ConferenceParticipantId });
const unavailable = { 503: { $ref: 'ErrorBody#' } };

/** Live audio conferences on the SBC (docs/conferences.md). */
export async function conferenceRoutes(app: Http, services: Services): Promise<void> {
  const sbc = (): ConferenceControl => {
    if (!services.conferences) throw new AppError('SERVICE_UNAVAILABLE', 'conferences need an SBC (sbcControlUrl and the gateway secret are not configured)');
    return services.conferences;
  };

  app.get(
    '/v1/conferences',
    { schema: { tags: ['conferences'], summary: 'List the live conferences of the tenant', description: 'A conference exists while it has participants: it is created by the first `conference` verb that names it.', response: { 200: ConferenceList, ...errorResponses, ...unavailable } } },
    async (req) => sbc().list(tenantOf(req)),
  );

  app.get(
    '/v1/conferences/:name',
    { schema: { tags: ['conferences'], summary: 'Get a live conference and its participants', params: NameParams, response: { 200: Conference, ...errorResponses, ...unavailable } } },
    async (req) => sbc().get(tenantOf(req), req.params.name),
  );

  app.post(
    '/v1/conferences/:name/participants',
    {
      schema: {
        tags: ['conferences'],
        summary: 'Call someone into a conference',
        description: 'Originates a call to `to` whose document is `[{ verb: "conference", name, muted, held, endOnLeave }]`. '
          + 'The participant appears (and `conference.participant.joined` is sent) when the call is answered.',
        params: NameParams,
        body: ConferenceDialRequest,
        response: { 201: ConferenceDialResult, ...errorResponses, ...unavailable },
      },
    },
    async (req, reply) => reply.code(201).send(await sbc().dial(tenantOf(req), req.params.name, req.body)),
  );

  app.post(
    '/v1/conferences/:name/participants/:participantId',
    {
      schema: {
        tags: ['conferences'],
        summary: 'Mute/unmute or hold/resume a participant',
        description: 'A muted participant is not heard but hears the others; a held one neither hears nor is heard (it hears a soft beep).',
        params: ParticipantParams,
        body: ConferenceParticipantUpdate,
        response: { 200: ConferenceParticipant, ...errorResponses, ...unavailable },
      },
    },
    async (req) => sbc().update(tenantOf(req), req.params.name, req.params.participantId, req.body),
  );

  app.delete(
    '/v1/conferences/:name/participants/:participantId',
    {
      schema: {
        tags: ['conferences'],
        summary: 'Kick a participant',
        description: 'The participant leaves the conference; its call continues with the next verb of its document (hangs up when there is none).',
        params: ParticipantParams,
        response: { 204: Type.Null({ description: 'No content' }), ...errorResponses, ...unavailable },
      },
    },
    async (req, reply) => {
      await sbc().kick(tenantOf(req), req.params.name, req.params.participantId);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/v1/conferences/:name',
    {
      schema: {
        tags: ['conferences'],
        summary: 'End a conference for everyone',
        params: NameParams,
        response: { 204: Type.Null({ description: 'No content' }), ...errorResponses, ...unavailable },
      },
    },
    async (req, reply) => {
      await sbc().end(tenantOf(req), req.params.name);
      return reply.code(204).send(null);
    },
  );
}
