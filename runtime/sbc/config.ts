/**
 * The SBC process config (`/etc/cpaas/sbc.json` on AWS, built by the CDK construct; built in code by
 * `npm start`). Validated once by main.ts; everything below main.ts receives the typed object.
 */
import { Type, type Static } from 'typebox';
import { AwsConfig, LogLevel, SecretRef } from '../core/config/common.js';
import { SecurityConfig } from './security/config.js'; // security (docs/security.md)

export const NgTarget = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1 })),
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
  },
  { additionalProperties: false },
);
export type NgTarget = Static<typeof NgTarget>;

export const SbcConfig = Type.Object(
  {
    logLevel: LogLevel,
    aws: AwsConfig,
    tableName: Type.String({ minLength: 3 }),
    /** Not used by the SBC yet (recording upload is the media agent's job); kept for the CDK shape. */
    recordingsBucket: Type.Optional(Type.String()),
    // --- media-services (docs/recordings.md): recording policy, play sources (media library = recordingsBucket) ---
    recording: Type.Optional(Type.Object({
      /** Tenants recorded from the first offer ('*' = all). */
      tenants: Type.Array(Type.String(), { default: [] }),
      /** `<tenantId>/<roomId>` or `<tenantId>/*`: gateway calls placed from these rooms are recorded. */
      rooms: Type.Optional(Type.Array(Type.String())),
      /** Tenants whose recordings start with the consent tone unless the request says otherwise. */
      announceTenants: Type.Optional(Type.Array(Type.String())),
      // --- consent (docs/recordings.md § Consent announcement) ---
      /** Every call recorded by the policy hears the consent tone once answered (else only `announceTenants`' calls). */
      announcePolicy: Type.Optional(Type.Boolean()),
      /** Delay between the answer and that announcement (default 1000 ms). */
      announceDelayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
      // --- end consent ---
    }, { additionalProperties: false })),
    mediaServices: Type.Optional(Type.Object({
      /** Library files cached for rtpengine; must be readable by rtpengine (same host or shared mount). */
      cacheDir: Type.String({ default: '/var/cache/cpaas/media' }),
      /** Tones and fetched URLs while they play. */
      tmpDir: Type.String({ default: '/var/tmp/cpaas-play' }),
      maxUrlBytes: Type.Integer({ minimum: 1024, default: 10 * 1024 * 1024 }),
      /** Allow play URLs that resolve to private/loopback addresses (off: no SSRF into the VPC). */
      allowPrivateUrls: Type.Boolean({ default: false }),
      /** 'media-node': sources are resolved by the media agent beside rtpengine (AWS); 'local' (default): here, unless the node advertises an agent. */
      resolveOn: Type.Optional(Type.Union([Type.Literal('local'), Type.Literal('media-node')])),
      agentTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 120_000 })),
    }, { additionalProperties: false })),
    // --- end media-services ---
    /** drachtio-server (or the project's SIP engine) admin connection. */
    drachtio: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 1, maximum: 65535, default: 9022 }),
        secret: SecretRef,
      },
      { additionalProperties: false },
    ),
    rtpengine: Type.Object(
      {
        /** ng port of media nodes found through the registry (informational; nodes announce their own port). */
        ngPort: Type.Integer({ minimum: 1, maximum: 65535, default: 22222 }),
        /** 'registry': nodes from MediaNode heartbeats, the fallback list only when none is alive. 'static': only the list. */
        mode: Type.Union([Type.Literal('registry'), Type.Literal('static')], { default: 'registry' }),
        fallback: Type.Array(NgTarget, { default: [] }),
        /** Local address of the ng UDP sockets. */
        localAddress: Type.String({ default: '0.0.0.0' }),
        timeoutMs: Type.Integer({ minimum: 100, maximum: 30_000, default: 2_000 }),
        /** How often the registry is re-read. */
        refreshSeconds: Type.Number({ minimum: 0.2, maximum: 300, default: 5 }),
        // --- sbc-core ---
        /**
         * `IP:PORT` (UDP) where this SBC receives rtpengine's DTMF log (`rtpengine --dtmf-log-dest=IP:PORT`): RFC 2833
         * events toward a leg without telephone-event are sent to it as SIP INFO. Absent = no RFC 2833 → INFO.
         */
        dtmfLogListen: Type.Optional(Type.String({ pattern: '^[^\\s]+:\\d+$' })),
        // --- end sbc-core ---
        /**
         * rtpengine's logical interface names (`--interface=<name>/…`) for parties outside the platform and for the
         * SBC's voice endpoints inside it; offers then carry `direction`. Absent = rtpengine's first interface.
         */
        interfaces: Type.Optional(Type.Object({ external: Type.String({ minLength: 1 }), internal: Type.String({ minLength: 1 }) }, { additionalProperties: false })),
      },
      { default: {}, additionalProperties: false },
    ),
    /** Private HTTP server: GET /v1/status, GET /metrics (+ the gateway's endpoints later). */
    control: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8090 }),
        // --- sbc-cluster (docs/sbc.md § Several SBC instances) ---
        /**
         * This instance's control URL as the other SBC instances reach it (`http://10.0.1.23:8090`); `auto` = the
         * private IPv4 (like voice.rtpHost) and control.port. Set: live calls and conferences are registered in the
         * table and control requests about another instance's calls are forwarded there. Absent: single instance.
         */
        advertiseUrl: Type.Optional(Type.String({ minLength: 4, maxLength: 200 })),
        // --- end sbc-cluster ---
      },
      { default: {}, additionalProperties: false },
    ),
    /** The SIP side as the outside world sees it (drachtio contacts); informational for the SBC. */
    sip: Type.Optional(
      Type.Object(
        {
          port: Type.Integer({ default: 5060 }),
          tlsPort: Type.Optional(Type.Integer()),
          wssPort: Type.Optional(Type.Integer()),
          publicIps: Type.Array(Type.String(), { default: [] }),
        },
        { additionalProperties: false },
      ),
    ),
    /** Tenants' SIP domains are `<name><sipDomainSuffix>` (e.g. acme.sip.example.com); informational. */
    sipDomainSuffix: Type.String({ default: '.sip.localhost' }),
    limits: Type.Object(
      {
        maxConcurrentCalls: Type.Integer({ minimum: 1, default: 2_000 }),
        /** Max calls in progress per tenant (503 Maximum Calls In Progress beyond). */
        maxCallsPerTenant: Type.Integer({ minimum: 1, default: 500 }),
        /** No final answer from the callee after this → 408 to the caller (per gateway attempt for trunks). */
        ringTimeoutSeconds: Type.Number({ minimum: 1, maximum: 600, default: 60 }),
        /** Hard cap on a call's length (the engine has no session timers; see docs/sbc.md). 0 = none. */
        maxCallSeconds: Type.Number({ minimum: 0, default: 14_400 }),
        /** Per gateway attempt: no provisional within this → next gateway. */
        gatewayTimeoutSeconds: Type.Number({ minimum: 0.5, maximum: 60, default: 5 }),
      },
      { default: {}, additionalProperties: false },
    ),
    registrar: Type.Object(
      {
        minExpires: Type.Integer({ minimum: 10, default: 60 }),
        maxExpires: Type.Integer({ minimum: 60, default: 3_600 }),
        defaultExpires: Type.Integer({ minimum: 60, default: 600 }),
        maxContacts: Type.Integer({ minimum: 1, maximum: 20, default: 5 }),
        nonceTtlSeconds: Type.Integer({ minimum: 10, default: 300 }),
      },
      { default: {}, additionalProperties: false },
    ),
    health: Type.Object(
      {
        /** OPTIONS ping per gateway; 0 disables. */
        optionsIntervalSeconds: Type.Number({ minimum: 0, default: 30 }),
        /** Consecutive failures that take a gateway out. */
        failuresToDown: Type.Integer({ minimum: 1, default: 2 }),
      },
      { default: {}, additionalProperties: false },
    ),
    /** Per-call lookups (trunks, numbers, routes, users, gateway health) are cached this long; 0 = off. */
    cacheSeconds: Type.Number({ minimum: 0, maximum: 300, default: 5 }),
    /** Emit EMF metric lines on stdout every N seconds (0 = off; the CloudWatch agent reads them). */
    emfIntervalSeconds: Type.Integer({ minimum: 0, default: 60 }),
    // --- gateway (docs/gateway.md) ---
    /** WebRTC ⇄ SIP gateway: endpoints on the control server, events to signalling. Absent = no gateway. */
    gateway: Type.Optional(
      Type.Object(
        {
          /** Shared with signalling (`gateway.secret` there): sent in `x-cpaas-gateway-secret` both ways. */
          secret: SecretRef,
          /** Private base URL of signalling (its internal ALB / localhost); events go to /internal/gateway/events. */
          signallingUrl: Type.String({ pattern: '^https?://' }),
          /** How long a browser identity rings before the SIP caller gets 480. */
          ringTimeoutSeconds: Type.Number({ minimum: 1, maximum: 300, default: 30 }),
          /** 'prefer-opus': the browser leg stays on opus, G.711 phones are transcoded; 'passthrough': never transcode. */
          transcode: Type.Union([Type.Literal('prefer-opus'), Type.Literal('passthrough')], { default: 'prefer-opus' }),
          /** Allow browsers to dial SIP URIs outside their tenant (toll-fraud risk). */
          allowExternalSipUris: Type.Boolean({ default: false }),
        },
        { additionalProperties: false },
      ),
    ),
    // --- end gateway ---
    // --- voice (docs/voice.md) ---
    /** Programmable voice: the SBC's own RTP endpoints (rtpengine ⇄ endpoint, private side) and application webhooks. */
    voice: Type.Optional(
      Type.Object(
        {
          /** Address the endpoints bind (rtpengine must reach it; the SBC's private IP or 127.0.0.1 when co-located). */
          rtpHost: Type.String({ default: '127.0.0.1' }),
          /** UDP ports of the endpoints (one per voice leg). */
          rtpMinPort: Type.Integer({ minimum: 1024, maximum: 65535, default: 41000 }),
          rtpMaxPort: Type.Integer({ minimum: 1024, maximum: 65535, default: 41999 }),
          /** Per attempt when fetching a document (one retry, then the fallback URL). */
          hookTimeoutMs: Type.Integer({ minimum: 500, maximum: 30_000, default: 5_000 }),
          /** Let application URLs resolve to private/loopback addresses (only for setups whose webhook servers are local). */
          allowPrivateHookUrls: Type.Boolean({ default: false }),
        },
        { additionalProperties: false },
      ),
    ),
    // --- end voice ---
    // --- aws-wiring (docs/deploy.md § Programmable voice on AWS) ---
    /**
     * Storage of programmable voice on this SBC, in `recordingsBucket` (without it: voicemail and `record` keep their
     * WAVs on disk). Only read when `voice` is present. `voice.rtpHost: "auto"` = this host's private IPv4 (main.ts).
     */
    voiceStorage: Type.Optional(
      Type.Object(
        {
          /** Where `record` and voicemail write WAVs until S3 + metadata confirm them (then deleted). */
          recordDir: Type.String({ minLength: 1, default: '/var/spool/cpaas/voice' }),
          /** `record` verb results become call recordings (recordings/…, metadata, `recording.completed`). */
          uploadRecordings: Type.Boolean({ default: true }),
          /** Voicemail deposits (voicemail/… + table); `voicemail:new` via `gateway.signallingUrl` + the gateway secret. */
          voicemail: Type.Boolean({ default: true }),
          /** Custom greetings downloaded from S3 once. */
          greetingCacheDir: Type.String({ minLength: 1, default: '/var/cache/cpaas/voicemail' }),
          /** Voicemail notification mail through SES (`notifyEmail` of a mailbox); absent = no mail. */
          mail: Type.Optional(Type.Object({ from: Type.String({ minLength: 3 }), configurationSet: Type.Optional(Type.String()) }, { additionalProperties: false })),
          /** Tried after a tenant's webhook URL is exhausted (conference.*, recording.completed). */
          webhookFallbackUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
        },
        { default: {}, additionalProperties: false },
      ),
    ),
    // --- end aws-wiring ---
    // --- security (docs/security.md) ---
    /** The SIP-aware firewall: rate limits, bans, scanner signatures, lockouts, lists, overload, CAC defaults. */
    security: SecurityConfig,
    // --- end security ---
    /** Id of this SBC instance (registrations record it). Defaults to the hostname in main.ts. */
    instanceId: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type SbcConfig = Static<typeof SbcConfig>;
