/**
 * The mailbox owner's socket events (docs/voicemail.md): `voicemail:list|get|read|delete` with acks, scoped to the
 * token's identity: its own mailbox (`identity:<identity>`), or a SIP user's mailbox whose user is linked to that
 * identity. A message of another mailbox (or tenant) is NOT_FOUND. `voicemail:new` is emitted to the identity's
 * channel by `voicemailEventSink` (fed by POST /internal/voicemail/events).
 */
import { AppError } from '../../core/errors.js';
import { VoicemailGetRequest, VoicemailListRequest, VoicemailReadRequest, VoicemailRef, type MailboxRef, type VoicemailMessage } from '../../core/protocol/voicemail.js';
import type { VoicemailEvent } from '../../core/voicemail/notifier.js';
import type { Services } from '../services.js';
import type { ConnectionContext } from './context.js';
import type { Io } from './index.js';
import { handle } from './handle.js';
import { identityChannel } from './names.js';

export const VOICEMAIL_EVENTS = ['voicemail:list', 'voicemail:get', 'voicemail:read', 'voicemail:delete'] as const;

/** `voicemail:new` to every socket of the owner identity; resolves with how many sockets hold that identity. */
export function voicemailEventSink(io: Io): (e: VoicemailEvent) => Promise<number> {
  return async (e) => {
    const channel = identityChannel(e.tenantId, e.owner);
    const sockets = await io.in(channel).fetchSockets();
    io.to(channel).emit('voicemail:new', { message: e.message });
    return sockets.length;
  };
}

/** Whether `identity` may see `mailbox` of `tenantId`. */
async function owns(services: Services, tenantId: string, identity: string, mailbox: MailboxRef): Promise<boolean> {
  if (mailbox.kind === 'identity') return mailbox.id === identity;
  return (await services.sip.getUser(tenantId, mailbox.id))?.identity === identity;
}

export function registerVoicemailHandlers(ctx: ConnectionContext): void {
  const { socket, services, tenantId, identity } = ctx;
  const vm = () => services.voicemail;
  /** The message, when it belongs to this identity (owner recorded at deposit, or a mailbox it owns now). */
  const own = async (id: string): Promise<VoicemailMessage> => {
    const m = await vm().repo.get(tenantId, id);
    if (!m || !(m.owner === identity || (await owns(services, tenantId, identity, m.mailbox)))) throw AppError.notFound('voicemail message', id);
    return m;
  };

  socket.on(
    'voicemail:list',
    handle(ctx.log, 'voicemail:list', VoicemailListRequest, async (req) => {
      const mailbox = req.mailbox ?? { kind: 'identity' as const, id: identity };
      if (!(await owns(services, tenantId, identity, mailbox))) throw AppError.forbidden('not your mailbox');
      return vm().list(tenantId, { mailbox, ...(req.unread ? { unread: true } : {}) }, req.limit ?? 25, req.cursor);
    }),
  );
  socket.on(
    'voicemail:get',
    handle(ctx.log, 'voicemail:get', VoicemailGetRequest, async (req) => vm().withUrl(tenantId, await own(req.id), req.expiresIn)),
  );
  socket.on(
    'voicemail:read',
    handle(ctx.log, 'voicemail:read', VoicemailReadRequest, async (req) => {
      await own(req.id);
      return vm().setRead(tenantId, req.id, req.read ?? true);
    }),
  );
  socket.on(
    'voicemail:delete',
    handle(ctx.log, 'voicemail:delete', VoicemailRef, async (req) => {
      await own(req.id);
      await vm().remove(tenantId, req.id);
      return {};
    }),
  );
}
