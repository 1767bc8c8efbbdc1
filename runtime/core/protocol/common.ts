import { Type, type Static } from 'typebox';

/** Identifiers: tenant ids, room ids, identities and other ids that appear in storage keys. */
export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.@+-]*$' });
export const Identity = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9_.@+:-]*$' });
export const DisplayName = Type.String({ minLength: 1, maxLength: 100 });
export const Metadata = Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()]), {
  maxProperties: 20,
});
export type Metadata = Static<typeof Metadata>;

export const ErrorBody = Type.Object(
  {
    code: Type.String({ description: 'Stable error code (see docs/errors.md)' }),
    message: Type.String(),
    field: Type.Optional(Type.String({ description: 'The offending field for validation errors' })),
    retryable: Type.Boolean(),
  },
  { $id: 'ErrorBody', description: 'Every error response has this shape.' },
);
export type ErrorBody = Static<typeof ErrorBody>;

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}
export const IceServerSchema = Type.Object({
  urls: Type.Union([Type.String(), Type.Array(Type.String())]),
  username: Type.Optional(Type.String()),
  credential: Type.Optional(Type.String()),
});

/** Access-token grants (what a client may do). */
export const Grants = Type.Object(
  {
    /** Room ids the identity may join; ['*'] = any room of the tenant. */
    rooms: Type.Array(Type.Union([Id, Type.Literal('*')]), { maxItems: 100, default: [] }),
    /** May publish audio/video/screen (false = receive only). */
    publish: Type.Boolean({ default: true }),
    /** May start 1:1 calls to other identities. */
    call: Type.Boolean({ default: true }),
    /** May dial phone numbers / SIP URIs through the SBC gateway. */
    dialOut: Type.Boolean({ default: false }),
    /** May see presence of other identities of the tenant. */
    presence: Type.Boolean({ default: true }),
    // --- media-services (docs/recordings.md): start/stop/pause/resume recording of its gateway calls, client-side room recordings ---
    record: Type.Optional(Type.Boolean({ default: false, description: 'May record: its gateway calls (server-side) and rooms it may join (client-side upload)' })),
    // --- end media-services ---
  },
  { additionalProperties: false },
);
export type Grants = Static<typeof Grants>;

export type PresenceStatus = 'online' | 'away' | 'busy' | 'dnd' | 'offline';
export const PresenceStatusSchema = Type.Union([Type.Literal('online'), Type.Literal('away'), Type.Literal('busy'), Type.Literal('dnd')]);

export type RoomType = 'p2p' | 'group';
