import { createHash } from 'node:crypto';
import { AppError } from '../errors.js';
import { Db, type Item } from './db.js';

const idemPk = (tid: string) => `T#${tid}#IDEM`;
type IdemItem = Item & { requestHash: string; state: 'pending' | 'done'; status?: number; body?: string };

export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

/**
 * `Idempotency-Key` on POSTs that create things: the first request reserves the key (conditional put),
 * its response is stored for 24 h and replayed for retries with the same body; a different body is a 422.
 */
export class IdempotencyStore {
  constructor(private readonly db: Db) {}

  static hash(method: string, url: string, body: unknown): string {
    return createHash('sha256').update(`${method} ${url}\n${JSON.stringify(body ?? null)}`).digest('hex');
  }

  /** Returns a stored response to replay, or undefined when the caller should run the request. */
  async begin(tenantId: string, key: string, requestHash: string): Promise<{ status: number; body: unknown } | undefined> {
    const item: IdemItem = { pk: idemPk(tenantId), sk: key, requestHash, state: 'pending', expiresAt: this.db.nowSeconds() + IDEMPOTENCY_TTL_SECONDS };
    try {
      await this.db.put(item, { ifNotExists: true });
      return undefined;
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'CONFLICT')) throw err;
    }
    const existing = await this.db.get<IdemItem>(idemPk(tenantId), key);
    if (!existing) return this.begin(tenantId, key, requestHash);
    if (existing.requestHash !== requestHash) throw new AppError('IDEMPOTENCY_CONFLICT', 'Idempotency-Key was already used with a different request', { field: 'Idempotency-Key' });
    if (existing.state === 'pending') throw new AppError('CONFLICT', 'a request with this Idempotency-Key is still in progress', { retryable: true });
    return { status: existing.status ?? 200, body: existing.body ? JSON.parse(existing.body) : undefined };
  }

  async complete(tenantId: string, key: string, requestHash: string, status: number, body: unknown): Promise<void> {
    await this.db.put({ pk: idemPk(tenantId), sk: key, requestHash, state: 'done', status, body: JSON.stringify(body), expiresAt: this.db.nowSeconds() + IDEMPOTENCY_TTL_SECONDS } as IdemItem);
  }

  /** The request failed: release the key so that a retry can run. */
  async abort(tenantId: string, key: string): Promise<void> {
    await this.db.delete(idemPk(tenantId), key);
  }
}
