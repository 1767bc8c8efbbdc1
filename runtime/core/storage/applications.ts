/**
 * Voice applications (docs/api.md § Programmable voice): what runs on a call, either a webhook URL that returns
 * call-control documents or an inline document, plus where status callbacks go. Items:
 *
 * | item        | pk          | sk      |
 * |-------------|-------------|---------|
 * | application | T#<tid>#APP | <appId> |
 *
 * Ids are time-sortable (`app_…`): a listing comes back in creation order. A number maps to an application with
 * the destination `{ type: 'application', applicationId }` (runtime/core/storage/sip-types.ts); the SBC resolves
 * it with `DynamoApplicationResolver`.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { newId } from '../ids.js';
import type { AppError } from '../errors.js';
import { systemClock, type Clock } from '../clock.js';
import type { ApplicationSpec, CallDocument } from '../protocol/voice.js';
import { Db, stripKeys, type Item, type PageResult } from './db.js';

const appPk = (tid: string) => `T#${tid}#APP`;

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
  createdAt: string;
  updatedAt: string;
}

export type ApplicationInput = Pick<Application, 'name' | 'url' | 'fallbackUrl' | 'document' | 'statusCallback'>;

/** What the SBC needs to run an application on a call. */
export type ResolvedApplication = ApplicationSpec & { statusCallback?: StatusCallbackTarget };

type ApplicationItem = Item & Application;

const fields = (input: ApplicationInput) => ({
  name: input.name,
  ...(input.url !== undefined ? { url: input.url } : {}),
  ...(input.fallbackUrl !== undefined ? { fallbackUrl: input.fallbackUrl } : {}),
  ...(input.document !== undefined ? { document: input.document } : {}),
  ...(input.statusCallback !== undefined ? { statusCallback: input.statusCallback } : {}),
});

export class ApplicationRepository {
  constructor(private readonly db: Db) {}

  async create(tenantId: string, input: ApplicationInput): Promise<Application> {
    const now = this.db.clock.now();
    const id = newId('app', now);
    const at = new Date(now).toISOString();
    const app: Application = { id, tenantId, ...fields(input), createdAt: at, updatedAt: at };
    await this.db.put({ pk: appPk(tenantId), sk: id, ...app }, { ifNotExists: true });
    return app;
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
    // One conditional update: a concurrent delete wins (undefined) instead of resurrecting the item.
    const optional = ['url', 'fallbackUrl', 'document', 'statusCallback'] as const;
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
      if ((err as AppError).code === 'CONFLICT') return undefined;
      throw err;
    }
    return app;
  }

  async delete(tenantId: string, id: string): Promise<void> {
    await this.db.delete(appPk(tenantId), id);
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
