/**
 * REST DTOs of the SBC security functions (docs/security.md): tenant and global lists, tenant destination policy,
 * bans (admin), lawful-interception targets and their audit trail (admin only, never reachable with a tenant key),
 * and per-call capture.
 */
import { Type, type Static } from 'typebox';

const Cidr = Type.String({ minLength: 2, maxLength: 64, description: 'IPv4/IPv6 address or CIDR, e.g. `203.0.113.0/24`' });
const NumberPrefix = Type.String({ pattern: '^\\+?[0-9]{1,15}$', description: 'E.164 digit prefix (`+` optional)' });
const Time = Type.String({ format: 'date-time' });

export const SecurityListsBody = Type.Object(
  {
    allowCidrs: Type.Array(Cidr, { maxItems: 500, description: 'When non-empty, only these sources may place calls for the tenant (tenant lists); global: exempt from the firewall' }),
    blockCidrs: Type.Array(Cidr, { maxItems: 500, description: 'Sources refused (tenant: 403; global: dropped)' }),
    blockCallers: Type.Array(NumberPrefix, { maxItems: 1000, description: 'Caller numbers refused with 403' }),
    blockCallees: Type.Array(NumberPrefix, { maxItems: 1000, description: 'Called numbers refused with 403' }),
  },
  { additionalProperties: false },
);
export type SecurityListsBody = Static<typeof SecurityListsBody>;

export const SecurityListsDto = Type.Object({
  allowCidrs: Type.Array(Type.String()),
  blockCidrs: Type.Array(Type.String()),
  blockCallers: Type.Array(Type.String()),
  blockCallees: Type.Array(Type.String()),
  updatedAt: Type.Optional(Time),
});

export const SecurityPolicyBody = Type.Object(
  {
    allowedPrefixes: Type.Array(NumberPrefix, { maxItems: 500, description: 'Destinations (country codes / prefixes) devices may call; empty = any' }),
    blockedPrefixes: Type.Array(NumberPrefix, { maxItems: 1000, description: 'Destinations always refused (premium ranges); the longest matching prefix wins' }),
    usualPrefixes: Type.Array(NumberPrefix, { maxItems: 500, description: 'Destinations the tenant usually calls; others raise a `security.alert` webhook' }),
    cps: Type.Optional(Type.Number({ minimum: 0, maximum: 10_000, description: 'Calls per second (0 = the SBC default)' })),
    maxConcurrent: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Concurrent calls (0 = the SBC default)' })),
    maxCallSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: 'Calls are hung up after this many seconds' })),
    alertCallsPerMinute: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'More calls in a minute raise a `security.alert` (0 = the SBC default)' })),
  },
  { additionalProperties: false },
);
export type SecurityPolicyBody = Static<typeof SecurityPolicyBody>;

export const SecurityPolicyDto = Type.Object({
  allowedPrefixes: Type.Array(Type.String()),
  blockedPrefixes: Type.Array(Type.String()),
  usualPrefixes: Type.Array(Type.String()),
  cps: Type.Optional(Type.Number()),
  maxConcurrent: Type.Optional(Type.Integer()),
  maxCallSeconds: Type.Optional(Type.Integer()),
  alertCallsPerMinute: Type.Optional(Type.Integer()),
  updatedAt: Type.Optional(Time),
});

export const BanDto = Type.Object({
  source: Type.String(),
  reason: Type.String({ description: 'scanner | flood | unknown-users | auth-failures | manual' }),
  until: Time,
  offence: Type.Integer({ description: 'Repeat offences within maxBanSeconds (each doubles the ban)' }),
  sharedFrom: Type.Optional(Type.String({ description: 'SBC instance that decided the ban (adopted through the table)' })),
});
export const BanList = Type.Object({ items: Type.Array(BanDto), callsInSetup: Type.Optional(Type.Integer()) });
export const BanRequest = Type.Object(
  { source: Type.String({ pattern: '^[0-9a-fA-F.:]+$', maxLength: 64 }), seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 31_536_000 })) },
  { additionalProperties: false },
);

// ---- lawful interception (admin only) ------------------------------------------------------------------

export const LiTargetBody = Type.Object(
  {
    match: Type.Union([
      Type.Object({ kind: Type.Literal('number'), value: Type.String({ pattern: '^\\+?[0-9]{3,15}$' }) }, { additionalProperties: false }),
      Type.Object({ kind: Type.Literal('uri'), value: Type.String({ pattern: '^sips?:[^@\\s]+@[^\\s]+$', maxLength: 256 }) }, { additionalProperties: false }),
    ]),
    validFrom: Time,
    validUntil: Time,
    collection: Type.Object(
      {
        media: Type.Object({ host: Type.String({ minLength: 1, maxLength: 253 }), port: Type.Integer({ minimum: 1, maximum: 65_533, description: 'Caller media to `port`, callee to `port + 2`' }) }, { additionalProperties: false }),
        eventsUrl: Type.String({ pattern: '^https?://', maxLength: 2048, description: 'Receives signed `li.call` events (start, answer, end)' }),
      },
      { additionalProperties: false },
    ),
    reference: Type.Optional(Type.String({ maxLength: 256, description: 'Warrant / case reference' })),
  },
  { additionalProperties: false },
);
export type LiTargetBody = Static<typeof LiTargetBody>;

export const LiTargetDto = Type.Object({
  id: Type.String(),
  match: Type.Object({ kind: Type.String(), value: Type.String() }),
  validFrom: Time,
  validUntil: Time,
  collection: Type.Object({ media: Type.Object({ host: Type.String(), port: Type.Integer() }), eventsUrl: Type.String() }),
  reference: Type.Optional(Type.String()),
  createdAt: Time,
  updatedAt: Time,
});

export const LiAuditDto = Type.Object({
  id: Type.String(),
  at: Time,
  action: Type.String({ description: 'create | update | delete' }),
  targetId: Type.String(),
  actor: Type.String(),
  target: LiTargetDto,
});

// ---- capture ----------------------------------------------------------------------------------------------

export const CaptureRequest = Type.Object({ action: Type.Union([Type.Literal('start'), Type.Literal('stop')]) }, { additionalProperties: false });
export const CaptureDto = Type.Object({ callId: Type.String(), capturing: Type.Boolean() });
export const CaptureFile = Type.Object({
  callId: Type.String(),
  sizeBytes: Type.Integer(),
  sha256: Type.String(),
  packets: Type.Integer(),
  pcap: Type.String({ description: 'The pcap file (LINKTYPE_RAW), base64' }),
});
