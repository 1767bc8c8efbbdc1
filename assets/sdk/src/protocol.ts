/**
 * The signalling protocol, as types only: `import type` guarantees no server code (or TypeBox) reaches the bundle,
 * and a protocol change that the SDK does not follow fails to compile.
 */
import type { ClientToServerEvents, Ack, PROTOCOL_VERSION } from '../../../runtime/core/protocol/events.js';

export type {
  Ack,
  AckError,
  CallInfo,
  ChatMessage,
  ClientToServerEvents,
  ConnectErrorData,
  HangupReason,
  IceServer,
  JoinRoomResult,
  MediaState,
  Participant,
  ParticipantLeftReason,
  PresenceInfo,
  PresenceStatus,
  Room as RoomInfo,
  RtcSignal,
  ServerToClientEvents,
  SessionInfo,
  FileOfferRequest,
  Grants,
} from '../../../runtime/core/protocol/events.js';

/** The protocol version this SDK speaks; compiling against a server protocol with another version fails here. */
export const SDK_PROTOCOL_VERSION: typeof PROTOCOL_VERSION = 1;

export type RequestName = keyof ClientToServerEvents;
export type RequestPayload<K extends RequestName> = Parameters<ClientToServerEvents[K]>[0];
export type ResponseData<K extends RequestName> = Parameters<ClientToServerEvents[K]>[1] extends (res: Ack<infer T>) => void ? T : never;
