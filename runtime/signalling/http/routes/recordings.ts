import { Type } from 'typebox';
import { createHash, randomBytes } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { FastifyRequest } from 'fastify';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Page } from '../../../core/protocol/http.js';
import { AppError } from '../../../core/errors.js';
import type { Recording, RecordingFormat } from '../../../core/storage/recordings.js';
import { CompleteUploadRequest, CreateUploadRequest, RoomParams, RoomUploadParams, UploadTicket } from '../../../core/protocol/media.js';
import { mayJoinRoom } from '../../../core/auth/tokens.js';
import { authenticate } from '../auth.js';
import { WebhookSender } from '../../../core/webhooks.js';
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
    format: Type.Union([Type.Literal('wav'), Type.Literal('webm'), Type.Literal('ogg'), Type.Literal('mp4')], { description: '`wav` for server-side recordings; client uploads keep the browser’s container' }),
    channels: Type.Integer(),
    sampleRate: Type.Integer(),
    status: Type.Literal('available'),
    createdAt: Type.String({ format: 'date-time' }),
    nodeId: Type.Optional(Type.String()),
    source: Type.Optional(Type.Union([Type.Literal('sbc'), Type.Literal('client')], { description: '`client`: uploaded by a browser (what that browser heard and sent); absent = server-side' })),
    roomId: Type.Optional(Type.String()),
    identity: Type.Optional(Type.String()),
    contentType: Type.Optional(Type.String()),
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

  // ---- client-side room recordings (docs/recordings.md § Client-side recording of P2P rooms) ----
  const upCfg = { uploadExpirySeconds: 300, maxClientUploadBytes: 500 * 1024 * 1024 };
  /** A browser's access token with the `record` grant for the room, or a tenant API key. */
  const uploader = async (req: FastifyRequest, roomId: string): Promise<{ tenantId: string; identity: string }> => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (bearer && bearer.split('.').length === 3) {
      const claims = await services.tokens.verify(bearer);
      if (!claims.grants.record) throw AppError.forbidden('the access token does not grant record');
      if (!mayJoinRoom(claims.grants, roomId)) throw AppError.forbidden(`the access token does not grant room ${roomId}`);
      return { tenantId: claims.tenantId, identity: claims.identity };
    }
    const p = await authenticate(services, req.headers.authorization);
    if (p.kind !== 'tenant') throw AppError.forbidden('this route needs a tenant API key or an access token');
    return { tenantId: p.tenantId, identity: 'api' };
  };
  // recording.completed for client uploads (same event as the media agent's; in-memory queue: a signalling restart
  // during the retries loses it — the metadata is already written, GET /v1/recordings lists it).
  let webhooks: WebhookSender | undefined;
  app.addHook('onClose', async () => webhooks?.close());
  const notify = async (rec: Recording): Promise<void> => {
    const tenant = await services.tenants.get(rec.tenantId);
    if (!tenant?.webhookUrl) return;
    const secret = await services.tenants.webhookSecret(rec.tenantId);
    if (!secret) return;
    webhooks ??= new WebhookSender({ log: services.log.child({ component: 'recordings' }), metrics: services.metrics });
    const { s3Key: _k, ...data } = rec;
    void webhooks.send(WebhookSender.event(rec.tenantId, 'recording.completed', { recordingId: rec.id, ...data }, services.clock.now(), `evt_${rec.id}`), { url: tenant.webhookUrl, secret });
  };
  const formatOf = (ct: string): RecordingFormat => (ct.endsWith('/webm') ? 'webm' : ct.endsWith('/ogg') ? 'ogg' : ct.endsWith('/mp4') ? 'mp4' : 'wav');

  app.post(
    '/v1/rooms/:roomId/recordings/uploads',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['recordings'],
        summary: 'Start a client-side room recording upload (presigned S3 PUT)',
        description:
          'For P2P rooms (no media server in the path): the browser records what it hears and sends (MediaRecorder) and PUTs the file to `uploadUrl` ' +
          'before `expiresAt`, then calls `…/uploads/{recordingId}/complete`. Authorization: an access token with the `record` grant for the room, or a tenant API key.',
        params: RoomParams,
        body: CreateUploadRequest,
        response: { 201: UploadTicket, ...errorResponses, 503: { $ref: 'ErrorBody#' } },
      },
    },
    async (req, reply) => {
      const { roomId } = req.params;
      const who = await uploader(req, roomId);
      if (!(await services.rooms.get(who.tenantId, roomId))) throw AppError.roomNotFound(roomId);
      const now = services.clock.now();
      const startedMs = req.body.startedAt ? Math.min(now, Date.parse(req.body.startedAt)) : now;
      const recordingId = `rec_${Math.max(0, startedMs).toString(36).padStart(9, '0')}${BigInt(`0x${randomBytes(8).toString('hex')}`).toString(36).padStart(13, '0').slice(-12)}`;
      const format = formatOf(req.body.contentType);
      const d = new Date(startedMs).toISOString();
      const s3Key = `recordings/${who.tenantId}/client/${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}/${recordingId}.${format}`;
      const expiresIn = upCfg.uploadExpirySeconds;
      const uploadUrl = await getSignedUrl(files.s3, new PutObjectCommand({ Bucket: files.bucket, Key: s3Key, ContentType: req.body.contentType }), { expiresIn }).catch((err: unknown) => {
        throw s3Unavailable(err);
      });
      await services.recordings.putUpload({
        recordingId, tenantId: who.tenantId, roomId, identity: who.identity, s3Key, contentType: req.body.contentType, format,
        startedAt: new Date(startedMs).toISOString(), maxBytes: upCfg.maxClientUploadBytes, expiresAt: Math.floor(now / 1000) + expiresIn + 3600,
      });
      req.log.info({ recordingId, roomId, identity: who.identity }, 'client recording upload started');
      return reply.code(201).send({ recordingId, uploadUrl, expiresAt: new Date(now + expiresIn * 1000).toISOString(), maxBytes: upCfg.maxClientUploadBytes });
    },
  );

  app.post(
    '/v1/rooms/:roomId/recordings/uploads/:recordingId/complete',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['recordings'],
        summary: 'Finish a client-side room recording upload',
        description: 'Checks the object in S3 (size, sha-256 computed here) and writes the recording’s metadata (`source: client`). Idempotent.',
        params: RoomUploadParams,
        body: CompleteUploadRequest,
        response: { 200: RecordingDto, ...errorResponses, 409: { $ref: 'ErrorBody#' }, 503: { $ref: 'ErrorBody#' } },
      },
    },
    async (req) => {
      const { roomId, recordingId } = req.params;
      const who = await uploader(req, roomId);
      const done = await services.recordings.get(who.tenantId, recordingId);
      if (done?.source === 'client' && done.roomId === roomId) return done;
      const up = await services.recordings.getUpload(who.tenantId, recordingId);
      if (!up || up.roomId !== roomId || (who.identity !== 'api' && up.identity !== who.identity)) throw AppError.notFound('upload', recordingId);
      const head = await files.s3.send(new HeadObjectCommand({ Bucket: files.bucket, Key: up.s3Key })).catch((err: unknown) => {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404) throw new AppError('CONFLICT', 'nothing was uploaded to uploadUrl yet');
        throw s3Unavailable(err);
      });
      const size = head.ContentLength ?? 0;
      if (size === 0 || size > up.maxBytes) {
        await files.s3.send(new DeleteObjectCommand({ Bucket: files.bucket, Key: up.s3Key })).catch(() => undefined);
        throw AppError.invalid(size === 0 ? 'the uploaded file is empty' : `the uploaded file is larger than ${up.maxBytes} bytes`);
      }
      // sha-256 computed from the stored object (streamed), so the metadata never trusts the browser.
      const obj = await files.s3.send(new GetObjectCommand({ Bucket: files.bucket, Key: up.s3Key })).catch((err: unknown) => {
        throw s3Unavailable(err);
      });
      const hash = createHash('sha256');
      for await (const chunk of obj.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
      const rec: Recording = {
        id: recordingId, tenantId: who.tenantId, callId: roomId, parties: [{ label: up.identity, source: 'client', channel: 0, packets: 0, codec: up.contentType }],
        startedAt: up.startedAt, durationSeconds: req.body.durationSeconds ?? 0, sizeBytes: size, sha256: hash.digest('hex'), s3Key: up.s3Key,
        format: up.format, channels: 0, sampleRate: 0, status: 'available', createdAt: new Date(services.clock.now()).toISOString(),
        source: 'client', roomId, identity: up.identity, contentType: up.contentType,
      };
      const { created } = await services.recordings.putOnce(rec);
      await services.recordings.deleteUpload(who.tenantId, recordingId);
      if (created) await notify(rec).catch((err: unknown) => req.log.warn({ err, recordingId }, 'recording.completed not sent'));
      req.log.info({ recordingId, roomId, sizeBytes: size }, 'client recording stored');
      return rec;
    },
  );
}
