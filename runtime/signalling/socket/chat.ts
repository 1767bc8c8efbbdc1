import { AppError } from '../../core/errors.js';
import { ChatHistoryRequest, ChatSendRequest, TypingRequest } from '../../core/protocol/events.js';
import type { ConnectionContext } from './context.js';
import { handle, notify } from './handle.js';
import { roomChannel } from './names.js';
import { requireMembership } from './rooms.js';

export function registerChatHandlers(ctx: ConnectionContext): void {
  const { socket, services, tenantId, identity } = ctx;
  const sent = services.metrics.counter('chat_messages_total', 'Chat messages stored and delivered');

  // Messages get a server id and a per-room sequence number (atomic counter), so every client sees one order.
  socket.on(
    'chat:send',
    handle(ctx.log, 'chat:send', ChatSendRequest, async (req) => {
      const participantId = requireMembership(ctx, req.roomId);
      if (req.text.length > services.config.limits.maxChatMessageLength) {
        throw AppError.invalid(`text is longer than ${services.config.limits.maxChatMessageLength} characters`, '/text');
      }
      const msg = await services.rooms.addMessage(tenantId, req.roomId, {
        from: { identity, participantId, ...(socket.data.displayName ? { displayName: socket.data.displayName } : {}) },
        text: req.text,
        ...(req.clientId ? { clientId: req.clientId } : {}),
      });
      socket.to(roomChannel(tenantId, req.roomId)).emit('chat:message', msg);
      sent.inc();
      return msg;
    }),
  );

  socket.on(
    'chat:history',
    handle(ctx.log, 'chat:history', ChatHistoryRequest, async (req) => {
      requireMembership(ctx, req.roomId);
      return { messages: await services.rooms.messages(tenantId, req.roomId, req.limit, req.beforeSeq) };
    }),
  );

  socket.on(
    'chat:typing',
    notify(ctx.log, 'chat:typing', TypingRequest, (req) => {
      const participantId = requireMembership(ctx, req.roomId);
      socket.to(roomChannel(tenantId, req.roomId)).emit('chat:typing', { roomId: req.roomId, participantId, identity, typing: req.typing });
    }),
  );
}
