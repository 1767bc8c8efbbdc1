/**
 * The media agent's config (`/etc/cpaas/media-agent.json` on AWS). One agent runs beside each rtpengine.
 */
import { Type, type Static } from 'typebox';
import { AwsConfig, LogLevel, SecretRef } from '../core/config/common.js';

export const MediaAgentConfig = Type.Object(
  {
    logLevel: LogLevel,
    aws: AwsConfig,
    tableName: Type.String({ minLength: 3 }),
    /** Where recordings will be uploaded (a later issue); unused by the heartbeat. */
    recordingsBucket: Type.Optional(Type.String()),
    rtpengine: Type.Object(
      {
        /** ng address the agent talks to (local rtpengine); 'auto' = this host's first private IPv4 (AWS). */
        ngHost: Type.String({ default: '127.0.0.1' }),
        ngPort: Type.Integer({ minimum: 1, maximum: 65535, default: 22222 }),
        /** rtpengine's --listen-http base URL (metrics / CLI); unused by the heartbeat. */
        httpUrl: Type.Optional(Type.String()),
        /** Recording spool directory (rtpengine pcap output); reserved for the recording uploader. */
        spoolDir: Type.Optional(Type.String()),
        timeoutMs: Type.Integer({ minimum: 100, default: 1_000 }),
      },
      { default: {}, additionalProperties: false },
    ),
    /** The ng address SBCs must use to reach this node (default: rtpengine.ngHost, or this host's first private IPv4 when ngHost is 0.0.0.0). */
    advertiseHost: Type.Optional(Type.String()),
    /** Registry id of this node (default: hostname in main.ts). */
    nodeId: Type.Optional(Type.String({ minLength: 1 })),
    /** Sessions this node takes before SBCs stop placing calls on it. */
    capacity: Type.Integer({ minimum: 1, default: 1_000 }),
    heartbeatSeconds: Type.Number({ minimum: 0.2, maximum: 60, default: 5 }),
    // --- recordings (docs/recordings.md) ---
    /** Recording pipeline (pcap → WAV → S3 → metadata → webhook); absent = off. */
    recordings: Type.Optional(
      Type.Object(
        {
          /** rtpengine's `--recording-dir` (rtpengine runs with `--recording-method=pcap`). */
          dir: Type.String({ minLength: 1 }),
          /** The agent's spool (WAVs + journals); must be on persistent disk. */
          spoolDir: Type.String({ minLength: 1 }),
          /** S3 bucket (default: `recordingsBucket`, else `cpaas-recordings`). */
          bucket: Type.Optional(Type.String({ minLength: 3 })),
          mode: Type.Union([Type.Literal('stereo'), Type.Literal('mono')], { default: 'stereo' }),
          concurrency: Type.Integer({ minimum: 1, maximum: 32, default: 2 }),
          scanIntervalMs: Type.Integer({ minimum: 50, default: 1_000 }),
          retryBaseMs: Type.Integer({ minimum: 10, default: 1_000 }),
          retryMaxMs: Type.Integer({ minimum: 10, default: 30_000 }),
          staleMultipartSeconds: Type.Integer({ minimum: 60, default: 86_400 }),
          partSizeBytes: Type.Integer({ minimum: 5 * 1024 * 1024, default: 8 * 1024 * 1024 }),
          /** Webhook URL tried after a tenant's own URL is exhausted. */
          webhookFallbackUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
          webhookAttempts: Type.Integer({ minimum: 1, maximum: 20, default: 6 }),
          webhookTimeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
          /** `ogg`: Opus in Ogg via `opusenc` (Debian `opus-tools` must be installed on the node); default WAV. */
          format: Type.Union([Type.Literal('wav'), Type.Literal('ogg')], { default: 'wav' }),
          opusBitrateKbps: Type.Integer({ minimum: 6, maximum: 256, default: 24 }),
        },
        { additionalProperties: false },
      ),
    ),
    // --- end recordings ---
    /**
     * Play sources resolved on this node (docs/recordings.md § Playback on AWS): `POST /v1/play-sources` for the
     * SBCs, advertised in the heartbeat as `playSourcesUrl`; absent = off (SBCs resolve locally, npm start).
     */
    playSources: Type.Optional(Type.Object({
      /** Bind address (default: the advertised private address). */
      host: Type.Optional(Type.String()),
      port: Type.Integer({ minimum: 0, maximum: 65535, default: 9470 }),
      /** Required in x-cpaas-gateway-secret (the gateway secret on AWS). */
      secret: SecretRef,
      /** Media-library cache and tone/URL files; must be readable by rtpengine. */
      cacheDir: Type.String({ default: '/var/spool/cpaas/play/media-cache' }),
      tmpDir: Type.String({ default: '/var/spool/cpaas/play/tmp' }),
      maxUrlBytes: Type.Integer({ minimum: 1024, default: 10 * 1024 * 1024 }),
      allowPrivateUrls: Type.Boolean({ default: false }),
      /** Files the SBC did not DELETE are removed after max(ttlSeconds, duration + 60 s). */
      ttlSeconds: Type.Integer({ minimum: 10, default: 900 }),
    }, { additionalProperties: false })),
    /** Prometheus `GET /metrics` of the agent (recording spool depth, uploads, failures, bytes); absent = off. */
    metrics: Type.Optional(Type.Object({ host: Type.String({ default: '0.0.0.0' }), port: Type.Integer({ minimum: 0, maximum: 65535, default: 9464 }) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type MediaAgentConfig = Static<typeof MediaAgentConfig>;
