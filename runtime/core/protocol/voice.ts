/**
 * Programmable voice (docs/voice.md): the call-control document (a JSON array of verbs) that a tenant's
 * application returns, and the events the platform posts to it. One schema, used by the SBC's interpreter
 * (runtime/sbc/voice/) to validate what a webhook returned and by the REST API (inline documents, OpenAPI).
 *
 * A document runs verb by verb. A verb with an `actionHook` posts its result (digits, recording, dial outcome)
 * to that URL and the returned document REPLACES the rest of the current one; without `actionHook` the result is
 * kept in the call's variables and the next verb runs. When the document ends the call is hung up.
 */
import { Type, type Static } from 'typebox';

const HookUrl = Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048, description: 'http(s) URL of the tenant application; receives a signed POST' });
const Seconds = (max: number, def?: number, description?: string) =>
  Type.Number({ minimum: 0, maximum: max, ...(def !== undefined ? { default: def } : {}), ...(description ? { description } : {}) });
const DtmfKey = Type.String({ pattern: '^[0-9*#A-D]$', description: 'One DTMF key' });

/** What `play` (and prompts inside gather/record) can play. Exactly one of url, media, tone. */
export const PlaySource = Type.Object(
  {
    url: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048, description: 'WAV file (PCM 16-bit or G.711, any rate: resampled to 8 kHz mono)' })),
    media: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', description: 'Name of a file in the tenant media library (docs/recordings.md)' })),
    tone: Type.Optional(
      Type.Object(
        {
          frequencies: Type.Array(Type.Number({ minimum: 50, maximum: 4000 }), { minItems: 1, maxItems: 2, description: 'One or two frequencies in Hz' }),
          durationMs: Type.Integer({ minimum: 20, maximum: 60000 }),
          /** Repeating on/off cadence (e.g. ringback 2000/4000); absent = continuous. */
          onMs: Type.Optional(Type.Integer({ minimum: 20, maximum: 10000 })),
          offMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 10000 })),
        },
        { additionalProperties: false },
      ),
    ),
    loop: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 1 })),
  },
  { additionalProperties: false, $id: 'PlaySource' },
);
export type PlaySource = Static<typeof PlaySource>;

export const DialTargetSpec = Type.Union(
  [
    Type.Object({ type: Type.Literal('phone'), number: Type.String({ pattern: '^\\+?[0-9]{2,15}$' }) }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('sip'), uri: Type.String({ pattern: '^sips?:[^\\s]+$', maxLength: 512 }) }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('user'), name: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false, description: 'A SIP user of the tenant (its registered devices)' }),
    Type.Object({ type: Type.Literal('identity'), identity: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false, description: 'A WebRTC identity (rings its browsers)' }),
  ],
  { $id: 'DialTarget' },
);
export type DialTargetSpec = Static<typeof DialTargetSpec>;

const verb = <N extends string, P extends Record<string, import('typebox').TSchema>>(name: N, props: P, description: string) =>
  Type.Object({ verb: Type.Literal(name), ...props }, { additionalProperties: false, description });

export const Verb = Type.Union(
  [
    verb('answer', {}, 'Answer the call (implicit before any media verb).'),
    verb('hangup', { reason: Type.Optional(Type.String({ maxLength: 128 })) }, 'Hang up.'),
    verb('pause', { seconds: Seconds(300, 1) }, 'Silence for a while.'),
    verb('play', { source: PlaySource }, 'Play a file, a library file or a tone.'),
    verb(
      'gather',
      {
        numDigits: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, description: 'Stop after this many digits' })),
        finishOnKey: Type.Optional(DtmfKey),
        timeoutSeconds: Seconds(120, 5, 'Silence after the prompt (and between digits) that ends the gather'),
        prompt: Type.Optional(PlaySource),
        actionHook: Type.Optional(HookUrl),
      },
      'Collect DTMF digits (RFC 4733 or SIP INFO). Result: `{ digits, reason: "numDigits"|"finishOnKey"|"timeout" }`.',
    ),
    verb(
      'dial',
      {
        targets: Type.Array(DialTargetSpec, { minItems: 1, maxItems: 10 }),
        mode: Type.Optional(Type.Union([Type.Literal('sequential'), Type.Literal('simultaneous')], { default: 'sequential' })),
        callerId: Type.Optional(Type.String({ maxLength: 64 })),
        timeoutSeconds: Seconds(300, 30, 'Ring time per target (sequential) or in total (simultaneous)'),
        timeLimitSeconds: Type.Optional(Seconds(86400, undefined, 'Maximum length of the bridged call')),
        actionHook: Type.Optional(HookUrl),
      },
      'Call targets and bridge the first that answers. Result: `{ dialStatus: "answered"|"busy"|"no-answer"|"failed", durationSeconds }`.',
    ),
    verb(
      'record',
      {
        maxLengthSeconds: Seconds(3600, 120),
        finishOnKey: Type.Optional(DtmfKey),
        beep: Type.Optional(Type.Boolean({ default: true })),
        /** Ends the recording after this much silence. */
        silenceTimeoutSeconds: Type.Optional(Seconds(60)),
        /** Store the recording as a voicemail message of this mailbox instead of a call recording. */
        voicemail: Type.Optional(Type.Object({ mailbox: Type.String({ minLength: 1, maxLength: 128 }), kind: Type.Union([Type.Literal('sip-user'), Type.Literal('identity')]) }, { additionalProperties: false })),
        actionHook: Type.Optional(HookUrl),
      },
      'Record the caller. Result: `{ recordingId?, voicemailId?, durationSeconds, reason: "finishOnKey"|"maxLength"|"silence"|"hangup" }`.',
    ),
    verb('redirect', { url: HookUrl }, 'Fetch a new document from this URL and run it instead of the rest of this one.'),
    verb(
      'conference',
      {
        name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' }),
        muted: Type.Optional(Type.Boolean()),
        held: Type.Optional(Type.Boolean()),
        endOnLeave: Type.Optional(Type.Boolean()),
        actionHook: Type.Optional(HookUrl),
      },
      'Join a named audio conference of the tenant until the participant leaves or is kicked.',
    ),
    verb(
      'enqueue',
      { queue: Type.String({ minLength: 1, maxLength: 64 }), waitPlay: Type.Optional(PlaySource), timeoutSeconds: Type.Optional(Seconds(3600)), actionHook: Type.Optional(HookUrl) },
      'Wait in a named queue (hearing waitPlay in a loop) until a `dequeue` bridges the call. Result: `{ queueResult: "bridged"|"timeout"|"hangup" }`.',
    ),
    verb('dequeue', { queue: Type.String({ minLength: 1, maxLength: 64 }), timeoutSeconds: Seconds(3600, 30), actionHook: Type.Optional(HookUrl) }, 'Bridge this call to the longest-waiting caller of the queue.'),
    verb('sip_refer', { referTo: Type.String({ pattern: '^(sips?:|tel:)[^\\s]+$', maxLength: 512 }), actionHook: Type.Optional(HookUrl) }, 'Ask the caller\'s SIP device to transfer (REFER).'),
    verb('tag', { data: Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()])) }, 'Attach data to the call record (merged).'),
  ],
  { $id: 'Verb' },
);
export type Verb = Static<typeof Verb>;

export const CallDocument = Type.Array(Verb, { minItems: 1, maxItems: 100, $id: 'CallDocument', description: 'A call-control document: verbs run in order' });
export type CallDocument = Static<typeof CallDocument>;

/** Where a call's instructions come from: an application URL (fetched with a signed POST) or an inline document. */
export const ApplicationSpec = Type.Object(
  {
    url: Type.Optional(HookUrl),
    fallbackUrl: Type.Optional(HookUrl),
    document: Type.Optional(CallDocument),
  },
  { additionalProperties: false, $id: 'ApplicationSpec', description: 'Exactly one of `url` or `document`' },
);
export type ApplicationSpec = Static<typeof ApplicationSpec>;

/** Body posted to an application/actionHook URL. The response body must be a CallDocument (or empty = hang up). */
export interface VoiceHookEvent {
  event: 'call.incoming' | 'call.outbound' | 'verb.result' | 'call.redirect';
  tenantId: string;
  callId: string;
  direction: 'inbound' | 'outbound';
  from: string;
  to: string;
  /** The verb that produced this result (verb.result). */
  verb?: Verb['verb'];
  result?: Record<string, unknown>;
  /** Accumulated results of verbs without actionHook, and `tag` data. */
  variables: Record<string, unknown>;
}

export type CallStatus = 'initiated' | 'ringing' | 'answered' | 'completed';

/** Body of a status callback (signed like every platform webhook). Sequence numbers are per call, from 1. */
export interface CallStatusEvent {
  event: 'call.status';
  tenantId: string;
  callId: string;
  status: CallStatus;
  sequence: number;
  timestamp: string;
  direction: 'inbound' | 'outbound';
  from: string;
  to: string;
  /** completed only */
  cause?: string;
  sipStatus?: number;
  durationSeconds?: number;
}
