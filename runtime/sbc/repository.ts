/**
 * Builds the SipRepository over the single table. Kept in one place so main.ts files don't depend on the
 * storage class's constructor shape.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../core/clock.js';
import { Db } from '../core/storage/db.js';
import { DynamoSipRepository } from '../core/storage/sip.js';
import type { SipRepository } from '../core/storage/sip-types.js';

export function createSipRepository(o: { doc: DynamoDBDocumentClient; tableName: string; clock: Clock }): SipRepository {
  return new DynamoSipRepository(new Db(o.doc, o.tableName, o.clock));
}
