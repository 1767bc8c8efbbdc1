/**
 * REST DTOs of the media services (docs/recordings.md): recording control of live calls, playback/tones/DTMF
 * injection, the tenant media library, and client-side (browser) room recording uploads.
 */
import { Type, type Static } from 'typebox';
import { PlaySource } from './voice.js';

export const CallIdParams = Type.Object({ callId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) });

export const RecordingAction = Type.Union([Type.Literal('start'), Type.Literal('stop'), Type.Literal('pause'), Type.Literal('resume')]);
export type RecordingAction = Static<typeof RecordingAction>;

export const RecordingControlRequest = Type.Object(
  {
    action: RecordingAction,
    announce: Type.Optional(Type.Boolean({ description: 'Play the consent tone to both parties when recording starts or resumes (default: the tenant’s setting on the SBC)' })),
  },
  { additionalProperties: false, $id: 'RecordingControlRequest' },
);
export type RecordingControlRequest = Static<typeof RecordingControlRequest>;

export const RecordingControlResult = Type.Object(
  {
    callId: Type.String(),
    recording: Type.Boolean({ description: 'true while recording or paused' }),
    state: Type.Union([Type.Literal('off'), Type.Literal('recording'), Type.Literal('paused'), Type.Literal('stopped')]),
    announced: Type.Boolean(),
  },
  { $id: 'RecordingControlResult' },
);

export const Legs = Type.Union([Type.Literal('caller'), Type.Literal('callee'), Type.Literal('both')], {
  description: '`caller` = the party that placed the call (the browser of a gateway call it dialed), `callee` = the other one',
});

/** PlaySource (runtime/core/protocol/voice.ts) without its `$id`: the same `$id` embedded by two routes confuses fastify's Ajv. */
export const PlaySourceBody = Type.Object(PlaySource.properties, { additionalProperties: false, description: 'Exactly one of `url`, `media`, `tone`' });

export const PlayRequest = Type.Object(
  { source: PlaySourceBody, legs: Type.Optional(Legs) },
  { additionalProperties: false, $id: 'PlayRequest' },
);
export type PlayRequest = Static<typeof PlayRequest>;

export const PlayResult = Type.Object(
  { callId: Type.String(), durationMs: Type.Integer(), legs: Legs },
  { $id: 'PlayResult' },
);

export const StopPlayResult = Type.Object({ callId: Type.String(), stopped: Type.Boolean() }, { $id: 'StopPlayResult' });

export const DtmfRequest = Type.Object(
  {
    digits: Type.String({ pattern: '^[0-9*#A-D]{1,32}$' }),
    legs: Type.Optional(Type.Union([Type.Literal('caller'), Type.Literal('callee'), Type.Literal('both')], { description: 'Who hears the digits; default `callee`' })),
    durationMs: Type.Optional(Type.Integer({ minimum: 40, maximum: 2000, default: 160 })),
  },
  { additionalProperties: false, $id: 'DtmfRequest' },
);
export type DtmfRequest = Static<typeof DtmfRequest>;

export const DtmfResult = Type.Object({ callId: Type.String(), digits: Type.String() }, { $id: 'DtmfResult' });

// ---- media library -------------------------------------------------------------------------------------

export const MediaNameParams = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' }),
});

export const MediaFileDto = Type.Object(
  {
    name: Type.String(),
    sizeBytes: Type.Integer(),
    durationMs: Type.Optional(Type.Integer()),
    sha256: Type.Optional(Type.String()),
    original: Type.Optional(Type.String({ description: 'What was uploaded, e.g. `pcm/44100/2` (format/rate/channels); stored as 8 kHz mono PCM' })),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'MediaFile' },
);

export const MediaListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  cursor: Type.Optional(Type.String({ maxLength: 2048 })),
});

// ---- client-side room recordings -------------------------------------------------------------------------

export const ClientRecordingContentType = Type.Union(
  [Type.Literal('audio/webm'), Type.Literal('video/webm'), Type.Literal('audio/ogg'), Type.Literal('audio/wav'), Type.Literal('audio/mp4'), Type.Literal('video/mp4')],
  { description: 'What MediaRecorder produces (codecs parameters are not part of it)' },
);

export const CreateUploadRequest = Type.Object(
  {
    contentType: ClientRecordingContentType,
    startedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When the browser started recording (default: now)' })),
  },
  { additionalProperties: false, $id: 'CreateClientUploadRequest' },
);
export type CreateUploadRequest = Static<typeof CreateUploadRequest>;

export const UploadTicket = Type.Object(
  {
    recordingId: Type.String(),
    uploadUrl: Type.String({ description: 'Presigned S3 PUT; send the file with the same Content-Type' }),
    expiresAt: Type.String({ format: 'date-time' }),
    maxBytes: Type.Integer(),
  },
  { $id: 'ClientUploadTicket' },
);

export const CompleteUploadRequest = Type.Object(
  { durationSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 86_400 })) },
  { additionalProperties: false, $id: 'CompleteClientUploadRequest' },
);

export const RoomUploadParams = Type.Object({
  roomId: Type.String({ minLength: 1, maxLength: 64 }),
  recordingId: Type.String({ minLength: 1, maxLength: 64, pattern: '^rec_[a-z0-9]+$' }),
});
export const RoomParams = Type.Object({ roomId: Type.String({ minLength: 1, maxLength: 64 }) });
