/**
 * Visual voicemail for the signed-in identity (docs/voicemail.md): `client.voicemail.list()`, `url(id)` (a
 * short-lived link an `<audio>` element plays), `markRead(id)`, `remove(id)`; the client emits `'voicemail'`
 * with each new message. The server scopes everything to the token's identity (its own mailbox, or a SIP user's
 * mailbox linked to it).
 */
import type { ClientContext } from './context.js';
// Types only (nothing of the server reaches the bundle); this import also adds the voicemail events to the protocol's
// event maps (module augmentation in runtime/core/protocol/voicemail.ts).
import type { MailboxRef, VoicemailMessage, VoicemailPage, VoicemailWithUrl } from '../../../runtime/core/protocol/voicemail.js';

export type { MailboxRef, VoicemailMessage, VoicemailPage, VoicemailWithUrl };

export interface VoicemailListOptions {
  /** Default: the identity's own mailbox. A SIP user's mailbox works when that user is linked to this identity. */
  mailbox?: MailboxRef;
  /** Only unread messages. */
  unread?: boolean;
  /** 1–100, default 25. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export class Voicemail {
  /** @internal */
  constructor(private readonly ctx: Pick<ClientContext, 'request'>) {}

  /** Messages, newest first (`nextCursor` when there are more). */
  list(opts: VoicemailListOptions = {}): Promise<VoicemailPage> {
    return this.ctx.request('voicemail:list', opts);
  }

  /** The message and a presigned download URL (valid `expiresIn` seconds, default 300). */
  get(id: string, expiresIn?: number): Promise<VoicemailWithUrl> {
    return this.ctx.request('voicemail:get', { id, ...(expiresIn ? { expiresIn } : {}) });
  }

  /** Just the URL: `audio.src = await client.voicemail.url(id)`. */
  async url(id: string, expiresIn?: number): Promise<string> {
    return (await this.get(id, expiresIn)).url;
  }

  /** Marks read (`read = false`: unread again); resolves with the updated message. */
  markRead(id: string, read = true): Promise<VoicemailMessage> {
    return this.ctx.request('voicemail:read', { id, read });
  }

  /** Deletes the message and its audio. */
  async remove(id: string): Promise<void> {
    await this.ctx.request('voicemail:delete', { id });
  }
}
