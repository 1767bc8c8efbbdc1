import { isoTime } from '../clock.js';
import type { PresenceInfo } from '../protocol/events.js';
import type { PresenceStatus } from '../protocol/common.js';
import { Db, type Item } from './db.js';

const presPk = (tid: string) => `T#${tid}#PRES`;
type PresItem = Item & { identity: string; status: Exclude<PresenceStatus, 'offline'>; note?: string; updatedAt: string; sockets?: Set<string> };

/** Presence is refreshed while sockets are connected; an identity with no live sockets is offline. */
export const PRESENCE_TTL_SECONDS = 600;

export class PresenceRepository {
  constructor(private readonly db: Db) {}

  async connect(tenantId: string, identity: string, socketId: string): Promise<PresenceInfo> {
    const item = await this.db.update<PresItem>({
      Key: { pk: presPk(tenantId), sk: identity },
      UpdateExpression: 'SET #id = :i, #st = if_not_exists(#st, :online), updatedAt = :t, expiresAt = :exp ADD sockets :sid',
      ExpressionAttributeNames: { '#st': 'status', '#id': 'identity' },
      ExpressionAttributeValues: { ':i': identity, ':online': 'online', ':t': isoTime(this.db.clock.now()), ':exp': this.db.nowSeconds() + PRESENCE_TTL_SECONDS, ':sid': new Set([socketId]) },
    });
    return toInfo(item!, this.db.nowSeconds());
  }

  /** Returns the presence after removing the socket (offline when it was the last one). */
  async disconnect(tenantId: string, identity: string, socketId: string): Promise<PresenceInfo> {
    const item = await this.db.update<PresItem>({
      Key: { pk: presPk(tenantId), sk: identity },
      UpdateExpression: 'SET updatedAt = :t DELETE sockets :sid',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':t': isoTime(this.db.clock.now()), ':sid': new Set([socketId]) },
    }).catch(() => undefined);
    return item ? toInfo(item, this.db.nowSeconds()) : { identity, status: 'offline', updatedAt: isoTime(this.db.clock.now()) };
  }

  async set(tenantId: string, identity: string, status: Exclude<PresenceStatus, 'offline'>, note?: string): Promise<PresenceInfo> {
    const item = await this.db.update<PresItem>({
      Key: { pk: presPk(tenantId), sk: identity },
      UpdateExpression: note === undefined ? 'SET #id = :i, #st = :s, updatedAt = :t REMOVE #note' : 'SET #id = :i, #st = :s, updatedAt = :t, #note = :n',
      ExpressionAttributeNames: { '#st': 'status', '#id': 'identity', '#note': 'note' },
      ExpressionAttributeValues: { ':i': identity, ':s': status, ':t': isoTime(this.db.clock.now()), ...(note === undefined ? {} : { ':n': note }) },
    });
    return toInfo(item!, this.db.nowSeconds());
  }

  async get(tenantId: string, identities: readonly string[]): Promise<PresenceInfo[]> {
    const now = this.db.nowSeconds();
    return Promise.all(
      identities.map(async (identity) => {
        const item = await this.db.get<PresItem>(presPk(tenantId), identity, false);
        return item ? toInfo(item, now) : { identity, status: 'offline' as const, updatedAt: isoTime(0) };
      }),
    );
  }
}

function toInfo(item: PresItem, nowSec: number): PresenceInfo {
  const online = (item.sockets?.size ?? 0) > 0 && (typeof item.expiresAt !== 'number' || item.expiresAt > nowSec);
  return { identity: item.identity, status: online ? item.status : 'offline', ...(item.note ? { note: item.note } : {}), updatedAt: item.updatedAt };
}
