import { Type } from 'typebox';
import { ChatMessage, CreateRoomRequest, Page, PageQuery, Participant, Room, RoomSession } from '../../../core/protocol/http.js';
import { Id } from '../../../core/protocol/common.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { tenantOf } from '../auth.js';
import { idempotent } from '../idempotency.js';
import { errorResponses } from '../server.js';

const RoomParams = Type.Object({ roomId: Id });

export async function roomRoutes(app: Http, services: Services): Promise<void> {
  app.post(
    '/v1/rooms',
    {
      schema: {
        tags: ['rooms'],
        summary: 'Create a room',
        description: 'Supports `Idempotency-Key`.',
        body: CreateRoomRequest,
        response: { 201: Room, ...errorResponses, 409: { $ref: 'ErrorBody#' }, 422: { $ref: 'ErrorBody#' } },
      },
    },
    async (req, reply) => idempotent(services, req, reply, 201, () => services.rooms.create(tenantOf(req), req.body)),
  );

  app.get(
    '/v1/rooms',
    {
      schema: {
        tags: ['rooms'],
        summary: 'List rooms, newest first',
        querystring: Type.Intersect([PageQuery, Type.Object({ status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])) })]),
        response: { 200: Page(Room, 'rooms'), ...errorResponses },
      },
    },
    async (req) => services.rooms.list(tenantOf(req), req.query.limit, req.query.cursor, req.query.status),
  );

  app.get(
    '/v1/rooms/:roomId',
    { schema: { tags: ['rooms'], summary: 'Get a room', params: RoomParams, response: { 200: Room, ...errorResponses } } },
    async (req) => services.rooms.require(tenantOf(req), req.params.roomId),
  );

  app.post(
    '/v1/rooms/:roomId/close',
    { schema: { tags: ['rooms'], summary: 'Close a room (participants are disconnected from it)', params: RoomParams, response: { 200: Room, ...errorResponses } } },
    async (req) => {
      const tenantId = tenantOf(req);
      const room = await services.rooms.close(tenantId, req.params.roomId);
      await services.events.roomClosed(tenantId, room.id);
      return room;
    },
  );

  app.get(
    '/v1/rooms/:roomId/participants',
    {
      schema: {
        tags: ['rooms'],
        summary: 'Live participants of a room',
        description: 'Who is connected now (one entry per join), with media and connection state.',
        params: RoomParams,
        response: { 200: Type.Object({ items: Type.Array(Participant) }, { description: 'All live participants (not paginated; bounded by maxParticipants)' }), ...errorResponses },
      },
    },
    async (req) => {
      const tenantId = tenantOf(req);
      await services.rooms.require(tenantId, req.params.roomId);
      return { items: await services.rooms.participants(tenantId, req.params.roomId) };
    },
  );

  app.get(
    '/v1/rooms/:roomId/messages',
    {
      schema: {
        tags: ['rooms'],
        summary: 'Chat history of a room, oldest first',
        params: RoomParams,
        querystring: PageQuery,
        response: { 200: Page(ChatMessage, 'chat messages'), ...errorResponses },
      },
    },
    async (req) => {
      const tenantId = tenantOf(req);
      await services.rooms.require(tenantId, req.params.roomId);
      return services.rooms.messagePage(tenantId, req.params.roomId, req.query.limit, req.query.cursor);
    },
  );

  app.get(
    '/v1/rooms/:roomId/sessions',
    {
      schema: {
        tags: ['rooms'],
        summary: 'Join/leave history of a room',
        description: 'One entry per join; `leftAt`, `durationSeconds` and `leaveReason` are set once the participant has left.',
        params: RoomParams,
        querystring: PageQuery,
        response: { 200: Page(RoomSession, 'room sessions'), ...errorResponses },
      },
    },
    async (req) => {
      const tenantId = tenantOf(req);
      await services.rooms.require(tenantId, req.params.roomId);
      return services.rooms.sessions(tenantId, req.params.roomId, req.query.limit, req.query.cursor);
    },
  );
}
