import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { AppError } from '../errors.js';
import type { Clock } from '../clock.js';

export type Item = Record<string, unknown> & { pk: string; sk: string };

export interface PageResult<T> {
  items: T[];
  nextCursor?: string;
}

export function isConditionFailed(err: unknown): boolean {
  return (err as Error | undefined)?.name === 'ConditionalCheckFailedException';
}

function storageError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const name = (err as Error | undefined)?.name ?? '';
  if (name === 'ConditionalCheckFailedException') return new AppError('CONFLICT', 'the resource was changed concurrently or already exists', {}, { cause: err });
  if (/Throttl|ProvisionedThroughput|RequestLimit|ServiceUnavailable|InternalServerError|ECONNREFUSED|TimeoutError|socket hang up/i.test(`${name} ${(err as Error)?.message}`)) {
    return new AppError('SERVICE_UNAVAILABLE', 'storage is unavailable, retry later', { retryable: true }, { cause: err });
  }
  return new AppError('INTERNAL', 'storage error', {}, { cause: err });
}

/**
 * Thin layer over the document client for the single table: expiry filtering on every read
 * (TTL deletion is lazy), opaque cursors bound to their partition, errors mapped to AppError.
 */
export class Db {
  constructor(
    readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    readonly clock: Clock,
  ) {}

  nowSeconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  private live<T extends Record<string, unknown>>(item: T | undefined): T | undefined {
    if (!item) return undefined;
    const exp = item.expiresAt;
    if (typeof exp === 'number' && exp <= this.nowSeconds()) return undefined;
    return item;
  }

  async get<T extends Item>(pk: string, sk: string, consistent = true): Promise<T | undefined> {
    try {
      const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: consistent }));
      return this.live(out.Item as T | undefined);
    } catch (err) {
      throw storageError(err);
    }
  }

  /** Put; with `ifNotExists`, fails with CONFLICT when the key exists (and is not expired). */
  async put(item: Item, opts: { ifNotExists?: boolean } = {}): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ...(opts.ifNotExists
            ? {
                ConditionExpression: 'attribute_not_exists(pk) OR (attribute_exists(expiresAt) AND expiresAt <= :now)',
                ExpressionAttributeValues: { ':now': this.nowSeconds() },
              }
            : {}),
        }),
      );
    } catch (err) {
      throw storageError(err);
    }
  }

  async update<T extends Item>(input: Omit<UpdateCommandInput, 'TableName'>): Promise<T | undefined> {
    try {
      const out = await this.doc.send(new UpdateCommand({ TableName: this.tableName, ReturnValues: 'ALL_NEW', ...input }));
      return out.Attributes as T | undefined;
    } catch (err) {
      throw storageError(err);
    }
  }

  async delete(pk: string, sk: string): Promise<void> {
    try {
      await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { pk, sk } }));
    } catch (err) {
      throw storageError(err);
    }
  }

  /** One page of a partition, oldest first unless `descending`. Expired items are dropped. */
  async page<T extends Item>(
    pk: string,
    opts: { limit: number; cursor?: string; descending?: boolean; skLessThan?: string; skBeginsWith?: string; index?: 'gsi1'; filterLive?: boolean },
  ): Promise<PageResult<T>> {
    const keyAttr = opts.index ? 'gsi1pk' : 'pk';
    const skAttr = opts.index ? 'gsi1sk' : 'sk';
    let keyCond = `${keyAttr} = :pk`;
    const values: Record<string, unknown> = { ':pk': pk, ':now': this.nowSeconds() };
    if (opts.skLessThan !== undefined) {
      keyCond += ` AND ${skAttr} < :skb`;
      values[':skb'] = opts.skLessThan;
    } else if (opts.skBeginsWith !== undefined) {
      keyCond += ` AND begins_with(${skAttr}, :skp)`;
      values[':skp'] = opts.skBeginsWith;
    }
    const input: QueryCommandInput = {
      TableName: this.tableName,
      ...(opts.index ? { IndexName: opts.index } : {}),
      KeyConditionExpression: keyCond,
      FilterExpression: 'attribute_not_exists(expiresAt) OR expiresAt > :now',
      ExpressionAttributeValues: values,
      ScanIndexForward: !opts.descending,
      Limit: opts.limit,
      ...(opts.cursor ? { ExclusiveStartKey: decodeCursor(opts.cursor, pk, keyAttr) } : {}),
    };
    try {
      const items: T[] = [];
      let last: Record<string, unknown> | undefined;
      // A filtered page can come back short: keep reading until the page is full or the partition ends.
      for (let i = 0; i < 10; i++) {
        const out = await this.doc.send(new QueryCommand({ ...input, Limit: opts.limit - items.length, ...(last ? { ExclusiveStartKey: last } : {}) }));
        items.push(...((out.Items ?? []) as T[]));
        last = out.LastEvaluatedKey;
        if (!last || items.length >= opts.limit) break;
      }
      return { items, ...(last ? { nextCursor: encodeCursor(last) } : {}) };
    } catch (err) {
      throw storageError(err);
    }
  }

  /** All live items of a partition (bounded; for small partitions such as a room's participants). */
  async all<T extends Item>(pk: string, max = 1000): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.page<T>(pk, { limit: Math.min(100, max - out.length), ...(cursor ? { cursor } : {}) });
      out.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor && out.length < max);
    return out;
  }
}

export function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** A cursor only works on the partition it came from: a cursor from another tenant is rejected. */
export function decodeCursor(cursor: string, pk: string, keyAttr: string): Record<string, unknown> {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (!key || typeof key !== 'object' || key[keyAttr] !== pk) throw new Error('cursor for another listing');
    for (const v of Object.values(key)) if (typeof v !== 'string' && typeof v !== 'number') throw new Error('bad cursor');
    return key;
  } catch (err) {
    throw new AppError('INVALID_PAYLOAD', 'invalid cursor', { field: '/cursor' }, { cause: err });
  }
}

/** Strips storage attributes before an item leaves the repository. */
export function stripKeys<R = any>(item: Record<string, unknown>): R {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, expiresAt: _e, ...rest } = item;
  return rest as R;
}
