import { AppError } from '../errors.js';
import { isoTime } from '../clock.js';
import type { HangupReason } from '../protocol/events.js';
import type { Metadata } from '../protocol/common.js';
import { Db, stripKeys, type Item, type PageResult } from './db.js';

const callsPk = (tid: string) => `T#${tid}#CALL`;

export type CallState = 'ringing' | 'active' | 'ended';

/** A 1:1 browser call (and, later, SIP calls: `kind`); doubles as its call record. */
export interface CallRecord {
  id: string;
  tenantId: string;
  kind: 'webrtc' | 'sip' | 'gateway';
  state: CallState;
  from: { identity: string; socketId?: string; displayName?: string };
  to: { identity: string; socketId?: string };
  media: { audio: boolean; video: boolean };
  metadata?: Metadata;
  createdAt: string;
  answeredAt?: string;
  endedAt?: string;
  durationSeconds?: number;
  endReason?: HangupReason;
  endedBy?: string;
  held?: boolean;
}

type CallItem = Item & CallRecord;

export class CallRepository {
  constructor(private readonly db: Db) {}

  async create(call: CallRecord): Promise<void> {
    await this.db.put({ pk: callsPk(call.tenantId), sk: call.id, ...call } as CallItem, { ifNotExists: true });
  }

  async get(tenantId: string, callId: string): Promise<CallRecord | undefined> {
    const item = await this.db.get<CallItem>(callsPk(tenantId), callId);
    return item ? (stripKeys(item) as CallRecord) : undefined;
  }

  async list(tenantId: string, limit: number, cursor?: string): Promise<PageResult<CallRecord>> {
    const page = await this.db.page<CallItem>(callsPk(tenantId), { limit, descending: true, ...(cursor ? { cursor } : {}) });
    return { ...page, items: page.items.map((i) => stripKeys(i) as CallRecord) };
  }

  /** ringing → active, once: the first callee socket to accept wins (conditional write). */
  async accept(tenantId: string, callId: string, calleeSocketId: string): Promise<CallRecord> {
    try {
      const item = await this.db.update<CallItem>({
        Key: { pk: callsPk(tenantId), sk: callId },
        UpdateExpression: 'SET #st = :active, answeredAt = :t, #to.socketId = :sid',
        ConditionExpression: 'attribute_exists(pk) AND #st = :ringing',
        ExpressionAttributeNames: { '#st': 'state', '#to': 'to' },
        ExpressionAttributeValues: { ':active': 'active', ':ringing': 'ringing', ':t': isoTime(this.db.clock.now()), ':sid': calleeSocketId },
      });
      return stripKeys(item!) as CallRecord;
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONFLICT') throw new AppError('CALL_STATE_CONFLICT', `call ${callId} is not ringing`);
      throw err;
    }
  }

  /** Any state but ended → ended, once. Returns undefined when it had already ended. */
  async end(tenantId: string, callId: string, reason: HangupReason, by: string, opts: { onlyIf?: CallState } = {}): Promise<CallRecord | undefined> {
    const now = this.db.clock.now();
    const current = await this.get(tenantId, callId);
    if (!current || current.state === 'ended') return undefined;
    if (opts.onlyIf && current.state !== opts.onlyIf) return undefined;
    const duration = current.answeredAt ? Math.round((now - Date.parse(current.answeredAt)) / 100) / 10 : 0;
    try {
      const item = await this.db.update<CallItem>({
        Key: { pk: callsPk(tenantId), sk: callId },
        UpdateExpression: 'SET #st = :ended, endedAt = :t, endReason = :r, endedBy = :by, durationSeconds = :d',
        ConditionExpression: opts.onlyIf ? 'attribute_exists(pk) AND #st = :only' : 'attribute_exists(pk) AND #st <> :ended',
        ExpressionAttributeNames: { '#st': 'state' },
        ExpressionAttributeValues: { ':ended': 'ended', ':t': isoTime(now), ':r': reason, ':by': by, ':d': duration, ...(opts.onlyIf ? { ':only': opts.onlyIf } : {}) },
      });
      return stripKeys(item!) as CallRecord;
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONFLICT') return undefined;
      throw err;
    }
  }

  /** After a reconnect: the party's new socket (only while the call is not ended). */
  async rebind(tenantId: string, callId: string, side: 'from' | 'to', socketId: string): Promise<CallRecord> {
    try {
      const item = await this.db.update<CallItem>({
        Key: { pk: callsPk(tenantId), sk: callId },
        UpdateExpression: 'SET #side.socketId = :sid',
        ConditionExpression: 'attribute_exists(pk) AND #st <> :ended',
        ExpressionAttributeNames: { '#st': 'state', '#side': side },
        ExpressionAttributeValues: { ':sid': socketId, ':ended': 'ended' },
      });
      return stripKeys(item!) as CallRecord;
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONFLICT') throw new AppError('CALL_NOT_FOUND', `call ${callId} has ended`);
      throw err;
    }
  }

  async setHold(tenantId: string, callId: string, hold: boolean): Promise<void> {
    await this.db.update({
      Key: { pk: callsPk(tenantId), sk: callId },
      UpdateExpression: 'SET held = :h',
      ConditionExpression: 'attribute_exists(pk) AND #st = :active',
      ExpressionAttributeNames: { '#st': 'state' },
      ExpressionAttributeValues: { ':h': hold, ':active': 'active' },
    }).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'CONFLICT') throw new AppError('CALL_STATE_CONFLICT', `call ${callId} is not active`);
      throw err;
    });
  }
}
