import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import { Db, stripKeys, type Item, type PageResult } from './db.js';
import type { GreetingInfo, MailboxKind, MailboxRef, MailboxSettings, VoicemailMessage } from '../protocol/voicemail.js';

/**
 * Visual voicemail (docs/voicemail.md). Items of the single table:
 *
 * | item             | pk             | sk               | gsi1pk                          | gsi1sk      |
 * |------------------|----------------|------------------|---------------------------------|-------------|
 * | message          | T#<tid>#VM     | <messageId>      | T#<tid>#VM#<kind>#<mailboxId>   | <messageId> |
 * | mailbox settings | T#<tid>#VMBOX  | <kind>#<mailboxId> |                               |             |
 *
 * Message ids are time-sortable (`vm_<base36 ms of receivedAt, 9 chars><12 chars of a hash>`) and deterministic
 * for one deposit (tenant, mailbox, call): a retried deposit after a crash writes the same id and S3 key, and
 * the conditional put happens once. Listing is newest first (descending sort key).
 */
const msgPk = (tid: string) => `T#${tid}#VM`;
const boxGsiPk = (tid: string, kind: MailboxKind, id: string) => `T#${tid}#VM#${kind}#${id}`;
const settingsPk = (tid: string) => `T#${tid}#VMBOX`;
const settingsSk = (kind: MailboxKind, id: string) => `${kind}#${id}`;

export type { VoicemailMessage, MailboxSettings, MailboxRef, GreetingInfo };

type MessageItem = Item & VoicemailMessage;
type SettingsItem = Item & MailboxSettings;

/** Deterministic, time-sortable id of one deposit (same inputs → same id). */
export function voicemailIdFor(tenantId: string, mailbox: MailboxRef, callId: string, receivedAtMs: number): string {
  const h = BigInt(`0x${createHash('sha256').update(`${tenantId}\n${mailbox.kind}\n${mailbox.id}\n${callId}`).digest('hex').slice(0, 16)}`)
    .toString(36)
    .padStart(13, '0')
    .slice(-12);
  return `vm_${Math.max(0, Math.floor(receivedAtMs)).toString(36).padStart(9, '0')}${h}`;
}

/** A fresh random id (for tests and manual imports). */
export const randomVoicemailId = (nowMs = Date.now()): string => `vm_${Math.floor(nowMs).toString(36).padStart(9, '0')}${BigInt(`0x${randomBytes(8).toString('hex')}`).toString(36).padStart(13, '0').slice(-12)}`;

const seg = (s: string) => encodeURIComponent(s);
/** `voicemail/<tenantId>/<kind>/<mailboxId>/<messageId>.wav` (the mailbox id URI-encoded). */
export const voicemailS3Key = (tenantId: string, mailbox: MailboxRef, messageId: string): string => `voicemail/${seg(tenantId)}/${mailbox.kind}/${seg(mailbox.id)}/${messageId}.wav`;
/** `voicemail/<tenantId>/<kind>/<mailboxId>/greeting.wav`. */
export const greetingS3Key = (tenantId: string, mailbox: MailboxRef): string => `voicemail/${seg(tenantId)}/${mailbox.kind}/${seg(mailbox.id)}/greeting.wav`;

/** `identity:alice` / `sip-user:bob` → MailboxRef (undefined when malformed). */
export function parseMailbox(s: string): MailboxRef | undefined {
  const i = s.indexOf(':');
  if (i < 0) return undefined;
  const kind = s.slice(0, i);
  const id = s.slice(i + 1);
  if ((kind !== 'identity' && kind !== 'sip-user') || !id) return undefined;
  return { kind, id };
}

export interface VoicemailFilter {
  mailbox?: MailboxRef;
  unread?: boolean;
}

export class VoicemailRepository {
  constructor(private readonly db: Db) {}

  /**
   * Writes a message once. The same message again (a retried deposit) with the same checksum returns
   * `created: false`; another checksum under the same id is a CONFLICT.
   */
  async putOnce(m: VoicemailMessage): Promise<{ created: boolean; message: VoicemailMessage }> {
    try {
      await this.db.put({ pk: msgPk(m.tenantId), sk: m.id, gsi1pk: boxGsiPk(m.tenantId, m.mailbox.kind, m.mailbox.id), gsi1sk: m.id, ...m } as MessageItem, { ifNotExists: true });
      return { created: true, message: m };
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'CONFLICT')) throw err;
      const existing = await this.get(m.tenantId, m.id);
      if (existing && existing.sha256 === m.sha256 && existing.sizeBytes === m.sizeBytes) return { created: false, message: existing };
      throw new AppError('CONFLICT', `voicemail ${m.id} exists with other content`, {}, { cause: err });
    }
  }

  async get(tenantId: string, id: string): Promise<VoicemailMessage | undefined> {
    const item = await this.db.get<MessageItem>(msgPk(tenantId), id);
    return item ? stripKeys<VoicemailMessage>(item) : undefined;
  }

  /** Sets the read flag; undefined when the message does not exist. */
  async setRead(tenantId: string, id: string, read: boolean): Promise<VoicemailMessage | undefined> {
    try {
      const out = await this.db.update<MessageItem>({
        Key: { pk: msgPk(tenantId), sk: id },
        UpdateExpression: 'SET #r = :r',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#r': 'read' },
        ExpressionAttributeValues: { ':r': read },
      });
      return out ? stripKeys<VoicemailMessage>(out) : undefined;
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONFLICT') return undefined;
      throw err;
    }
  }

  async delete(tenantId: string, id: string): Promise<void> {
    await this.db.delete(msgPk(tenantId), id);
  }

  /** Newest first; a mailbox uses the GSI; `unread` filters (a page can be short while `nextCursor` is present). */
  async list(tenantId: string, filter: VoicemailFilter, limit: number, cursor?: string): Promise<PageResult<VoicemailMessage>> {
    const byBox = filter.mailbox;
    const pk = byBox ? boxGsiPk(tenantId, byBox.kind, byBox.id) : msgPk(tenantId);
    const items: VoicemailMessage[] = [];
    let next = cursor;
    for (let round = 0; round < 20 && items.length < limit; round++) {
      const page = await this.db.page<MessageItem>(pk, { limit: limit - items.length, descending: true, ...(byBox ? { index: 'gsi1' as const } : {}), ...(next ? { cursor: next } : {}) });
      next = page.nextCursor;
      for (const item of page.items) if (!filter.unread || !item.read) items.push(stripKeys<VoicemailMessage>(item));
      if (!next) break;
    }
    return { items, ...(next ? { nextCursor: next } : {}) };
  }

  // ---- mailbox settings ----------------------------------------------------------------------------------

  /** The stored settings, or undefined (callers apply the defaults: disabled, default greeting). */
  async getSettings(tenantId: string, mailbox: MailboxRef): Promise<MailboxSettings | undefined> {
    const item = await this.db.get<SettingsItem>(settingsPk(tenantId), settingsSk(mailbox.kind, mailbox.id));
    return item ? stripKeys<MailboxSettings>(item) : undefined;
  }

  /** Settings with defaults applied (a mailbox never configured is disabled unless `defaultEnabled`). */
  async settings(tenantId: string, mailbox: MailboxRef, nowIso = new Date(0).toISOString(), defaultEnabled = false): Promise<MailboxSettings> {
    return (await this.getSettings(tenantId, mailbox)) ?? { tenantId, kind: mailbox.kind, id: mailbox.id, enabled: defaultEnabled, greeting: null, updatedAt: nowIso };
  }

  async putSettings(s: MailboxSettings): Promise<MailboxSettings> {
    await this.db.put({ pk: settingsPk(s.tenantId), sk: settingsSk(s.kind, s.id), ...s } as SettingsItem);
    return s;
  }
}
