/**
 * Visual voicemail DTOs (docs/voicemail.md): the REST schemas (and so the OpenAPI document), the socket.io events
 * of the mailbox owner and the SDK's types come from here.
 *
 * The socket events are added to `ClientToServerEvents` / `ServerToClientEvents` of ./events.ts by interface
 * merging (module augmentation at the end of this file), so events.ts stays untouched and the SDK's typed
 * `request('voicemail:list', …)` compiles once this module is part of the program (the SDK imports its types).
 */
import { Type, type Static } from 'typebox';
import type { Ack } from './events.js';

export const MAILBOX_KINDS = ['sip-user', 'identity'] as const;
export type MailboxKind = (typeof MAILBOX_KINDS)[number];
export const MailboxKindSchema = Type.Union([Type.Literal('sip-user'), Type.Literal('identity')], { description: 'A SIP user name or a WebRTC identity' });
export const MailboxId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^/\\s]+$' });
export const VoicemailId = Type.String({ minLength: 4, maxLength: 64, pattern: '^vm_[a-z0-9]+$' });

export const MailboxRef = Type.Object({ kind: MailboxKindSchema, id: MailboxId }, { additionalProperties: false });
export type MailboxRef = Static<typeof MailboxRef>;

export const VoicemailMessage = Type.Object(
  {
    id: VoicemailId,
    tenantId: Type.String(),
    mailbox: MailboxRef,
    /** The identity whose browsers see the message (the identity itself, or the SIP user's `identity`). */
    owner: Type.Optional(Type.String({ description: 'Identity that sees this message over socket.io (the mailbox identity, or the SIP user’s linked identity)' })),
    from: Type.String({ description: 'Caller as presented (number, SIP URI or identity)' }),
    callId: Type.String(),
    durationMs: Type.Integer({ minimum: 0 }),
    sizeBytes: Type.Integer({ minimum: 0 }),
    sha256: Type.String({ description: 'Hex SHA-256 of the WAV; compare after download' }),
    s3Key: Type.String(),
    read: Type.Boolean(),
    receivedAt: Type.String({ format: 'date-time', description: 'When the caller finished recording' }),
    createdAt: Type.String({ format: 'date-time', description: 'When the message was stored' }),
  },
  { $id: 'VoicemailMessage' },
);
export type VoicemailMessage = Static<typeof VoicemailMessage>;

export const VoicemailListQuery = Type.Object({
  mailbox: Type.Optional(Type.String({ minLength: 3, maxLength: 140, pattern: '^(sip-user|identity):[^/\\s]+$', description: '`identity:<identity>` or `sip-user:<username>`; all mailboxes of the tenant when absent' })),
  unread: Type.Optional(Type.Boolean({ description: 'Only unread messages' })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 25 }),
  cursor: Type.Optional(Type.String({ maxLength: 1024 })),
});

export const VoicemailUrlQuery = Type.Object({
  expiresIn: Type.Optional(Type.Integer({ minimum: 10, maximum: 3_600, description: 'Seconds the download URL lives; default 300' })),
});

export const VoicemailWithUrl = Type.Object(
  {
    message: VoicemailMessage,
    url: Type.String({ description: 'Presigned S3 GET of the WAV (inline, audio/wav)' }),
    expiresAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'VoicemailWithUrl' },
);
export type VoicemailWithUrl = Static<typeof VoicemailWithUrl>;

export const VoicemailUpdate = Type.Object({ read: Type.Boolean() }, { additionalProperties: false });

export const GreetingInfo = Type.Object({
  sha256: Type.String(),
  sizeBytes: Type.Integer(),
  durationMs: Type.Integer(),
  s3Key: Type.String(),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type GreetingInfo = Static<typeof GreetingInfo>;

export const MailboxSettings = Type.Object(
  {
    tenantId: Type.String(),
    kind: MailboxKindSchema,
    id: MailboxId,
    enabled: Type.Boolean({ description: 'Unanswered calls go to voicemail. A mailbox never configured is disabled (opt-in per mailbox).' }),
    greeting: Type.Union([GreetingInfo, Type.Null()], { description: 'The custom greeting (`PUT …/greeting`), or null for the default prompt' }),
    notifyEmail: Type.Optional(Type.String({ description: 'New messages are also mailed here (SES)' })),
    ringTimeoutSeconds: Type.Optional(Type.Integer({ description: 'How long the mailbox owner rings before voicemail answers' })),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'MailboxSettings' },
);
export type MailboxSettings = Static<typeof MailboxSettings>;

export const PutMailboxSettings = Type.Object(
  {
    enabled: Type.Boolean(),
    greeting: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('keep')], { description: '`none` removes the custom greeting (the default prompt plays); `keep` (default) leaves it. Upload one with `PUT …/greeting`.' })),
    notifyEmail: Type.Optional(Type.Union([Type.String({ format: 'email', maxLength: 254 }), Type.Null()], { description: 'null removes it' })),
    ringTimeoutSeconds: Type.Optional(Type.Union([Type.Integer({ minimum: 5, maximum: 120 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type PutMailboxSettings = Static<typeof PutMailboxSettings>;

export const MailboxParams = Type.Object({ kind: MailboxKindSchema, id: MailboxId });
export const MessageParams = Type.Object({ messageId: VoicemailId });

// ---- socket.io (the browser owner; scoped to the token's identity) ----------------------------------------

export const VoicemailListRequest = Type.Object(
  {
    /** Default: the identity's own mailbox. A SIP user's mailbox is allowed when that user's `identity` is the caller's. */
    mailbox: Type.Optional(MailboxRef),
    unread: Type.Optional(Type.Boolean()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);
export type VoicemailListRequest = Static<typeof VoicemailListRequest>;
export const VoicemailRef = Type.Object({ id: VoicemailId }, { additionalProperties: false });
export type VoicemailRef = Static<typeof VoicemailRef>;
export const VoicemailGetRequest = Type.Object({ id: VoicemailId, expiresIn: Type.Optional(Type.Integer({ minimum: 10, maximum: 3_600 })) }, { additionalProperties: false });
export type VoicemailGetRequest = Static<typeof VoicemailGetRequest>;
export const VoicemailReadRequest = Type.Object({ id: VoicemailId, read: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export type VoicemailReadRequest = Static<typeof VoicemailReadRequest>;

/** `voicemail:new` payload (also the `voicemail.received` webhook's `data`). */
export interface VoicemailNewEvent {
  message: VoicemailMessage;
}

export interface VoicemailPage {
  items: VoicemailMessage[];
  nextCursor?: string;
}

declare module './events.js' {
  interface ClientToServerEvents {
    /** Lists the caller's mailbox, newest first. */
    'voicemail:list': (req: VoicemailListRequest, ack: (res: Ack<VoicemailPage>) => void) => void;
    /** A message with a short-lived download URL. */
    'voicemail:get': (req: VoicemailGetRequest, ack: (res: Ack<VoicemailWithUrl>) => void) => void;
    /** Marks read (or unread with `read: false`). */
    'voicemail:read': (req: VoicemailReadRequest, ack: (res: Ack<VoicemailMessage>) => void) => void;
    'voicemail:delete': (req: VoicemailRef, ack: (res: Ack<Record<string, never>>) => void) => void;
  }
  interface ServerToClientEvents {
    /** A new message in one of this identity's mailboxes. */
    'voicemail:new': (e: VoicemailNewEvent) => void;
  }
}
