/**
 * Voice applications (docs/api.md § Programmable voice): what runs on a call, either a webhook URL that returns
 * call-control documents or an inline document, plus where status callbacks go. Items:
 *
 * | item        | pk          | sk      |
 * |-------------|-------------|---------|
 * | application | T#<tid>#APP | <appId> |
 * | sip address | T#<tid>#SIPADDR | <user part> |   (→ applicationId; unique per tenant)
 *
 * SIP addresses (`sipAddresses: ['support']`): `sip:support@<tenant SIP domain>` runs the application. Each one is an
 * index item claimed with a conditional put before the application is written (DynamoDB Local/dynalite have no
 * transactions, so: claim every address, then check no SIP user has the name, then write the application; any
 * failure releases what was claimed). A SIP user create does the mirror image (runtime/core/storage/sip.ts): write,
 * then check the index. Of two racing writers at least one sees the other, so a name is never both.
 *
 * Ids are time-sortable (`app_…`): a listing comes back in creation order. A number maps to an application with
 * the destination `{ type: 'application', applicationId }` (runtime/core/storage/sip-types.ts); the SBC resolves
 * it with `DynamoApplicationResolver`.
 */
import { DeleteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { newId } from '../ids.js';
import { AppError } from '../errors.js';
import { systemClock, type Clock } from '../clock.js';
import type { ApplicationSpec, CallDocument } from '../protocol/voice.js';
import { Db, isConditionFailed, stripKeys, type Item, type PageResult } from './db.js';

const appPk = (tid: string) => `T#${tid}#APP`;
/** The tenant's SIP address index (sk = the user part); also read by DynamoSipRepository.applicationBySipAddress. */
export const sipAddressPk = (tid: string) => `T#${tid}#SIPADDR`;
/** The SIP user partition (same key as runtime/core/storage/sip.ts). */
const sipUserPk = (tid: string) => `T#${tid}#SIPUSER`;
/** At most this many SIP addresses per application. */
export const MAX_SIP_ADDRESSES = 20;

export interface SipAddressItem extends Item {
  tenantId: string;
  name: string;
  applicationId: string;
}

export interface StatusCallbackTarget {
  url: string;
  fallbackUrl?: string;
}

export interface Application {
  id: string;
  tenantId: string;
  name: string;
  url?: string;
  fallbackUrl?: string;
  document?: CallDocument;
  statusCallback?: StatusCallbackTarget;
  /** User parts: `sip:<address>@<tenant SIP domain>` runs this application (unique per tenant, never a SIP user's name). */
  sipAddresses?: string[];
  createdAt: string;
  updatedAt: string;
}

export type ApplicationInput = Pick<Application, 'name' | 'url' | 'fallbackUrl' | 'document' | 'statusCallback' | 'sipAddresses'>;

/** What the SBC needs to run an application on a call. */
export type ResolvedApplication = ApplicationSpec & { statusCallback?: StatusCallbackTarget };

type ApplicationItem = Item & Application;

const fields = (input: ApplicationInput) => ({
  name: input.name,
  ...(input.url !== undefined ? { url: input.url } : {}),
  ...(input.fallbackUrl !== undefined ? { fallbackUrl: input.fallbackUrl } : {}),
  ...(input.document !== undefined ? { document: input.document } : {}),
  ...(input.statusCallback !== undefined ? { statusCallback: input.statusCallback } : {}),
  ...(input.sipAddresses !== undefined && input.sipAddresses.length > 0 ? { sipAddresses: [...new Set(input.sipAddresses)] } : {}),
});

export class ApplicationRepository {
  constructor(private readonly db: Db) {}

  async create(tenantId: string, input: ApplicationInput): Promise<Application> {
    const now = this.db.clock.now();
    const id = newId('app', now);
    const at = new Date(now).toISOString();
    const app: Application = { id, tenantId, ...fields(input), createdAt: at, updatedAt: at };
    const claimed = await this.claimSipAddresses(tenantId, id, app.sipAddresses ?? []);
    try {
      await this.db.put({ pk: appPk(tenantId), sk: id, ...app }, { ifNotExists: true });
    } catch (err) {
      await this.releaseSipAddresses(tenantId, id, claimed);
      throw err;
    }
    return app;
  }

  /** The application a SIP address (user part) of the tenant runs, if any. */
  async bySipAddress(tenantId: string, name: string): Promise<string | undefined> {
    const item = await this.db.get<SipAddressItem>(sipAddressPk(tenantId), name);
    return item?.applicationId;
  }

  /**
   * Claims `names` for the application (conditional puts; a name it already owns is kept), then checks that none is
   * a SIP user's name. Returns the names newly claimed. On failure releases them and throws SIP_ADDRESS_TAKEN /
   * SIP_ADDRESS_IS_SIP_USER (field `body/sipAddresses/<i>`).
   */
  private async claimSipAddresses(tenantId: string, applicationId: string, names: readonly string[]): Promise<string[]> {
    const claimed: string[] = [];
    const fail = async (e: AppError): Promise<never> => {
      await this.releaseSipAddresses(tenantId, applicationId, claimed);
      throw e;
    };
    const at = new Date(this.db.clock.now()).toISOString();
    for (const [i, name] of names.entries()) {
      try {
        await this.db.put({ pk: sipAddressPk(tenantId), sk: name, tenantId, name, applicationId, createdAt: at } satisfies SipAddressItem & { createdAt: string }, { ifNotExists: true });
        claimed.push(name);
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'CONFLICT')) return fail(err as AppError);
        const owner = await this.bySipAddress(tenantId, name);
        if (owner === applicationId) continue;
        return fail(new AppError('SIP_ADDRESS_TAKEN', `SIP address ${name} is used by application ${owner ?? '(another)'}`, { field: `body/sipAddresses/${i}` }));
      }
    }
    // After the claims: a SIP user created concurrently either sees our index item or we see it here.
    for (const [i, name] of names.entries()) {
      if (await this.db.get(sipUserPk(tenantId), name)) {
        return fail(new AppError('SIP_ADDRESS_IS_SIP_USER', `SIP address ${name} is the name of a SIP user`, { field: `body/sipAddresses/${i}` }));
      }
    }
    return claimed;
  }

  /** Deletes the index items of `names` that still point at the application. */
  private async releaseSipAddresses(tenantId: string, applicationId: string, names: readonly string[]): Promise<void> {
    await Promise.all(
      names.map(async (name) => {
        try {
          await this.db.doc.send(
            new DeleteCommand({
              TableName: this.db.tableName,
              Key: { pk: sipAddressPk(tenantId), sk: name },
              ConditionExpression: 'applicationId = :a',
              ExpressionAttributeValues: { ':a': applicationId },
            }),
          );
        } catch (err) {
          if (!isConditionFailed(err)) throw err;
        }
      }),
    );
  }

  async get(tenantId: string, id: string): Promise<Application | undefined> {
    const item = await this.db.get<ApplicationItem>(appPk(tenantId), id);
    return item ? stripKeys<Application>(item) : undefined;
  }

  async list(tenantId: string, limit: number, cursor?: string): Promise<PageResult<Application>> {
    const page = await this.db.page<ApplicationItem>(appPk(tenantId), { limit, ...(cursor ? { cursor } : {}) });
    return { items: page.items.map((i) => stripKeys<Application>(i)), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  }

  /** Replaces the application's fields; undefined when it does not exist. */
  async replace(tenantId: string, id: string, input: ApplicationInput): Promise<Application | undefined> {
    const current = await this.get(tenantId, id);
    if (!current) return undefined;
    const app: Application = { id, tenantId, ...fields(input), createdAt: current.createdAt, updatedAt: new Date(this.db.clock.now()).toISOString() };
    const before = current.sipAddresses ?? [];
    const after = app.sipAddresses ?? [];
    const claimed = await this.claimSipAddresses(tenantId, id, after);
    // One conditional update: a concurrent delete wins (undefined) instead of resurrecting the item.
    const optional = ['url', 'fallbackUrl', 'document', 'statusCallback', 'sipAddresses'] as const;
    const set = ['#name = :name', '#updatedAt = :updatedAt'];
    const remove: string[] = [];
    const names: Record<string, string> = { '#name': 'name', '#updatedAt': 'updatedAt' };
    const values: Record<string, unknown> = { ':name': app.name, ':updatedAt': app.updatedAt };
    for (const f of optional) {
      names[`#${f}`] = f;
      if (app[f] !== undefined) {
        set.push(`#${f} = :${f}`);
        values[`:${f}`] = app[f];
      } else remove.push(`#${f}`);
    }
    try {
      await this.db.update({
        Key: { pk: appPk(tenantId), sk: id },
        ConditionExpression: 'attribute_exists(pk)',
        UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      });
    } catch (err) {
      await this.releaseSipAddresses(tenantId, id, claimed);
      if ((err as AppError).code === 'CONFLICT') return undefined;
      throw err;
    }
    await this.releaseSipAddresses(tenantId, id, before.filter((n) => !after.includes(n)));
    return app;
  }

  /** Deletes the application and its SIP address index items. */
  async delete(tenantId: string, id: string): Promise<void> {
    const current = await this.get(tenantId, id);
    await this.db.delete(appPk(tenantId), id);
    if (current?.sipAddresses?.length) await this.releaseSipAddresses(tenantId, id, current.sipAddresses);
  }
}

/**
 * The SBC's view of applications (`get(tenantId, applicationId)` → the spec to run and the status callback).
 * Construct with the DynamoDB document client and table name (like createSipRepository) or with a Db.
 */
export class DynamoApplicationResolver {
  private readonly repo: ApplicationRepository;

  constructor(db: Db | { doc: DynamoDBDocumentClient; tableName: string; clock?: Clock }) {
    this.repo = new ApplicationRepository(db instanceof Db ? db : new Db(db.doc, db.tableName, db.clock ?? systemClock));
  }

  async get(tenantId: string, applicationId: string): Promise<ResolvedApplication | undefined> {
    const app = await this.repo.get(tenantId, applicationId);
    if (!app) return undefined;
    return {
      ...(app.url ? { url: app.url } : {}),
      ...(app.fallbackUrl ? { fallbackUrl: app.fallbackUrl } : {}),
      ...(app.document ? { document: app.document } : {}),
      ...(app.statusCallback ? { statusCallback: app.statusCallback } : {}),
    };
  }
}
