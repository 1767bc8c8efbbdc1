/**
 * Deployment configuration of the SBC's SIP-aware firewall (`security` in /etc/cpaas/sbc.json). Every field
 * has a default, so `{}` (or no `security` at all) gives the protections below with production values.
 * Per-tenant lists and destination policies live in the table (runtime/core/storage/security.ts, REST
 * /v1/security/…) and are re-read every `listCacheSeconds`. See docs/security.md.
 */
import { Type, type Static } from 'typebox';
import { SecretRef } from '../../core/config/common.js';

const Bucket = Type.Object(
  {
    /** Sustained requests per second per source address. */
    perSecond: Type.Number({ minimum: 0.01 }),
    /** Bucket size (requests a source may send at once). */
    burst: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);

export const SCANNER_USER_AGENTS = [
  'friendly-scanner', 'sipcli', 'sipvicious', 'VaxSIPUserAgent', 'sundayddr', 'iWar', 'SIVuS', 'SIPScan', 'sip-scan',
  'smap', 'pplsip', 'Ozeki', 'siparmyknife', 'SIPBomber', 'nessus', 'sipsscuser',
];

export const SecurityConfig = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    /** What banned sources get: `drop` = no answer at all (default), `reject` = 403 (for debugging). */
    banAction: Type.Union([Type.Literal('drop'), Type.Literal('reject')], { default: 'drop' }),
    /** First ban length; a source banned again within `maxBanSeconds` gets twice the previous length (capped). */
    banSeconds: Type.Number({ minimum: 1, default: 600 }),
    maxBanSeconds: Type.Number({ minimum: 1, default: 86_400 }),
    /** Token buckets per source and method (INVITE, REGISTER, OPTIONS, other out-of-dialog). */
    rates: Type.Object(
      {
        INVITE: Bucket,
        REGISTER: Bucket,
        OPTIONS: Bucket,
        other: Bucket,
      },
      { default: { INVITE: { perSecond: 10, burst: 40 }, REGISTER: { perSecond: 10, burst: 40 }, OPTIONS: { perSecond: 5, burst: 20 }, other: { perSecond: 10, burst: 40 } }, additionalProperties: false },
    ),
    /** Requests over the bucket within `windowSeconds` that ban the source (0 = never ban for rate). */
    rateViolationsToBan: Type.Integer({ minimum: 0, default: 20 }),
    windowSeconds: Type.Number({ minimum: 1, default: 60 }),
    /** User-Agent / From display-name / header substrings (case-insensitive) that ban at once. */
    scannerSignatures: Type.Array(Type.String({ minLength: 2 }), { default: SCANNER_USER_AGENTS }),
    /** A source asking for this many distinct unknown users (REGISTER/INVITE) within `windowSeconds` is banned. */
    unknownUsersToBan: Type.Integer({ minimum: 0, default: 10 }),
    /** Digest brute force: per user, N wrong responses within the window lock the user for lockSeconds. */
    authFailuresPerUser: Type.Integer({ minimum: 0, default: 5 }),
    /** Per source: N wrong responses within the window ban the source. */
    authFailuresPerSource: Type.Integer({ minimum: 0, default: 20 }),
    lockSeconds: Type.Number({ minimum: 1, default: 900 }),
    /** Overload: INVITEs in setup (received, no final answer yet) beyond this → 503 + Retry-After. */
    maxCallsInSetup: Type.Integer({ minimum: 1, default: 500 }),
    retryAfterSeconds: Type.Integer({ minimum: 1, default: 5 }),
    /** Global lists (tenants add their own over REST). CIDRs or bare addresses; numbers are E.164 digit prefixes. */
    allowCidrs: Type.Array(Type.String(), { default: [] }),
    blockCidrs: Type.Array(Type.String(), { default: [] }),
    blockNumbers: Type.Array(Type.String({ pattern: '^\\+?[0-9]+$' }), { default: [] }),
    /** Per-tenant lists/policies and the admin's global lists are re-read this often. */
    listCacheSeconds: Type.Number({ minimum: 0, default: 5 }),
    /** Always routed: no CAC, fraud or destination checks; may exceed the call limits (dialled digits as sent). */
    emergencyNumbers: Type.Array(Type.String({ pattern: '^\\+?[0-9]+$' }), { default: ['911', '112', '999'] }),
    /** Calls per second / concurrent calls per tenant and per trunk when the tenant's policy sets none (0 = off). */
    tenantCps: Type.Number({ minimum: 0, default: 0 }),
    tenantMaxConcurrent: Type.Integer({ minimum: 0, default: 0 }),
    trunkCps: Type.Number({ minimum: 0, default: 0 }),
    trunkMaxConcurrent: Type.Integer({ minimum: 0, default: 0 }),
    /** Anomaly alert when a tenant places more calls than this in one minute (0 = off). */
    alertCallsPerMinute: Type.Integer({ minimum: 0, default: 0 }),
    /** Bans shared between SBC instances through the table (GLOBAL#SECBAN, TTL), polled every pollSeconds. */
    sharedBans: Type.Object(
      { enabled: Type.Boolean({ default: true }), pollSeconds: Type.Number({ minimum: 0.2, default: 2 }) },
      { default: {}, additionalProperties: false },
    ),
    /** Deliver anomaly alerts and bans of sources that attacked a tenant as signed `security.alert` webhooks. */
    alertWebhooks: Type.Boolean({ default: true }),
    /** Per-call capture (POST /v1/calls/{id}/capture): pcaps in `dir`; the media fork is received on `host`. Absent = off. */
    capture: Type.Optional(Type.Object(
      { dir: Type.String({ default: '/var/lib/cpaas/captures' }), host: Type.String({ minLength: 1, description: 'A private address of the SBC that rtpengine can reach' }) },
      { additionalProperties: false },
    )),
    /** Lawful interception (admin targets in the table). Absent = off. Events are signed with `secret`. */
    lawfulInterception: Type.Optional(Type.Object(
      { secret: SecretRef, cacheSeconds: Type.Number({ minimum: 0, default: 5 }) },
      { additionalProperties: false },
    )),
  },
  { default: {}, additionalProperties: false },
);
export type SecurityConfig = Static<typeof SecurityConfig>;
