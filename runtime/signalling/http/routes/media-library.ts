import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { AppError } from '../../../core/errors.js';
import { MediaFileDto, MediaListQuery, MediaNameParams } from '../../../core/protocol/media.js';
import { MediaLibrary } from '../../../core/storage/media-library.js';
import { normalizeWav, WavError } from '../../../sbc/media-services/wav.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { tenantOf } from '../auth.js';
import { errorResponses } from '../server.js';

/** Largest media library upload. */
export const MAX_MEDIA_BYTES = 20 * 1024 * 1024;
/** Longest media library file (after normalization). */
export const MAX_MEDIA_MS = 10 * 60 * 1000;
const WAV_TYPES = ['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave', 'application/octet-stream'];
const nameParams = Compile(MediaNameParams);
const unavailable = { 503: { $ref: 'ErrorBody#' } } as const;
const s3Unavailable = (err: unknown) => new AppError('SERVICE_UNAVAILABLE', 'media storage is unavailable, retry later', { retryable: true }, { cause: err });

/**
 * The tenant media library (docs/recordings.md § Media library): WAV prompts played into calls with
 * `{ source: { media: "<name>" } }` (REST play, programmable voice). Stored in the recordings bucket under
 * `media/<tenantId>/<name>.wav`, normalized to 8 kHz mono 16-bit PCM.
 */
export async function mediaLibraryRoutes(app: Http, services: Services): Promise<void> {
  let lib: MediaLibrary | undefined;
  const library = () => (lib ??= new MediaLibrary(services.recordingFiles.s3, services.recordingFiles.bucket));
  app.addContentTypeParser(WAV_TYPES, { parseAs: 'buffer', bodyLimit: MAX_MEDIA_BYTES }, (_req, body, done) => done(null, body));

  app.put(
    '/v1/media/:name',
    {
      bodyLimit: MAX_MEDIA_BYTES,
      schema: {
        tags: ['media'],
        summary: 'Upload (or replace) a media library file (raw WAV body)',
        description: `\`Content-Type: audio/wav\`; PCM 8/16/24/32-bit, float, A-law or µ-law, any rate and channel count; stored as 8 kHz mono 16-bit PCM. At most ${MAX_MEDIA_BYTES} bytes and ${MAX_MEDIA_MS / 60000} minutes.`,
        params: MediaNameParams,
        consumes: ['audio/wav'],
        body: Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description: 'The WAV file' }),
        response: { 200: MediaFileDto, ...errorResponses, 413: { $ref: 'ErrorBody#' }, 415: { $ref: 'ErrorBody#' }, ...unavailable },
      },
      validatorCompiler: ({ httpPart }) => (data: unknown) =>
        httpPart === 'params' && !nameParams.Check(data) ? { error: AppError.invalid('name: 1-128 characters of A-Z a-z 0-9 _ . - (not starting with . _ -)', 'params/name') } : { value: data },
    },
    async (req) => {
      if (!Buffer.isBuffer(req.body)) throw AppError.invalid('send the WAV as the raw body with Content-Type: audio/wav', '/body');
      let n: ReturnType<typeof normalizeWav>;
      try {
        n = normalizeWav(req.body);
      } catch (err) {
        if (err instanceof WavError) throw AppError.invalid(`not a usable WAV: ${err.message}`, '/body');
        throw err;
      }
      if (n.durationMs > MAX_MEDIA_MS) throw AppError.invalid(`longer than ${MAX_MEDIA_MS / 60000} minutes`, '/body');
      const original = `${n.source.format}${n.source.format === 'pcm' ? n.source.bitsPerSample : ''}/${n.source.sampleRate}/${n.source.channels}`;
      const tenantId = tenantOf(req);
      const file = await library().put(tenantId, req.params.name, n.wav, { durationMs: n.durationMs, original }).catch((err: unknown) => {
        throw s3Unavailable(err);
      });
      req.log.info({ name: file.name, sizeBytes: file.sizeBytes, durationMs: file.durationMs }, 'media file stored');
      const { etag: _e, ...dto } = file;
      return dto;
    },
  );

  app.get(
    '/v1/media',
    {
      schema: {
        tags: ['media'], summary: 'List the media library (by name)', querystring: MediaListQuery,
        response: { 200: Type.Object({ items: Type.Array(MediaFileDto), nextCursor: Type.Optional(Type.String()) }, { description: 'A page of files' }), ...errorResponses, ...unavailable },
      },
    },
    async (req) => {
      const page = await library().list(tenantOf(req), req.query.limit, req.query.cursor).catch((err: unknown) => {
        throw s3Unavailable(err);
      });
      return { items: page.items.map(({ etag: _e, ...f }) => f), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
    },
  );

  app.get(
    '/v1/media/:name',
    { schema: { tags: ['media'], summary: 'Get a media library file’s metadata', params: MediaNameParams, response: { 200: MediaFileDto, ...errorResponses, ...unavailable } } },
    async (req) => {
      const f = await library().head(tenantOf(req), req.params.name).catch((err: unknown) => {
        throw s3Unavailable(err);
      });
      if (!f) throw AppError.notFound('media', req.params.name);
      const { etag: _e, ...dto } = f;
      return dto;
    },
  );

  app.delete(
    '/v1/media/:name',
    {
      schema: {
        tags: ['media'], summary: 'Delete a media library file', description: 'SBC nodes keep a cached copy until the name is uploaded again (their cache is keyed by ETag); plays after the delete answer 404.',
        params: MediaNameParams, response: { 204: Type.Null({ description: 'No content' }), ...errorResponses, ...unavailable },
      },
    },
    async (req, reply) => {
      const deleted = await library().delete(tenantOf(req), req.params.name).catch((err: unknown) => {
        throw s3Unavailable(err);
      });
      if (!deleted) throw AppError.notFound('media', req.params.name);
      return reply.code(204).send(null);
    },
  );
}
