/**
 * The socket.io signalling protocol, shared by the server (runtime/signalling) and the browser SDK
 * (assets/sdk, which imports this file with `import type` only, so no validator code reaches browsers).
 *
 * Conventions: events are `domain:verb`; requests take an ack as their last argument and always get
 * exactly one `Ack<T>`; notifications take none. Every client payload is validated by the server against
 * the schemas below (TypeScript types vanish at run time).
 */
import { Type, type Static } from 'typebox';
import { DisplayName, Id, Identity, Metadata, PresenceStatusSchema, type IceServer, type PresenceStatus, type Grants } from './common.js';
import type { ChatMessage, Participant, Room } from './http.js';
import type { ErrorCode } from '../errors.js';

export type { ChatMessage, Participant, Room, IceServer, PresenceStatus, Grants, ErrorCode };

export const PROTOCOL_VERSION = 1;

export interface AckError {
  code: ErrorCode;
  message: string;
  field?: string;
  retryable: boolean;
}
export type Ack<T> = { ok: true; data: T } | { ok: false; error: AckError };

/** What `connect_error` carries in `err.data` when the handshake is refused. */
export interface ConnectErrorData {
  code: ErrorCode;
  message: string;
}

// ---- payload schemas (client → server) ----------------------------------------------------------

export const MediaState = Type.Object(
  { audio: Type.Boolean(), video: Type.Boolean(), screen: Type.Boolean({ default: false }) },
  { additionalProperties: false },
);
export type MediaState = Static<typeof MediaState>;

export const JoinRoomRequest = Type.Object(
  {
    roomId: Id,
    displayName: Type.Optional(DisplayName),
    state: Type.Optional(MediaState),
    metadata: Type.Optional(Metadata),
    /** After a reconnect: the participant id held before, to resume instead of joining anew. */
    resumeParticipantId: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type JoinRoomRequest = Static<typeof JoinRoomRequest>;

export const RoomRef = Type.Object({ roomId: Id }, { additionalProperties: false });
export type RoomRef = Static<typeof RoomRef>;

export const UpdateStateRequest = Type.Object({ roomId: Id, state: MediaState }, { additionalProperties: false });
export type UpdateStateRequest = Static<typeof UpdateStateRequest>;

/** A WebRTC negotiation message relayed verbatim to one peer. */
export const RtcSignal = Type.Union([
  Type.Object(
    {
      type: Type.Literal('description'),
      description: Type.Object(
        { type: Type.Union([Type.Literal('offer'), Type.Literal('answer'), Type.Literal('pranswer'), Type.Literal('rollback')]), sdp: Type.Optional(Type.String({ maxLength: 60_000 })) },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('candidate'),
      candidate: Type.Union([
        Type.Null(),
        Type.Object(
          {
            candidate: Type.String({ maxLength: 1024 }),
            sdpMid: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
            sdpMLineIndex: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 255 }), Type.Null()])),
            usernameFragment: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
          },
          { additionalProperties: false },
        ),
      ]),
    },
    { additionalProperties: false },
  ),
]);
export type RtcSignal = Static<typeof RtcSignal>;

export const RoomSignalRequest = Type.Object(
  { roomId: Id, to: Type.String({ minLength: 1, maxLength: 64 }), signal: RtcSignal },
  { additionalProperties: false },
);
export type RoomSignalRequest = Static<typeof RoomSignalRequest>;

export const ChatSendRequest = Type.Object(
  { roomId: Id, text: Type.String({ minLength: 1, maxLength: 4000 }), clientId: Type.Optional(Type.String({ maxLength: 64 })) },
  { additionalProperties: false },
);
export type ChatSendRequest = Static<typeof ChatSendRequest>;

export const ChatHistoryRequest = Type.Object(
  { roomId: Id, beforeSeq: Type.Optional(Type.Integer({ minimum: 1 })), limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }) },
  { additionalProperties: false },
);
export type ChatHistoryRequest = Static<typeof ChatHistoryRequest>;

export const TypingRequest = Type.Object({ roomId: Id, typing: Type.Boolean() }, { additionalProperties: false });
export type TypingRequest = Static<typeof TypingRequest>;

export const PresenceUpdateRequest = Type.Object(
  { status: PresenceStatusSchema, note: Type.Optional(Type.String({ maxLength: 200 })) },
  { additionalProperties: false },
);
export type PresenceUpdateRequest = Static<typeof PresenceUpdateRequest>;

export const PresenceSubscribeRequest = Type.Object(
  { identities: Type.Array(Identity, { minItems: 1, maxItems: 200 }) },
  { additionalProperties: false },
);
export type PresenceSubscribeRequest = Static<typeof PresenceSubscribeRequest>;

export const CallInviteRequest = Type.Object(
  {
    to: Identity,
    media: Type.Object({ audio: Type.Boolean({ default: true }), video: Type.Boolean({ default: true }) }, { additionalProperties: false, default: {} }),
    metadata: Type.Optional(Metadata),
    /** Seconds the callee's clients ring before the call ends with `no-answer`. */
    ringTimeoutSeconds: Type.Integer({ minimum: 5, maximum: 120, default: 30 }),
  },
  { additionalProperties: false },
);
export type CallInviteRequest = Static<typeof CallInviteRequest>;

export const CallRef = Type.Object({ callId: Id }, { additionalProperties: false });
export type CallRef = Static<typeof CallRef>;

export const HANGUP_REASONS = ['local-hangup', 'remote-hangup', 'busy', 'no-answer', 'rejected', 'cancelled', 'media-timeout', 'network', 'answered-elsewhere', 'error'] as const;
export type HangupReason = (typeof HANGUP_REASONS)[number];
export const HangupReasonSchema = Type.Union([
  Type.Literal('local-hangup'),
  Type.Literal('remote-hangup'),
  Type.Literal('busy'),
  Type.Literal('no-answer'),
  Type.Literal('rejected'),
  Type.Literal('cancelled'),
  Type.Literal('media-timeout'),
  Type.Literal('network'),
  Type.Literal('answered-elsewhere'),
  Type.Literal('error'),
]);

export const CallEndRequest = Type.Object(
  { callId: Id, reason: Type.Optional(HangupReasonSchema) },
  { additionalProperties: false },
);
export type CallEndRequest = Static<typeof CallEndRequest>;

export const CallHoldRequest = Type.Object({ callId: Id, hold: Type.Boolean() }, { additionalProperties: false });
export type CallHoldRequest = Static<typeof CallHoldRequest>;

export const CallSignalRequest = Type.Object({ callId: Id, signal: RtcSignal }, { additionalProperties: false });
export type CallSignalRequest = Static<typeof CallSignalRequest>;

/** File transfer control; the bytes go over a DataChannel between the peers. */
export const FileOfferRequest = Type.Object(
  {
    transferId: Type.String({ minLength: 1, maxLength: 64 }),
    /** Room participant id, or omitted with `callId` for the other party of a 1:1 call. */
    to: Type.Optional(Type.String({ maxLength: 64 })),
    roomId: Type.Optional(Id),
    callId: Type.Optional(Id),
    name: Type.String({ minLength: 1, maxLength: 255 }),
    size: Type.Integer({ minimum: 0, maximum: 2 * 1024 * 1024 * 1024 }),
    mime: Type.String({ maxLength: 255, default: 'application/octet-stream' }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  },
  { additionalProperties: false },
);
export type FileOfferRequest = Static<typeof FileOfferRequest>;

export const FileReplyRequest = Type.Object(
  {
    transferId: Type.String({ minLength: 1, maxLength: 64 }),
    to: Type.Optional(Type.String({ maxLength: 64 })),
    roomId: Type.Optional(Id),
    callId: Type.Optional(Id),
    reason: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type FileReplyRequest = Static<typeof FileReplyRequest>;

export const DialRequest = Type.Object(
  {
    /** E.164 number (`+15551234567`) or SIP URI (`sip:alice@pbx.example.com`). */
    to: Type.String({ minLength: 2, maxLength: 256 }),
    callerId: Type.Optional(Type.String({ maxLength: 64 })),
    sdp: Type.String({ minLength: 10, maxLength: 60_000 }),
    /** media-services: the room the call is placed from (per-room recording policy; the token must grant the room). */
    roomId: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type DialRequest = Static<typeof DialRequest>;

export const DialControlRequest = Type.Object(
  {
    callId: Id,
    action: Type.Union([Type.Literal('hangup'), Type.Literal('hold'), Type.Literal('resume'), Type.Literal('dtmf'), Type.Literal('transfer'), Type.Literal('record') /* media-services */]),
    digits: Type.Optional(Type.String({ pattern: '^[0-9*#A-D]{1,32}$' })),
    target: Type.Optional(Type.String({ maxLength: 256 })),
    // --- media-services: action 'record' (needs the token's `record` grant; docs/recordings.md) ---
    recording: Type.Optional(Type.Union([Type.Literal('start'), Type.Literal('stop'), Type.Literal('pause'), Type.Literal('resume')])),
    announce: Type.Optional(Type.Boolean()),
    // --- end media-services ---
  },
  { additionalProperties: false },
);
export type DialControlRequest = Static<typeof DialControlRequest>;

export const DialAnswerRequest = Type.Object(
  { callId: Id, sdp: Type.String({ minLength: 10, maxLength: 60_000 }) },
  { additionalProperties: false },
);
export type DialAnswerRequest = Static<typeof DialAnswerRequest>;

// ---- results and notifications -----------------------------------------------------------------

export interface SessionInfo {
  protocolVersion: number;
  tenantId: string;
  identity: string;
  displayName?: string;
  grants: Grants;
  /** When the access token expires (ISO time): connect again with a fresh token before then. */
  tokenExpiresAt: string;
  iceServers: IceServer[];
  /** When the TURN credentials in iceServers expire (ISO time); refresh with `ice:refresh` before. */
  iceServersExpireAt: string;
  serverTime: string;
}

export interface JoinRoomResult {
  room: Room;
  participantId: string;
  resumed: boolean;
  participants: Participant[];
  iceServers: IceServer[];
  iceServersExpireAt: string;
  recentMessages: ChatMessage[];
}

export interface PresenceInfo {
  identity: string;
  status: PresenceStatus;
  note?: string;
  updatedAt: string;
}

export interface CallInfo {
  callId: string;
  from: { identity: string; displayName?: string };
  to: { identity: string };
  media: { audio: boolean; video: boolean };
  metadata?: Metadata;
}

export type ParticipantLeftReason = 'left' | 'disconnected' | 'kicked' | 'room-closed';

export interface ClientToServerEvents {
  'room:join': (req: JoinRoomRequest, ack: (res: Ack<JoinRoomResult>) => void) => void;
  'room:leave': (req: RoomRef, ack: (res: Ack<Record<string, never>>) => void) => void;
  'room:state': (req: UpdateStateRequest, ack: (res: Ack<Participant>) => void) => void;
  'room:signal': (req: RoomSignalRequest, ack: (res: Ack<Record<string, never>>) => void) => void;
  'chat:send': (req: ChatSendRequest, ack: (res: Ack<ChatMessage>) => void) => void;
  'chat:history': (req: ChatHistoryRequest, ack: (res: Ack<{ messages: ChatMessage[] }>) => void) => void;
  'chat:typing': (req: TypingRequest) => void;
  'presence:update': (req: PresenceUpdateRequest, ack: (res: Ack<PresenceInfo>) => void) => void;
  'presence:subscribe': (req: PresenceSubscribeRequest, ack: (res: Ack<{ presence: PresenceInfo[] }>) => void) => void;
  'call:invite': (req: CallInviteRequest, ack: (res: Ack<{ callId: string }>) => void) => void;
  'call:accept': (req: CallRef, ack: (res: Ack<Record<string, never>>) => void) => void;
  'call:reject': (req: CallEndRequest, ack: (res: Ack<Record<string, never>>) => void) => void;
  'call:cancel': (req: CallRef, ack: (res: Ack<Record<string, never>>) => void) => void;
  'call:hangup': (req: CallEndRequest, ack: (res: Ack<Record<string, never>>) => void) => void;
  'call:hold': (req: CallHoldRequest, ack: (res: Ack<Record<string, never>>) => void) => void;
  'call:signal': (req: CallSignalRequest, ack: (res: Ack<Record<string, never>>) => void) => void;
  /** After a signalling reconnect: take the call over on the new connection (within the grace period). */
  'call:resume': (req: CallRef, ack: (res: Ack<{ state: 'ringing' | 'active'; held: boolean }>) => void) => void;
  'file:offer': (req: FileOfferRequest, ack: (res: Ack<Record<string, never>>) => void) => void;
  'file:accept': (req: FileReplyRequest, ack: (res: Ack<Record<string, never>>) => void) => void;
  'file:decline': (req: FileReplyRequest, ack: (res: Ack<Record<string, never>>) => void) => void;
  'file:cancel': (req: FileReplyRequest, ack: (res: Ack<Record<string, never>>) => void) => void;
  'ice:refresh': (req: Record<string, never>, ack: (res: Ack<{ iceServers: IceServer[]; iceServersExpireAt: string }>) => void) => void;
  /** WebRTC ⇄ SIP gateway: dial a phone number or SIP URI (needs the dialOut grant). */
  'dial:start': (req: DialRequest, ack: (res: Ack<{ callId: string }>) => void) => void;
  'dial:control': (req: DialControlRequest, ack: (res: Ack<Record<string, never>>) => void) => void;
  'dial:answer': (req: DialAnswerRequest, ack: (res: Ack<Record<string, never>>) => void) => void;
}

export interface ServerToClientEvents {
  'session:ready': (info: SessionInfo) => void;
  'room:participant-joined': (e: { roomId: string; participant: Participant }) => void;
  'room:participant-updated': (e: { roomId: string; participant: Participant }) => void;
  'room:participant-left': (e: { roomId: string; participantId: string; identity: string; reason: ParticipantLeftReason }) => void;
  'room:closed': (e: { roomId: string }) => void;
  'room:signal': (e: { roomId: string; from: string; fromIdentity: string; signal: RtcSignal }) => void;
  'chat:message': (m: ChatMessage) => void;
  'chat:typing': (e: { roomId: string; participantId: string; identity: string; typing: boolean }) => void;
  'presence:changed': (p: PresenceInfo) => void;
  'call:incoming': (c: CallInfo) => void;
  'call:ringing': (e: { callId: string }) => void;
  'call:accepted': (e: { callId: string }) => void;
  'call:held': (e: { callId: string; hold: boolean; by: string }) => void;
  'call:ended': (e: { callId: string; reason: HangupReason; by?: string }) => void;
  'call:signal': (e: { callId: string; signal: RtcSignal }) => void;
  'file:offer': (e: FileOfferRequest & { from: string; fromIdentity: string }) => void;
  'file:accepted': (e: FileReplyRequest & { from: string }) => void;
  'file:declined': (e: FileReplyRequest & { from: string }) => void;
  'file:cancelled': (e: FileReplyRequest & { from: string }) => void;
  /** WebRTC ⇄ SIP gateway events. */
  'dial:progress': (e: { callId: string; status: 'trying' | 'ringing' | 'early-media'; sdp?: string }) => void;
  'dial:answered': (e: { callId: string; sdp: string }) => void;
  'dial:ended': (e: { callId: string; reason: HangupReason; sipStatus?: number }) => void;
  /** An inbound SIP call to this identity through the gateway: answer with `dial:answer`, refuse with `dial:control` hangup. */
  'dial:incoming': (e: { callId: string; from: string; sdp: string }) => void;
}
