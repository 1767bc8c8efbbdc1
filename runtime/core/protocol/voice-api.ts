/**
 * REST DTOs of programmable voice (docs/api.md § Programmable voice): applications, originating and modifying
 * calls, the live view of a call. The call-control document itself (CallDocument, Verb, ApplicationSpec) is in
 * ./voice.ts; the SBC's private control API (runtime/sbc/voice/control.ts) validates its bodies with the schemas
 * at the end of this file.
 */
import { Type, type Static } from 'typebox';
import { ApplicationSpec, CallDocument, DialTargetSpec } from './voice.js';

const hookUrl = (description = 'http(s) URL; receives signed POSTs (docs/webhooks.md)') => Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048, description });
const HookUrl = hookUrl();
const Time = Type.String({ format: 'date-time' });

export const StatusCallback = Type.Object(
  {
    url: HookUrl,
    fallbackUrl: Type.Optional(HookUrl),
  },
  { additionalProperties: false, $id: 'StatusCallback', description: 'Where `call.status` webhooks (initiated, ringing, answered, completed) go, in order per call', examples: [{ url: 'https://example.com/voice/status' }] },
);
export type StatusCallback = Static<typeof StatusCallback>;

export const ApplicationId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'Application id (`app_…`)' });

// --- voice-sip-address: `sip:<address>@<tenant SIP domain>` runs the application (docs/voice.md § SIP addresses) ---
export const SipAddress = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^(?!\\+?[0-9]{3,15}$)[A-Za-z0-9][A-Za-z0-9_.+-]*$',
  description: 'SIP user part like a SIP username (letters, digits, `_ . + -`), not a phone number (those are numbers: PUT /v1/numbers)',
  examples: ['support'],
});
const sipAddressesField = Type.Optional(
  Type.Array(SipAddress, {
    maxItems: 20,
    uniqueItems: true,
    description:
      '`sip:<address>@<tenant SIP domain>` runs this application, called from a registered device of the tenant or one of its carrier trunks. Unique per tenant (409 `SIP_ADDRESS_TAKEN`) and never the name of a SIP user (409 `SIP_ADDRESS_IS_SIP_USER`; creating such a SIP user is refused with `SIP_USERNAME_IS_SIP_ADDRESS`). At most 20.',
  }),
);
// --- end voice-sip-address ---

const applicationFields = {
  name: Type.String({ minLength: 1, maxLength: 128 }),
  url: Type.Optional(hookUrl('Webhook that returns the call-control document (signed POST of a VoiceHookEvent)')),
  fallbackUrl: Type.Optional(hookUrl('Tried when `url` fails or times out')),
  document: Type.Optional(CallDocument),
  statusCallback: Type.Optional(StatusCallback),
  sipAddresses: sipAddressesField, // voice-sip-address
};

const appExamples = [
  { name: 'support line', url: 'https://example.com/voice/incoming', statusCallback: { url: 'https://example.com/voice/status' }, sipAddresses: ['support'] },
  { name: 'after hours', document: [{ verb: 'play', source: { tone: { frequencies: [440], durationMs: 500 } } }, { verb: 'record', maxLengthSeconds: 60, voicemail: { mailbox: 'alice', kind: 'sip-user' } }] },
];

export const CreateApplicationRequest = Type.Object(applicationFields, {
  additionalProperties: false,
  $id: 'CreateApplicationRequest',
  description: 'Exactly one of `url` (a webhook returning documents) or `document` (an inline call-control document)',
  examples: appExamples,
});
export type CreateApplicationRequest = Static<typeof CreateApplicationRequest>;

export const UpdateApplicationRequest = Type.Object(applicationFields, {
  additionalProperties: false,
  $id: 'UpdateApplicationRequest',
  description: 'Replaces the application (same rules as creation)',
  examples: appExamples,
});

export const ApplicationDto = Type.Object(
  {
    id: Type.String(),
    ...applicationFields,
    createdAt: Time,
    updatedAt: Time,
  },
  { $id: 'Application', description: 'A voice application: what runs when a number mapped to it is called, or a call is originated with it' },
);

/** A dial target as the REST API accepts it: the object form or a string. */
export const DialTargetInput = Type.Union(
  [
    DialTargetSpec,
    Type.String({
      minLength: 2,
      maxLength: 512,
      description: '`+14155550100` or `14155550100` (phone), `sip:bob@example.com` (SIP URI), `user:alice` (a SIP user of the tenant), `identity:alice` (a WebRTC identity)',
    }),
  ],
  { description: 'Who to call: a DialTarget object or a string', examples: ['+14155550100', 'user:alice', { type: 'identity', identity: 'agent-7' }] },
);

export const CallTag = Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()]), {
  description: 'Data attached to the call record',
});

export const OriginateCallRequest = Type.Object(
  {
    to: DialTargetInput,
    from: Type.String({ minLength: 1, maxLength: 128, description: 'Caller id: one of the tenant\'s numbers (E.164), a SIP user or an identity' }),
    application: Type.Optional(ApplicationSpec),
    applicationId: Type.Optional(ApplicationId),
    statusCallback: Type.Optional(StatusCallback),
    ringTimeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 300, description: 'How long the callee rings (default: the SBC\'s ring timeout)' })),
    timeLimitSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400, description: 'Maximum length of the call once answered' })),
    tag: Type.Optional(CallTag),
  },
  {
    additionalProperties: false,
    $id: 'OriginateCallRequest',
    description: 'Exactly one of `application` (inline) or `applicationId`. When the callee answers, the application runs on the call. Supports `Idempotency-Key`.',
    examples: [
      { to: '+14155550100', from: '+14155550199', application: { url: 'https://example.com/voice/outbound' }, statusCallback: { url: 'https://example.com/voice/status' }, ringTimeoutSeconds: 30 },
      { to: { type: 'user', name: 'agent-7' }, from: '+14155550199', application: { document: [{ verb: 'dial', targets: [{ type: 'phone', number: '+14155550123' }], callerId: '+14155550199' }] } },
    ],
  },
);
export type OriginateCallRequest = Static<typeof OriginateCallRequest>;

const CallStatusSchema = Type.Union([Type.Literal('initiated'), Type.Literal('ringing'), Type.Literal('answered'), Type.Literal('completed')]);

export const LiveCallDto = Type.Object(
  {
    callId: Type.String(),
    tenantId: Type.String(),
    direction: Type.Union([Type.Literal('inbound'), Type.Literal('outbound')]),
    from: Type.String(),
    to: Type.String(),
    status: CallStatusSchema,
    verb: Type.Optional(Type.String({ description: 'The verb running now' })),
    muted: Type.Boolean(),
    held: Type.Boolean(),
    recording: Type.Boolean(),
    startedAt: Time,
    answeredAt: Type.Optional(Time),
  },
  { $id: 'LiveCall', description: 'A programmable call as the SBC sees it now' },
);
export type LiveCallDto = Static<typeof LiveCallDto>;

export const CallModifyRequest = Type.Union(
  [
    Type.Object({ action: Type.Literal('hangup') }, { additionalProperties: false, description: 'Hang up' }),
    Type.Object({ action: Type.Literal('redirect'), application: ApplicationSpec }, { additionalProperties: false, description: 'Stop the current document and run this application' }),
    Type.Object(
      { action: Type.Union([Type.Literal('mute'), Type.Literal('unmute'), Type.Literal('hold'), Type.Literal('unhold')]) },
      { additionalProperties: false, description: 'Mute (the caller is not heard) or hold (neither side hears the other)' },
    ),
    Type.Object(
      { action: Type.Literal('record'), record: Type.Union([Type.Literal('start'), Type.Literal('stop'), Type.Literal('pause'), Type.Literal('resume')]) },
      { additionalProperties: false, description: 'Call recording (docs/recordings.md)' },
    ),
    Type.Object({ action: Type.Literal('dtmf'), digits: Type.String({ pattern: '^[0-9*#A-Dw]{1,64}$', description: 'DTMF keys to send (`w` = 500 ms pause)' }) }, { additionalProperties: false, description: 'Send DTMF (RFC 4733) to the caller' }),
    Type.Object({ action: Type.Literal('transfer'), to: DialTargetSpec }, { additionalProperties: false, description: 'Transfer (bridge the call to this target)' }),
  ],
  {
    $id: 'CallModify',
    description: 'A change to a live programmable call',
    examples: [{ action: 'hangup' }, { action: 'redirect', application: { url: 'https://example.com/voice/menu' } }, { action: 'dtmf', digits: '1234#' }, { action: 'record', record: 'start' }],
  },
);
export type CallModifyRequest = Static<typeof CallModifyRequest>;

// ---- SBC private control API (runtime/sbc/voice/control.ts) -------------------------------------------------

export const VoiceOriginateBody = Type.Object(
  {
    tenantId: Type.String({ minLength: 1, maxLength: 128 }),
    to: DialTargetSpec,
    from: Type.String({ minLength: 1, maxLength: 128 }),
    application: ApplicationSpec,
    statusCallback: Type.Optional(StatusCallback),
    ringTimeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 300 })),
    timeLimitSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
    tag: Type.Optional(CallTag),
  },
  { additionalProperties: false },
);

export const VoiceModifyBody = Type.Object({ tenantId: Type.String({ minLength: 1, maxLength: 128 }), change: CallModifyRequest }, { additionalProperties: false });
