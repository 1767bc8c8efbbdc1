import { Type, type Static } from 'typebox';
import { AwsConfig, LogLevel, SecretRef } from '../core/config/common.js';

/**
 * Configuration of the signalling + REST process. Written to /etc/cpaas/signalling.json by the CDK app
 * (lib/) and read by runtime/signalling/main.ts; `npm start` builds one in runtime/local/.
 */
export const SignallingConfig = Type.Object(
  {
    logLevel: LogLevel,
    http: Type.Object(
      {
        host: Type.String({ default: '0.0.0.0' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
        /** Public base URL (CloudFront or custom domain); used in invite links and config.json. */
        publicUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
        /** Trust X-Forwarded-* from the ALB/CloudFront. */
        trustProxy: Type.Boolean({ default: false }),
        /** Directory with the built SDK and demo pages to serve under /sdk/ and /demo/ (local only). */
        staticDir: Type.Optional(Type.String()),
        /** Header CloudFront adds so the origin only answers requests that came through it. */
        originSecretHeader: Type.Optional(Type.Object({ name: Type.String(), secret: SecretRef }, { additionalProperties: false })),
      },
      { default: {}, additionalProperties: false },
    ),
    aws: AwsConfig,
    tableName: Type.String({ minLength: 3 }),
    secrets: Type.Object(
      {
        /** The admin API key (Bearer) that manages tenants. */
        adminKey: SecretRef,
        /** HMAC key for client access tokens (JWT HS256). */
        jwtSigningKey: SecretRef,
        /** coturn `static-auth-secret` (TURN REST credentials). */
        turnSecret: SecretRef,
      },
      { additionalProperties: false },
    ),
    turn: Type.Object(
      {
        /** ICE server URLs handed to clients: stun:, turn:?transport=udp|tcp, turns:. */
        urls: Type.Array(Type.String({ pattern: '^(stun|turn|turns):' }), { default: [] }),
        ttlMinutes: Type.Integer({ minimum: 1, maximum: 1440, default: 60 }),
      },
      { default: {}, additionalProperties: false },
    ),
    tokens: Type.Object(
      {
        issuer: Type.String({ default: 'cpaas' }),
        defaultTtlSeconds: Type.Integer({ minimum: 60, default: 3600 }),
        maxTtlSeconds: Type.Integer({ minimum: 60, maximum: 86400, default: 86400 }),
      },
      { default: {}, additionalProperties: false },
    ),
    mail: Type.Object(
      {
        from: Type.String({ default: 'no-reply@cpaas.local' }),
        configurationSet: Type.Optional(Type.String()),
      },
      { default: {}, additionalProperties: false },
    ),
    /** socket.io Redis adapter (ElastiCache); absent = single instance, in-memory adapter. */
    redisUrl: Type.Optional(Type.String({ pattern: '^rediss?://' })),
    limits: Type.Object(
      {
        restRequestsPerMinutePerTenant: Type.Integer({ minimum: 1, default: 6000 }),
        socketEventsPerSecond: Type.Integer({ minimum: 1, default: 50 }),
        socketEventBurst: Type.Integer({ minimum: 1, default: 100 }),
        maxSocketPayloadBytes: Type.Integer({ minimum: 1024, default: 65536 }),
        maxChatMessageLength: Type.Integer({ minimum: 1, default: 4000 }),
        maxRoomParticipants: Type.Integer({ minimum: 2, default: 50 }),
        /** How long a disconnected client's participants and calls wait for it to come back. */
        reconnectGraceSeconds: Type.Number({ minimum: 0.1, maximum: 300, default: 15 }),
      },
      { default: {}, additionalProperties: false },
    ),
    /** Private URL of the SBC control API (WebRTC ⇄ SIP gateway); absent = no dial-out. */
    sbcControlUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
    // --- gateway (docs/gateway.md) ---
    /** WebRTC ⇄ SIP gateway: needs `sbcControlUrl` too. Absent = dial-out off and /internal/gateway/events disabled. */
    gateway: Type.Optional(
      Type.Object(
        {
          /** Shared with the SBC (`gateway.secret` there): sent in `x-cpaas-gateway-secret` both ways. */
          secret: SecretRef,
          /** Timeout of one request to the SBC control API. */
          requestTimeoutMs: Type.Integer({ minimum: 100, maximum: 30_000, default: 5_000 }),
        },
        { additionalProperties: false },
      ),
    ),
    // --- end gateway ---
    // --- recordings (docs/recordings.md) ---
    /** Optional in the type so deploy configs built before recordings still compile; always filled by the loader's defaults. */
    recordings: Type.Optional(
      Type.Object(
        {
          /** S3 bucket holding call recordings (the local platform creates `cpaas-recordings` in s3rver). */
          bucket: Type.String({ minLength: 3, default: 'cpaas-recordings' }),
          /** Lifetime of a presigned download URL when the request does not ask for one. */
          urlExpirySeconds: Type.Integer({ minimum: 10, maximum: 604_800, default: 300 }),
          /** The longest lifetime a request may ask for (`expiresIn`). */
          maxUrlExpirySeconds: Type.Integer({ minimum: 10, maximum: 604_800, default: 3_600 }),
        },
        { default: {}, additionalProperties: false },
      ),
    ),
    // --- end recordings ---
    /** Emit CloudWatch EMF metric lines to stdout every N seconds (0 = off). */
    emfIntervalSeconds: Type.Integer({ minimum: 0, default: 0 }),
  },
  { additionalProperties: false },
);
export type SignallingConfig = Static<typeof SignallingConfig>;
