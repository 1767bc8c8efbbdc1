/**
 * Live-call ownership (docs/sbc.md § Several SBC instances): which SBC instance holds a live call or hosts a
 * conference, so a control request that the internal NLB sent to another SBC can be forwarded to the owner.
 *
 * | item             | pk                       | sk      | attributes                                         |
 * |------------------|--------------------------|---------|----------------------------------------------------|
 * | call owner       | CALLOWNER#<callId>       | OWNER   | tenantId, ownerId, controlUrl, expiresAt (TTL)     |
 * | conference owner | T#<tid>#CONFOWNER        | <name>  | tenantId, ownerId, controlUrl, expiresAt (TTL)     |
 *
 * Call ids are globally unique and the SBC's control paths (`/v1/calls/{id}/…`) do not all carry the tenant, so the
 * call-owner partition is keyed by the call id alone (like the tenant records, an exception to `T#<tid>#…`); the
 * item still records its tenant. Items are refreshed while the call lives and deleted at its end; the TTL cleans up
 * after an instance that died.
 */
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed, type Db, type Item } from './db.js';

export type OwnedKind = 'call' | 'conference';

export interface CallOwner {
  tenantId: string;
  /** The SBC instance id. */
  ownerId: string;
  /** The owner's private control API base URL (`http://10.0.1.23:8090`). */
  controlUrl: string;
  /** Epoch seconds. */
  expiresAt: number;
}

type OwnerItem = Item & CallOwner;

/** Default lifetime of an item; owners refresh well before (see runtime/sbc/ownership.ts). */
export const CALL_OWNER_TTL_SECONDS = 2 * 3600;

function keyOf(kind: OwnedKind, id: string, tenantId?: string): { pk: string; sk: string } {
  return kind === 'call' ? { pk: `CALLOWNER#${id}`, sk: 'OWNER' } : { pk: `T#${tenantId ?? ''}#CONFOWNER`, sk: id };
}

export class CallOwnerRepository {
  constructor(private readonly db: Db) {}

  /** Registers (or refreshes) this owner; last writer wins (a conference re-created elsewhere moves). */
  async put(kind: OwnedKind, id: string, owner: Omit<CallOwner, 'expiresAt'>, ttlSeconds = CALL_OWNER_TTL_SECONDS): Promise<void> {
    await this.db.put({ ...keyOf(kind, id, owner.tenantId), ...owner, expiresAt: this.db.nowSeconds() + ttlSeconds });
  }

  /** The live owner; for conferences the tenant is part of the key. */
  async get(kind: OwnedKind, id: string, tenantId?: string): Promise<CallOwner | undefined> {
    const k = keyOf(kind, id, tenantId);
    const item = await this.db.get<OwnerItem>(k.pk, k.sk);
    return item ? { tenantId: item.tenantId, ownerId: item.ownerId, controlUrl: item.controlUrl, expiresAt: item.expiresAt } : undefined;
  }

  /** Deletes the item only when `ownerId` still owns it (a conference may have moved to another instance). */
  async delete(kind: OwnedKind, id: string, ownerId: string, tenantId?: string): Promise<void> {
    try {
      await this.db.doc.send(new DeleteCommand({
        TableName: this.db.tableName, Key: keyOf(kind, id, tenantId),
        ConditionExpression: 'ownerId = :o', ExpressionAttributeValues: { ':o': ownerId },
      }));
    } catch (err) {
      if (isConditionFailed(err)) return;
      throw err;
    }
  }
}
