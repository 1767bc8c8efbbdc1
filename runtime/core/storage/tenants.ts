import { AppError } from '../errors.js';
import { isoTime } from '../clock.js';
import { randomToken } from '../ids.js';
import { generateApiKey, secretMatches } from '../auth/api-keys.js';
import type { ApiKey, CreatedApiKey, Tenant } from '../protocol/http.js';
import { Db, stripKeys, type Item, type PageResult } from './db.js';

const tenantPk = (tid: string) => `TENANT#${tid}`;
const keysPk = (tid: string) => `T#${tid}#APIKEY`;

type TenantItem = Item & Tenant & { webhookSecret?: string };
type KeyItem = Item & ApiKey & { secretHash: string };

export class TenantRepository {
  /** Tenant status for authentication, cached briefly like verified keys (see ApiKeyRepository). */
  private readonly statusCache = new Map<string, { tenant: Tenant | undefined; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly cacheMs = 5_000,
  ) {}

  async create(input: { name: string; id?: string; webhookUrl?: string }): Promise<Tenant & { webhookSecret: string }> {
    const now = this.db.clock.now();
    const id = input.id ?? `t${randomToken(11)}`;
    const item: TenantItem = {
      pk: tenantPk(id),
      sk: 'META',
      gsi1pk: 'TENANTS',
      gsi1sk: `${isoTime(now)}#${id}`,
      id,
      name: input.name,
      status: 'active',
      createdAt: isoTime(now),
      ...(input.webhookUrl ? { webhookUrl: input.webhookUrl } : {}),
      webhookSecret: randomToken(40),
    };
    try {
      await this.db.put(item, { ifNotExists: true });
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONFLICT') throw new AppError('CONFLICT', `tenant ${id} already exists`, { field: '/id' });
      throw err;
    }
    return { ...toTenant(item), webhookSecret: item.webhookSecret! };
  }

  async get(id: string): Promise<Tenant | undefined> {
    const item = await this.db.get<TenantItem>(tenantPk(id), 'META');
    return item ? toTenant(item) : undefined;
  }

  /**
   * The tenant as seen by authentication: read at most once per `cacheMs` per instance, so hot API paths
   * don't read the table per request. Disabling a tenant takes effect at once on this instance and
   * within `cacheMs` on others.
   */
  async getCached(id: string): Promise<Tenant | undefined> {
    const now = this.db.clock.now();
    const hit = this.statusCache.get(id);
    if (hit && hit.until >= now) return hit.tenant;
    const tenant = await this.get(id);
    if (this.statusCache.size > 10_000) this.statusCache.clear();
    this.statusCache.set(id, { tenant, until: now + this.cacheMs });
    return tenant;
  }

  /** The tenant's webhook signing secret (server side only). */
  async webhookSecret(id: string): Promise<string | undefined> {
    const item = await this.db.get<TenantItem>(tenantPk(id), 'META');
    return item?.webhookSecret;
  }

  async list(limit: number, cursor?: string): Promise<PageResult<Tenant>> {
    const page = await this.db.page<TenantItem>('TENANTS', { limit, index: 'gsi1', ...(cursor ? { cursor } : {}) });
    return { ...page, items: page.items.map(toTenant) };
  }

  async setStatus(id: string, status: 'active' | 'disabled'): Promise<Tenant> {
    try {
      const item = await this.db.update<TenantItem>({
        Key: { pk: tenantPk(id), sk: 'META' },
        UpdateExpression: 'SET #s = :s',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': status },
      });
      return toTenant(item!);
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONFLICT') throw new AppError('TENANT_NOT_FOUND', `tenant ${id} not found`);
      throw err;
    } finally {
      // after the write, so that a concurrent read cannot put the old status back
      this.statusCache.delete(id);
    }
  }
}

function toTenant(item: TenantItem): Tenant {
  const { webhookSecret: _w, ...rest } = stripKeys(item);
  return rest as Tenant;
}

export class ApiKeyRepository {
  /** Verified keys are cached briefly so that hot API paths do not read the table per request. */
  private readonly cache = new Map<string, { hash: string; revoked: boolean; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly cacheMs = 5_000,
  ) {}

  async create(tenantId: string, name: string): Promise<CreatedApiKey> {
    const gen = generateApiKey(tenantId);
    const now = isoTime(this.db.clock.now());
    const item: KeyItem = { pk: keysPk(tenantId), sk: gen.keyId, id: gen.keyId, tenantId, name, createdAt: now, secretHash: gen.secretHash };
    await this.db.put(item, { ifNotExists: true });
    return { id: gen.keyId, tenantId, name, createdAt: now, secret: gen.secret, token: gen.token };
  }

  async list(tenantId: string, limit: number, cursor?: string): Promise<PageResult<ApiKey>> {
    const page = await this.db.page<KeyItem>(keysPk(tenantId), { limit, ...(cursor ? { cursor } : {}) });
    return { ...page, items: page.items.map(toKey) };
  }

  async get(tenantId: string, keyId: string): Promise<ApiKey | undefined> {
    const item = await this.db.get<KeyItem>(keysPk(tenantId), keyId);
    return item ? toKey(item) : undefined;
  }

  async revoke(tenantId: string, keyId: string): Promise<ApiKey> {
    this.cache.delete(keyId);
    try {
      const item = await this.db.update<KeyItem>({
        Key: { pk: keysPk(tenantId), sk: keyId },
        UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :t)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':t': isoTime(this.db.clock.now()) },
      });
      return toKey(item!);
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONFLICT') throw AppError.notFound('api key', keyId);
      throw err;
    }
  }

  /** True when the key exists, is not revoked and the secret matches. */
  async verify(tenantId: string, keyId: string, secret: string): Promise<boolean> {
    const now = this.db.clock.now();
    let entry = this.cache.get(keyId);
    if (!entry || entry.until < now) {
      const item = await this.db.get<KeyItem>(keysPk(tenantId), keyId, false);
      if (!item) {
        this.cache.delete(keyId);
        return false;
      }
      entry = { hash: item.secretHash, revoked: Boolean(item.revokedAt), until: now + this.cacheMs };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(keyId, entry);
    }
    return !entry.revoked && secretMatches(secret, entry.hash);
  }
}

function toKey(item: KeyItem): ApiKey {
  const { secretHash: _h, ...rest } = stripKeys(item);
  return rest as ApiKey;
}

