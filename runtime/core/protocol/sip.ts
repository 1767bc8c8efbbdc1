/**
 * REST DTOs of the SIP side: domain, SIP users, registrations, trunks, routes, numbers, gateway health and
 * call records (1:1 WebRTC and SIP). Secrets are write-only: HA1s and passwords never appear in a response.
 */
import { Type, type Static } from 'typebox';
import { DisplayName, Identity, Metadata } from './common.js';

export const SipUsername = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.+-]*$', description: 'SIP user part (letters, digits, `_ . + -`)' });
export const SipDomainName = Type.String({
  minLength: 3,
  maxLength: 253,
  pattern: '^(?=.{3,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63}\\.?$',
  description: 'A DNS name, e.g. `pbx.example.com`',
});
export const E164 = Type.String({ pattern: '^\\+[1-9][0-9]{1,14}$', description: 'E.164 number with a leading `+`' });
const Password = Type.String({ minLength: 8, maxLength: 128, description: 'Write-only; stored as a digest HA1' });
const Time = Type.String({ format: 'date-time' });

// ---- domain ---------------------------------------------------------------------------------------------

export const SipDomain = Type.Object(
  {
    domain: Type.String({ description: 'The SIP domain (digest realm) of the tenant' }),
    isDefault: Type.Boolean({ description: 'true while the platform-assigned `<tenantId>.sip.cpaas.local` is used' }),
    registrar: Type.String({ description: 'Registrar URI for SIP phones; point the domain (DNS SRV/A) at the SBC' }),
    addressOfRecord: Type.String({ description: 'Template of a user address, `sip:<username>@<domain>`' }),
  },
  { $id: 'SipDomain' },
);
export type SipDomain = Static<typeof SipDomain>;

export const SetSipDomainRequest = Type.Object({ domain: SipDomainName }, { additionalProperties: false });

// ---- users and registrations ------------------------------------------------------------------------

export const SipUserDto = Type.Object(
  {
    username: Type.String(),
    domain: Type.String(),
    displayName: Type.Optional(Type.String()),
    identity: Type.Optional(Type.String({ description: 'WebRTC identity that also rings when this user is called' })),
    enabled: Type.Boolean(),
    createdAt: Time,
  },
  { $id: 'SipUser', description: 'A SIP user. Its password is write-only.' },
);
export type SipUserDto = Static<typeof SipUserDto>;

export const CreateSipUserRequest = Type.Object(
  {
    username: SipUsername,
    password: Password,
    displayName: Type.Optional(DisplayName),
    identity: Type.Optional(Identity),
    enabled: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false },
);
export type CreateSipUserRequest = Static<typeof CreateSipUserRequest>;

export const RegistrationDto = Type.Object(
  {
    contactId: Type.String(),
    contact: Type.String(),
    source: Type.Object({ address: Type.String(), port: Type.Integer(), transport: Type.String() }),
    expiresAt: Time,
    userAgent: Type.Optional(Type.String()),
  },
  { $id: 'Registration', description: 'A live binding of a SIP user (expired ones are not listed).' },
);

// ---- trunks -------------------------------------------------------------------------------------------

const Transport = Type.Union([Type.Literal('udp'), Type.Literal('tcp'), Type.Literal('tls')]);
const Host = Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:\\[\\]-]+$', description: 'Host name or IP address' });

export const GatewayInput = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_-]+$', description: 'Kept across updates; generated when absent' })),
    host: Host,
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 5060 }),
    transport: Type.Optional(Transport),
    priority: Type.Integer({ minimum: 0, maximum: 1000, default: 10, description: 'Lower is tried first' }),
    cost: Type.Number({ minimum: 0, maximum: 1_000_000, default: 0, description: 'Relative cost per minute (least-cost routing)' }),
  },
  { additionalProperties: false },
);
export const Gateway = Type.Object(
  { id: Type.String(), host: Type.String(), port: Type.Integer(), transport: Transport, priority: Type.Integer(), cost: Type.Number() },
  { $id: 'Gateway' },
);

export const HeaderRule = Type.Object(
  {
    action: Type.Union([Type.Literal('remove'), Type.Literal('rename'), Type.Literal('add')]),
    header: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }),
    value: Type.Optional(Type.String({ maxLength: 512 })),
    newName: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' })),
  },
  { additionalProperties: false, $id: 'HeaderRule' },
);

const Cidr = Type.String({ minLength: 2, maxLength: 64, description: 'IPv4 or IPv6 CIDR (`203.0.113.0/24`, `2001:db8::/32`) or a single address' });
const NumberFormat = Type.Union([Type.Literal('e164'), Type.Literal('e164-no-plus'), Type.Literal('national')]);
const CountryCode = Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: 'Country calling code without `+`' });

const trunkFields = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  enabled: Type.Optional(Type.Boolean({ default: true })),
  inboundCidrs: Type.Optional(Type.Array(Cidr, { maxItems: 50, default: [], description: 'Carrier source addresses accepted for inbound calls' })),
  inboundDigest: Type.Optional(
    Type.Object({ username: SipUsername, password: Password }, { additionalProperties: false, description: 'Inbound digest credentials of the carrier; stored as HA1, never returned' }),
  ),
  gateways: Type.Array(GatewayInput, { minItems: 1, maxItems: 20 }),
  outboundAuth: Type.Optional(
    Type.Object(
      { username: Type.String({ minLength: 1, maxLength: 128 }), password: Type.String({ minLength: 1, maxLength: 128, description: 'Write-only' }) },
      { additionalProperties: false, description: 'Credentials for the carrier’s digest challenge; the password is never returned' },
    ),
  ),
  numberFormat: Type.Optional(NumberFormat),
  countryCode: Type.Optional(CountryCode),
  headerRules: Type.Optional(Type.Array(HeaderRule, { maxItems: 20, default: [] })),
  // --- media-services (docs/recordings.md) ---
  record: Type.Optional(Type.Boolean({ description: 'Record every call through this trunk (inbound and outbound)' })),
  codecs: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9_.-]{2,32}$' }), { maxItems: 8, description: 'Codecs the carrier takes (rtpengine names: PCMA, PCMU, G722, opus, …), preferred first; callers offering none of them are transcoded' })),
  // --- end media-services ---
};

export const CreateTrunkRequest = Type.Object(trunkFields, { additionalProperties: false });
export type CreateTrunkRequest = Static<typeof CreateTrunkRequest>;

export const UpdateTrunkRequest = Type.Object(
  {
    name: Type.Optional(trunkFields.name),
    enabled: Type.Optional(Type.Boolean()),
    inboundCidrs: Type.Optional(Type.Array(Cidr, { maxItems: 50 })),
    inboundDigest: Type.Optional(Type.Union([trunkFields.inboundDigest, Type.Null()], { description: '`null` removes it' })),
    gateways: Type.Optional(trunkFields.gateways),
    outboundAuth: Type.Optional(Type.Union([trunkFields.outboundAuth, Type.Null()], { description: '`null` removes it' })),
    numberFormat: Type.Optional(NumberFormat),
    countryCode: Type.Optional(Type.Union([CountryCode, Type.Null()])),
    headerRules: Type.Optional(Type.Array(HeaderRule, { maxItems: 20 })),
    record: Type.Optional(trunkFields.record), // media-services
    codecs: Type.Optional(Type.Union([trunkFields.codecs, Type.Null()], { description: '`null` removes it' })), // media-services
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateTrunkRequest = Static<typeof UpdateTrunkRequest>;

export const TrunkDto = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    enabled: Type.Boolean(),
    inboundCidrs: Type.Array(Type.String()),
    inboundDigest: Type.Optional(Type.Object({ username: Type.String() }, { description: 'Only the username; the secret is write-only' })),
    gateways: Type.Array(Gateway),
    outboundAuth: Type.Optional(Type.Object({ username: Type.String() }, { description: 'Only the username; the password is write-only' })),
    numberFormat: NumberFormat,
    countryCode: Type.Optional(Type.String()),
    headerRules: Type.Array(HeaderRule),
    record: Type.Optional(Type.Boolean()), // media-services
    codecs: Type.Optional(Type.Array(Type.String())), // media-services
    createdAt: Time,
  },
  { $id: 'Trunk' },
);
export type TrunkDto = Static<typeof TrunkDto>;

export const GatewayHealthDto = Type.Object(
  {
    gatewayId: Type.String(),
    host: Type.String(),
    port: Type.Integer(),
    status: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('unknown')]),
    lastCheckedAt: Type.Optional(Time),
    consecutiveFailures: Type.Integer(),
    mosAverage: Type.Optional(Type.Number({ description: 'Moving average (EMA, alpha 0.2) of the MOS of calls through this gateway' })),
    calls: Type.Integer({ description: 'Calls with a quality report' }),
  },
  { $id: 'GatewayHealth' },
);
export const TrunkHealth = Type.Object({ trunkId: Type.String(), gateways: Type.Array(GatewayHealthDto) }, { $id: 'TrunkHealth' });

// ---- routes and numbers --------------------------------------------------------------------------------

export const CreateRouteRequest = Type.Object(
  {
    prefix: Type.String({ pattern: '^[0-9]{0,15}$', description: 'E.164 digits without `+`; `""` is the default route. Longest prefix wins.' }),
    trunkId: Type.String({ minLength: 1, maxLength: 64 }),
    priority: Type.Integer({ minimum: 0, maximum: 1000, default: 10 }),
  },
  { additionalProperties: false },
);
export const RouteDto = Type.Object(
  { id: Type.String(), prefix: Type.String(), trunkId: Type.String(), priority: Type.Integer(), createdAt: Time },
  { $id: 'Route' },
);

export const Destination = Type.Union(
  [
    Type.Object({ type: Type.Literal('sip-user'), username: SipUsername }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('identity'), identity: Identity }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('trunk'), trunkId: Type.String({ minLength: 1, maxLength: 64 }), number: Type.Optional(E164) }, { additionalProperties: false }),
    // --- voice-api: exactly one of url / applicationId (checked by PUT /v1/numbers/{e164}) ---
    Type.Object(
      {
        type: Type.Literal('application'),
        url: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048, description: 'Webhook returning call-control documents' })),
        applicationId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'A voice application of the tenant (`POST /v1/applications`)' })),
      },
      { additionalProperties: false, description: 'Calls run a voice application: exactly one of `applicationId` or `url`' },
    ),
    // --- end voice-api ---
  ],
  { $id: 'Destination', description: 'Where calls to the number go' },
);
export const PutNumberRequest = Type.Object({ destination: Destination }, { additionalProperties: false });
export const PhoneNumberDto = Type.Object({ e164: Type.String(), destination: Destination, createdAt: Time }, { $id: 'PhoneNumber' });

// ---- calls ----------------------------------------------------------------------------------------------

export const CallKind = Type.Union([Type.Literal('webrtc'), Type.Literal('sip'), Type.Literal('gateway')]);
export const CallStateSchema = Type.Union([Type.Literal('ringing'), Type.Literal('active'), Type.Literal('ended')]);
export const CallDirection = Type.Union([Type.Literal('inbound'), Type.Literal('outbound')]);

export const CallRecordDto = Type.Object(
  {
    id: Type.String(),
    kind: CallKind,
    state: CallStateSchema,
    from: Type.Object({ identity: Type.String(), displayName: Type.Optional(Type.String()) }),
    to: Type.Object({ identity: Type.String() }),
    media: Type.Object({ audio: Type.Boolean(), video: Type.Boolean() }),
    metadata: Type.Optional(Metadata),
    createdAt: Time,
    answeredAt: Type.Optional(Time),
    endedAt: Type.Optional(Time),
    durationSeconds: Type.Optional(Type.Number()),
    endReason: Type.Optional(Type.String()),
    endedBy: Type.Optional(Type.String()),
    held: Type.Optional(Type.Boolean()),
    sip: Type.Optional(
      Type.Object(
        {
          direction: CallDirection,
          fromUri: Type.String(),
          toUri: Type.String(),
          trunkId: Type.Optional(Type.String()),
          gatewayId: Type.Optional(Type.String()),
          sipStatus: Type.Optional(Type.Integer()),
          sipReason: Type.Optional(Type.String()),
          mediaNodeId: Type.Optional(Type.String()),
          quality: Type.Optional(
            Type.Object({
              mos: Type.Optional(Type.Number()),
              packetLossPct: Type.Optional(Type.Number()),
              jitterMs: Type.Optional(Type.Number()),
              rttMs: Type.Optional(Type.Number()),
            }),
          ),
        },
        { description: 'Present on SIP and gateway calls' },
      ),
    ),
  },
  { $id: 'CallRecord', description: 'A call record: 1:1 WebRTC (`webrtc`), SIP (`sip`) or WebRTC ⇄ SIP gateway (`gateway`) call' },
);

export const CallQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 25 }),
  cursor: Type.Optional(Type.String({ maxLength: 1024 })),
  kind: Type.Optional(CallKind),
  direction: Type.Optional(CallDirection),
  state: Type.Optional(CallStateSchema),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Only calls created at or after this time' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Only calls created before this time' })),
  trunkId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
});
