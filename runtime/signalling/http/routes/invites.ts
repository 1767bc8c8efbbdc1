import { Type } from 'typebox';
import { AppError, toAppError } from '../../../core/errors.js';
import { CreateInviteRequest, Invite, Page, PageQuery, type Room } from '../../../core/protocol/http.js';
import { Id } from '../../../core/protocol/common.js';
import { isoTime } from '../../../core/clock.js';
import { newId } from '../../../core/ids.js';
import { escapeHtml, type MailMessage } from '../../../core/mail.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { tenantOf } from '../auth.js';
import { idempotent } from '../idempotency.js';
import { errorResponses } from '../server.js';

const RoomParams = Type.Object({ roomId: Id });

/** An identity from an email address: `Alice.B+x@Example.com` → `alice.b+x@example.com` (invalid characters → `_`). */
export function identityFromEmail(email: string): string {
  const cleaned = email.trim().toLowerCase().replace(/[^a-z0-9_.@+:-]/g, '_');
  const id = /^[a-z0-9]/.test(cleaned) ? cleaned : `u${cleaned}`;
  return id.slice(0, 128);
}

/** The join link: `<page>?room=<id>&token=<jwt>` (appended with `&` when the page already has a query). */
export function joinLink(page: string, roomId: string, token: string): string {
  const sep = page.includes('?') ? '&' : '?';
  return `${page}${sep}room=${encodeURIComponent(roomId)}&token=${encodeURIComponent(token)}`;
}

function inviteMail(input: { to: string; room: Room; link: string; displayName?: string; message?: string; expiresAt: number }): MailMessage {
  const greeting = input.displayName ? `Hello ${input.displayName},` : 'Hello,';
  const until = isoTime(input.expiresAt);
  const text = [
    greeting,
    '',
    `You are invited to join the room "${input.room.name}".`,
    ...(input.message ? ['', input.message] : []),
    '',
    `Join: ${input.link}`,
    '',
    `The link is valid until ${until}.`,
  ].join('\n');
  const html = [
    `<p>${escapeHtml(greeting)}</p>`,
    `<p>You are invited to join the room <strong>${escapeHtml(input.room.name)}</strong>.</p>`,
    ...(input.message ? [`<p>${escapeHtml(input.message).replace(/\n/g, '<br>')}</p>`] : []),
    `<p><a href="${escapeHtml(input.link)}">Join the room</a></p>`,
    `<p>The link is valid until ${escapeHtml(until)}.</p>`,
  ].join('\n');
  return { to: input.to, subject: `Invitation to ${input.room.name}`, text, html };
}

export async function inviteRoutes(app: Http, services: Services): Promise<void> {
  app.post(
    '/v1/rooms/:roomId/invites',
    {
      schema: {
        tags: ['invites'],
        summary: 'Invite someone to a room by email',
        description:
          'Sends an email (SES) with a join link carrying a short-lived access token for the invitee (grants: this room only, TTL = `ttlSeconds`, ' +
          'at most the configured token maximum). The invite is recorded with its delivery status; when the mail service refuses the mail the invite ' +
          'is stored as `failed` and the answer is 502 MAIL_FAILED. Supports `Idempotency-Key`.',
        params: RoomParams,
        body: CreateInviteRequest,
        response: { 201: Invite, ...errorResponses, 409: { $ref: 'ErrorBody#' }, 422: { $ref: 'ErrorBody#' }, 502: { $ref: 'ErrorBody#' } },
      },
    },
    async (req, reply) =>
      idempotent(services, req, reply, 201, async () => {
        const tenantId = tenantOf(req);
        const body = req.body;
        const room = await services.rooms.requireJoinable(tenantId, req.params.roomId);
        const maxTtl = services.config.tokens.maxTtlSeconds;
        if (body.ttlSeconds > maxTtl) throw AppError.invalid(`body/ttlSeconds must be at most ${maxTtl} (the access-token maximum)`, 'body/ttlSeconds');
        const identity = body.identity ?? identityFromEmail(body.email);
        const minted = await services.tokens.mint({
          tenantId,
          identity,
          ...(body.displayName ? { displayName: body.displayName } : {}),
          grants: { rooms: [room.id] },
          ttlSeconds: body.ttlSeconds,
        });
        // Without a configured public URL: behind CloudFront (trustProxy) the viewer's host from the edge function,
        // which is always HTTPS; otherwise the URL the caller used.
        const edgeHost = services.config.http.trustProxy ? req.headers['x-cpaas-public-host'] : undefined;
        const publicBase = services.config.http.publicUrl ?? (typeof edgeHost === 'string' && edgeHost ? `https://${edgeHost}` : `${req.protocol}://${req.host}`);
        const page = body.joinUrl ?? `${publicBase.replace(/\/+$/, '')}/demo/room.html`;
        const link = joinLink(page, room.id, minted.token);
        const now = services.clock.now();
        const base = { id: newId('inv', now), roomId: room.id, email: body.email, identity, createdAt: isoTime(now), expiresAt: isoTime(minted.expiresAt) };
        const mail = inviteMail({
          to: body.email,
          room,
          link,
          expiresAt: minted.expiresAt,
          ...(body.displayName ? { displayName: body.displayName } : {}),
          ...(body.message ? { message: body.message } : {}),
        });
        const sent = services.metrics.counter('invites_total', 'Email invites by delivery status');
        let messageId: string;
        try {
          ({ messageId } = await services.mailer.send(mail));
        } catch (err) {
          const e = toAppError(err);
          const failed: Invite = { ...base, status: 'failed', error: e.code === 'INTERNAL' ? 'mail service error' : e.message };
          await services.rooms.addInvite(tenantId, failed);
          sent.inc({ status: 'failed' });
          req.log.warn({ err, roomId: room.id, inviteId: base.id }, 'invite mail failed');
          throw e.code === 'MAIL_FAILED' ? e : new AppError('MAIL_FAILED', `email to ${body.email} failed`, { retryable: true }, { cause: err });
        }
        const invite: Invite = { ...base, status: 'sent', messageId };
        await services.rooms.addInvite(tenantId, invite);
        sent.inc({ status: 'sent' });
        return invite;
      }),
  );

  app.get(
    '/v1/rooms/:roomId/invites',
    {
      schema: {
        tags: ['invites'],
        summary: 'List the invites of a room with their delivery status',
        params: RoomParams,
        querystring: PageQuery,
        response: { 200: Page(Invite, 'invites'), ...errorResponses },
      },
    },
    async (req) => {
      const tenantId = tenantOf(req);
      await services.rooms.require(tenantId, req.params.roomId);
      return services.rooms.invites(tenantId, req.params.roomId, req.query.limit, req.query.cursor);
    },
  );
}
