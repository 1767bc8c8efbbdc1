/**
 * REST DTOs: the route schemas (and so the OpenAPI document) and the SDK's types come from here.
 */
import { Type, type Static, type TSchema } from 'typebox';
import { Grants, Id, Identity, DisplayName, Metadata } from './common.js';

export const Page = <T extends TSchema>(item: T, name: string) =>
  Type.Object(
    {
      items: Type.Array(item),
      nextCursor: Type.Optional(Type.String({ description: 'Pass as `cursor` to get the next page; absent on the last page.' })),
    },
    { description: `A page of ${name}` },
  );

export const PageQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 25 }),
  cursor: Type.Optional(Type.String({ maxLength: 1024 })),
});

// ---- tenants and API keys (admin) -------------------------------------------------------------

export const Tenant = Type.Object(
  {
    id: Id,
    name: Type.String(),
    status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
    createdAt: Type.String({ format: 'date-time' }),
    webhookUrl: Type.Optional(Type.String()),
  },
  { $id: 'Tenant' },
);
export type Tenant = Static<typeof Tenant>;

export const CreateTenantRequest = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    id: Type.Optional(Type.String({ minLength: 3, maxLength: 32, pattern: '^[a-z0-9][a-z0-9-]*$', description: 'Optional; generated when absent' })),
    webhookUrl: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048 })),
  },
  { additionalProperties: false },
);
export type CreateTenantRequest = Static<typeof CreateTenantRequest>;

export const ApiKey = Type.Object(
  {
    id: Type.String({ description: 'Key id (public part), also the Basic-auth user name' }),
    tenantId: Id,
    name: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    revokedAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { $id: 'ApiKey' },
);
export type ApiKey = Static<typeof ApiKey>;

export const CreatedApiKey = Type.Intersect([
  ApiKey,
  Type.Object({
    secret: Type.String({ description: 'Shown once. Use `Authorization: Bearer <id>.<secret>` or Basic id:secret.' }),
    token: Type.String({ description: 'The full bearer value `<id>.<secret>`' }),
  }),
]);
export type CreatedApiKey = Static<typeof CreatedApiKey>;

export const CreateApiKeyRequest = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100, default: 'default' }) }, { additionalProperties: false });

// ---- rooms -------------------------------------------------------------------------------------

export const RoomTypeSchema = Type.Union([Type.Literal('p2p'), Type.Literal('group')]);

export const Room = Type.Object(
  {
    id: Id,
    tenantId: Id,
    name: Type.String(),
    type: RoomTypeSchema,
    maxParticipants: Type.Integer(),
    status: Type.Union([Type.Literal('open'), Type.Literal('closed')]),
    createdAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
    closedAt: Type.Optional(Type.String({ format: 'date-time' })),
    metadata: Type.Optional(Metadata),
  },
  { $id: 'Room' },
);
export type Room = Static<typeof Room>;

export const CreateRoomRequest = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    type: Type.Union([Type.Literal('p2p'), Type.Literal('group')], { default: 'group' }),
    maxParticipants: Type.Optional(Type.Integer({ minimum: 2, maximum: 500 })),
    /** Seconds from now after which the room can no longer be joined. */
    expiresInSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 31_536_000 })),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);
export type CreateRoomRequest = Static<typeof CreateRoomRequest>;

export const Participant = Type.Object(
  {
    id: Type.String({ description: 'Participant id (one per join)' }),
    identity: Identity,
    displayName: Type.Optional(Type.String()),
    joinedAt: Type.String({ format: 'date-time' }),
    state: Type.Object({
      audio: Type.Boolean(),
      video: Type.Boolean(),
      screen: Type.Boolean(),
      connection: Type.Union([Type.Literal('connected'), Type.Literal('reconnecting')]),
    }),
    metadata: Type.Optional(Metadata),
  },
  { $id: 'Participant' },
);
export type Participant = Static<typeof Participant>;

export const ChatMessage = Type.Object(
  {
    id: Type.String({ description: 'Server id; ids increase in the order the server accepted the messages' }),
    roomId: Id,
    seq: Type.Integer({ description: 'Per-room sequence number (1, 2, 3…)' }),
    from: Type.Object({ identity: Identity, participantId: Type.Optional(Type.String()), displayName: Type.Optional(Type.String()) }),
    text: Type.String(),
    clientId: Type.Optional(Type.String({ description: 'Echo of the sender-chosen id for de-duplication' })),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'ChatMessage' },
);
export type ChatMessage = Static<typeof ChatMessage>;

export const RoomSession = Type.Object(
  {
    participantId: Type.String(),
    identity: Identity,
    joinedAt: Type.String({ format: 'date-time' }),
    leftAt: Type.Optional(Type.String({ format: 'date-time' })),
    durationSeconds: Type.Optional(Type.Number()),
    leaveReason: Type.Optional(Type.String()),
  },
  { $id: 'RoomSession' },
);
export type RoomSession = Static<typeof RoomSession>;

// ---- tokens ------------------------------------------------------------------------------------

export const TokenRequest = Type.Object(
  {
    identity: Identity,
    displayName: Type.Optional(DisplayName),
    grants: Type.Optional(Grants),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 86_400 })),
  },
  { additionalProperties: false },
);
export type TokenRequest = Static<typeof TokenRequest>;

export const TokenResponse = Type.Object({
  token: Type.String(),
  identity: Identity,
  expiresAt: Type.String({ format: 'date-time' }),
  grants: Grants,
});
export type TokenResponse = Static<typeof TokenResponse>;

// ---- invites -----------------------------------------------------------------------------------

export const Invite = Type.Object(
  {
    id: Type.String(),
    roomId: Id,
    email: Type.String(),
    identity: Identity,
    status: Type.Union([Type.Literal('sent'), Type.Literal('failed')]),
    messageId: Type.Optional(Type.String({ description: 'SES message id' })),
    error: Type.Optional(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Invite' },
);
export type Invite = Static<typeof Invite>;

export const CreateInviteRequest = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 254 }),
    identity: Type.Optional(Identity),
    displayName: Type.Optional(DisplayName),
    /** Link validity; the token in the link expires with it. */
    ttlSeconds: Type.Integer({ minimum: 300, maximum: 604_800, default: 86_400 }),
    /** Page the link opens; defaults to the demo room page of this deployment. */
    joinUrl: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048 })),
    message: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type CreateInviteRequest = Static<typeof CreateInviteRequest>;
