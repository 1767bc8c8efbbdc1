/**
 * Visual voicemail REST (docs/voicemail.md): messages (list, get with a presigned URL, mark read, delete) and
 * mailbox settings (enabled, greeting, notification email, ring timeout). Tenant API key; only that tenant's data.
 */
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { Page } from '../../../core/protocol/http.js';
import { AppError } from '../../../core/errors.js';
import { parseMailbox } from '../../../core/storage/voicemail.js';
import {
  MailboxParams,
  MailboxSettings,
  MessageParams,
  PutMailboxSettings,
  VoicemailListQuery,
  VoicemailMessage,
  VoicemailUpdate,
  VoicemailUrlQuery,
  VoicemailWithUrl,
} from '../../../core/protocol/voicemail.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { tenantOf } from '../auth.js';
import { errorResponses } from '../server.js';

/** Largest greeting upload (≈ 2 min of 16 kHz 16-bit mono, or 6 min of 8 kHz). */
export const MAX_GREETING_BYTES = 6 * 1024 * 1024;
const WAV_TYPES = ['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave', 'application/octet-stream'];
const greetingParams = Compile(MailboxParams);
const unavailable = { 503: { $ref: 'ErrorBody#' } } as const;

export async function voicemailRoutes(app: Http, services: Services): Promise<void> {
  const vm = () => services.voicemail;
  // Greeting uploads are raw WAV bodies (this plugin's scope only).
  app.addContentTypeParser(WAV_TYPES, { parseAs: 'buffer', bodyLimit: MAX_GREETING_BYTES }, (_req, body, done) => done(null, body));

  app.get(
    '/v1/voicemail/messages',
    {
      schema: {
        tags: ['voicemail'],
        summary: 'List voicemail messages, newest first',
        description: 'All mailboxes of the tenant, or one (`mailbox=identity:alice`, `mailbox=sip-user:1001`); `unread=true` keeps unread ones. A page can be shorter than `limit` while `nextCursor` is present.',
        querystring: VoicemailListQuery,
        response: { 200: Page(VoicemailMessage, 'voicemail messages'), ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query;
      const mailbox = q.mailbox ? parseMailbox(q.mailbox) : undefined;
      if (q.mailbox && !mailbox) throw AppError.invalid('mailbox must be identity:<id> or sip-user:<name>', 'querystring/mailbox');
      return vm().list(tenantOf(req), { ...(mailbox ? { mailbox } : {}), ...(q.unread ? { unread: true } : {}) }, q.limit, q.cursor);
    },
  );

  app.get(
    '/v1/voicemail/messages/:messageId',
    {
      schema: {
        tags: ['voicemail'],
        summary: 'Get a message with a short-lived download URL',
        description: 'The URL is a presigned S3 GET (`audio/wav`, inline: an `<audio>` element plays it); `expiresIn` seconds, default 300.',
        params: MessageParams,
        querystring: VoicemailUrlQuery,
        response: { 200: VoicemailWithUrl, ...errorResponses, ...unavailable },
      },
    },
    async (req) => vm().withUrl(tenantOf(req), req.params.messageId, req.query.expiresIn),
  );

  const update = {
    schema: {
      tags: ['voicemail'],
      summary: 'Mark a message read or unread',
      params: MessageParams,
      body: VoicemailUpdate,
      response: { 200: VoicemailMessage, ...errorResponses },
    },
  };
  app.patch('/v1/voicemail/messages/:messageId', update, async (req) => vm().setRead(tenantOf(req), req.params.messageId, req.body.read));
  app.post('/v1/voicemail/messages/:messageId', { schema: { ...update.schema, summary: 'Mark a message read or unread (POST alias of PATCH)' } }, async (req) =>
    vm().setRead(tenantOf(req), req.params.messageId, req.body.read),
  );

  app.delete(
    '/v1/voicemail/messages/:messageId',
    {
      schema: {
        tags: ['voicemail'],
        summary: 'Delete a message (the file, then its metadata)',
        description: 'The S3 object goes first: when that fails (503) the message stays listed and the call can be repeated.',
        params: MessageParams,
        response: { 204: Type.Null({ description: 'No content' }), ...errorResponses, ...unavailable },
      },
    },
    async (req, reply) => {
      const m = await vm().remove(tenantOf(req), req.params.messageId);
      req.log.info({ messageId: m.id, mailbox: m.mailbox }, 'voicemail deleted');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/voicemail/mailboxes/:kind/:id',
    { schema: { tags: ['voicemail'], summary: 'Mailbox settings (defaults when never set: disabled, default greeting)', params: MailboxParams, response: { 200: MailboxSettings, ...errorResponses } } },
    async (req) => vm().settings(tenantOf(req), req.params),
  );

  app.put(
    '/v1/voicemail/mailboxes/:kind/:id',
    {
      schema: {
        tags: ['voicemail'],
        summary: 'Set a mailbox’s settings',
        description: '`enabled`: unanswered calls go to voicemail. `greeting: "none"` removes the custom greeting (upload one with `PUT …/greeting`). `notifyEmail`/`ringTimeoutSeconds`: null removes them, absent keeps them.',
        params: MailboxParams,
        body: PutMailboxSettings,
        response: { 200: MailboxSettings, ...errorResponses, ...unavailable },
      },
    },
    async (req) => vm().putSettings(tenantOf(req), req.params, req.body),
  );

  app.put(
    '/v1/voicemail/mailboxes/:kind/:id/greeting',
    {
      bodyLimit: MAX_GREETING_BYTES,
      schema: {
        tags: ['voicemail'],
        summary: 'Upload the mailbox’s greeting (raw WAV body)',
        description: `\`Content-Type: audio/wav\`; PCM 8 or 16-bit, any rate and channel count (stored as 8 kHz mono 16-bit), at most 120 s and ${MAX_GREETING_BYTES} bytes.`,
        params: MailboxParams,
        consumes: ['audio/wav'],
        body: Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description: 'The WAV file' }),
        response: { 200: MailboxSettings, ...errorResponses, 413: { $ref: 'ErrorBody#' }, 415: { $ref: 'ErrorBody#' }, ...unavailable },
      },
      // The body is a Buffer (the WAV parser validates it); only the path parameters are checked by schema here.
      validatorCompiler: ({ httpPart }) => (data: unknown) =>
        httpPart === 'params' && !greetingParams.Check(data) ? { error: AppError.invalid('kind must be identity or sip-user; id 1-128 characters without / or spaces', 'params') } : { value: data },
    },
    async (req) => {
      if (!Buffer.isBuffer(req.body)) throw AppError.invalid('send the WAV as the raw body with Content-Type: audio/wav', '/body');
      return vm().putGreeting(tenantOf(req), req.params, req.body);
    },
  );
}
