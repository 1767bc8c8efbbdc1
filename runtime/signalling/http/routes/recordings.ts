import { Type } from 'typebox';
import { DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Page } from '../../../core/protocol/http.js';
import { AppError } from '../../../core/errors.js';
import type { Recording } from '../../../core/storage/recordings.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { tenantOf } from '../auth.js';
import { errorResponses } from '../server.js';

const RecordingParams = Type.Object({ recordingId: Type.String({ minLength: 1, maxLength: 64, pattern: '^rec_[a-z0-9]+$' }) });

export const RecordingDto = Type.Object(
  {
    id: Type.String(),
    tenantId: Type.String(),
    callId: Type.String(),
    parties: Type.Array(
      Type.Object({
        label: Type.Optional(Type.String({ description: 'From the `parties=` entry of the call’s recording metadata' })),
        source: Type.String({ description: '`ip:port` the party’s media came from' }),
        channel: Type.Integer({ description: 'WAV channel (0 = left) carrying this party' }),
        packets: Type.Integer(),
        codec: Type.String(),
      }),
    ),
    startedAt: Type.String({ format: 'date-time' }),
    durationSeconds: Type.Number(),
    sizeBytes: Type.Integer(),
    sha256: Type.String({ description: 'Hex SHA-256 of the file; compare after download' }),
    s3Key: Type.String(),
    format: Type.Literal('wav'),
    channels: Type.Integer(),
    sampleRate: Type.Integer(),
    status: Type.Literal('available'),
    createdAt: Type.String({ format: 'date-time' }),
    nodeId: Type.Optional(Type.String()),
  },
  { $id: 'Recording' },
);

const RecordingQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 25 }),
  cursor: Type.Optional(Type.String({ maxLength: 1024 })),
  callId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Only recordings started at or after this time' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Only recordings started before this time' })),
});

const UrlQuery = Type.Object({
  expiresIn: Type.Optional(Type.Integer({ minimum: 10, maximum: 604_800, description: 'Seconds; default `recordings.urlExpirySeconds` (300), at most `recordings.maxUrlExpirySeconds`' })),
});

const RecordingUrl = Type.Object({
  url: Type.String({ description: 'Presigned S3 GET URL' }),
  expiresAt: Type.String({ format: 'date-time' }),
  sha256: Type.String(),
  sizeBytes: Type.Integer(),
});

const s3Unavailable = (err: unknown) => new AppError('SERVICE_UNAVAILABLE', 'recording storage is unavailable, retry later', { retryable: true }, { cause: err });

/** Call recordings written by the media agents (docs/recordings.md). */
export async function recordingRoutes(app: Http, services: Services): Promise<void> {
  const { recordingFiles: files } = services;
  const cfg = { urlExpirySeconds: 300, maxUrlExpirySeconds: 3_600, ...services.config.recordings };
  const requireRecording = async (tenantId: string, id: string): Promise<Recording> => {
    const rec = await services.recordings.get(tenantId, id);
    if (!rec) throw AppError.notFound('recording', id);
    return rec;
  };

  app.get(
    '/v1/recordings',
    {
      schema: {
        tags: ['recordings'],
        summary: 'List recordings, newest first',
        description: 'Filter by `callId` and/or start time (`from` inclusive, `to` exclusive). A page can be shorter than `limit` while `nextCursor` is present.',
        querystring: RecordingQuery,
        response: { 200: Page(RecordingDto, 'recordings'), ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query;
      if (q.from && q.to && Date.parse(q.from) >= Date.parse(q.to)) throw AppError.invalid('from must be before to', 'querystring/to');
      return services.recordings.list(
        tenantOf(req),
        { ...(q.callId ? { callId: q.callId } : {}), ...(q.from ? { from: q.from } : {}), ...(q.to ? { to: q.to } : {}) },
        q.limit,
        q.cursor,
      );
    },
  );

  app.get(
    '/v1/recordings/:recordingId',
    { schema: { tags: ['recordings'], summary: 'Get a recording’s metadata', params: RecordingParams, response: { 200: RecordingDto, ...errorResponses } } },
    async (req) => requireRecording(tenantOf(req), req.params.recordingId),
  );

  app.get(
    '/v1/recordings/:recordingId/url',
    {
      schema: {
        tags: ['recordings'],
        summary: 'A short-lived download URL (presigned S3 GET)',
        params: RecordingParams,
        querystring: UrlQuery,
        response: { 200: RecordingUrl, ...errorResponses, 503: { $ref: 'ErrorBody#' } },
      },
    },
    async (req) => {
      const rec = await requireRecording(tenantOf(req), req.params.recordingId);
      const expiresIn = req.query.expiresIn ?? cfg.urlExpirySeconds;
      if (expiresIn > cfg.maxUrlExpirySeconds) throw AppError.invalid(`expiresIn must be at most ${cfg.maxUrlExpirySeconds}`, 'querystring/expiresIn');
      const now = services.clock.now();
      const url = await getSignedUrl(
        files.s3,
        new GetObjectCommand({ Bucket: files.bucket, Key: rec.s3Key, ResponseContentDisposition: `attachment; filename="${rec.id}.${rec.format}"` }),
        { expiresIn },
      ).catch((err: unknown) => {
        throw s3Unavailable(err);
      });
      return { url, expiresAt: new Date(now + expiresIn * 1000).toISOString(), sha256: rec.sha256, sizeBytes: rec.sizeBytes };
    },
  );

  app.delete(
    '/v1/recordings/:recordingId',
    {
      schema: {
        tags: ['recordings'],
        summary: 'Delete a recording (the file, then its metadata)',
        description: 'The S3 object goes first: when that fails the metadata stays and the call can be repeated.',
        params: RecordingParams,
        response: { 204: Type.Null({ description: 'No content' }), ...errorResponses, 503: { $ref: 'ErrorBody#' } },
      },
    },
    async (req, reply) => {
      const tenantId = tenantOf(req);
      const rec = await requireRecording(tenantId, req.params.recordingId);
      await files.s3.send(new DeleteObjectCommand({ Bucket: files.bucket, Key: rec.s3Key })).catch((err: unknown) => {
        throw s3Unavailable(err);
      });
      await services.recordings.delete(tenantId, rec.id);
      req.log.info({ recordingId: rec.id, callId: rec.callId }, 'recording deleted');
      return reply.code(204).send(null);
    },
  );
}
