/**
 * CPaaS browser SDK. Entry points: `connect()` (signalling session), `LocalMedia` (microphone/camera/screen),
 * `listDevices()`. See docs/sdk.md.
 */
export { connect, CpaasClient, type ConnectOptions, type ConnectionState } from './client.js';
export { Room, type JoinOptions, type RemoteTrackEvent } from './room.js';
export { Call, type CallState, type CallMessage, type CallOptions } from './call.js';
export { PhoneCall, type PhoneCallState, type PhoneCallOptions, type DialOptions } from './phone.js';
export { LocalMedia, listDevices, onDeviceChange, type DeviceList, type LocalMediaOptions, type TrackSource } from './devices.js';
export { FileTransfer, type TransferState } from './files.js';
export { Peer, type RemoteTrack, type TurnErrorInfo } from './peer.js';
export { CpaasError, type CpaasErrorCode, type SdkErrorCode } from './errors.js';
export { rFactor, mosFromR, type QualitySample } from './quality.js';
export { Sha256, sha256OfBlob } from './sha256.js';
export { SDK_PROTOCOL_VERSION } from './protocol.js';
export { Voicemail, type VoicemailListOptions, type VoicemailMessage, type VoicemailPage, type VoicemailWithUrl, type MailboxRef } from './voicemail.js'; // voicemail
export type { ChatMessage, Participant, PresenceInfo, PresenceStatus, HangupReason, IceServer, SessionInfo, RoomInfo, CallInfo } from './protocol.js';

declare const __SDK_VERSION__: string;
/** The SDK version (set at build time). */
export const VERSION: string = typeof __SDK_VERSION__ === 'string' ? __SDK_VERSION__ : 'dev';
// --- media-services (docs/recordings.md) ---
export { LocalRoomRecording, type LocalRecordingOptions, type LocalRecordingResult } from './recording.js';
// --- end media-services ---
