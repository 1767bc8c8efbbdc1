import { AppError } from '../errors.js';
import { isoTime } from '../clock.js';
import { newId } from '../ids.js';
import type { ChatMessage, CreateRoomRequest, Invite, Participant, Room, RoomSession } from '../protocol/http.js';
import { Db, stripKeys, type Item, type PageResult } from './db.js';

const roomsPk = (tid: string) => `T#${tid}#ROOM`;
const partPk = (tid: string, rid: string) => `T#${tid}#ROOM#${rid}#PART`;
const msgPk = (tid: string, rid: string) => `T#${tid}#ROOM#${rid}#MSG`;
const sesPk = (tid: string, rid: string) => `T#${tid}#ROOM#${rid}#SES`;
const invPk = (tid: string, rid: string) => `T#${tid}#ROOM#${rid}#INV`;
const seqKey = (seq: number) => String(seq).padStart(12, '0');

type RoomItem = Item & Room & { msgSeq?: number; joinUntil?: number };
type PartItem = Item & Participant & { socketId: string; instanceId?: string };
type MsgItem = Item & ChatMessage;
type SesItem = Item & RoomSession;
/** `expiresAt` is the table's TTL attribute (epoch seconds), so the invite's link expiry is stored as `linkExpiresAt`. */
type InvItem = Item & Omit<Invite, 'expiresAt'> & { linkExpiresAt: string };

/** Participants not refreshed within this time are considered gone (a crashed instance's sockets). */
export const PARTICIPANT_TTL_SECONDS = 600;

export class RoomRepository {
  constructor(
    private readonly db: Db,
    private readonly defaults: { maxParticipants: number },
  ) {}

  // ---- rooms -------------------------------------------------------------------------------------

  async create(tenantId: string, req: CreateRoomRequest): Promise<Room> {
    const now = this.db.clock.now();
    const id = newId('rm', now);
    const room: RoomItem = {
      pk: roomsPk(tenantId),
      sk: id,
      id,
      tenantId,
      name: req.name,
      type: req.type ?? 'group',
      maxParticipants: req.type === 'p2p' ? 2 : Math.min(req.maxParticipants ?? this.defaults.maxParticipants, 500),
      status: 'open',
      createdAt: isoTime(now),
      ...(req.expiresInSeconds ? { joinUntil: now + req.expiresInSeconds * 1000 } : {}),
      ...(req.metadata ? { metadata: req.metadata } : {}),
      msgSeq: 0,
    };
    await this.db.put(room, { ifNotExists: true });
    return toRoom(room);
  }

  async get(tenantId: string, roomId: string): Promise<Room | undefined> {
    const item = await this.db.get<RoomItem>(roomsPk(tenantId), roomId);
    return item ? toRoom(item) : undefined;
  }

  async require(tenantId: string, roomId: string): Promise<Room> {
    const room = await this.get(tenantId, roomId);
    if (!room) throw AppError.roomNotFound(roomId);
    return room;
  }

  /** A room that can be joined now: exists, open, not past its expiry. */
  async requireJoinable(tenantId: string, roomId: string): Promise<Room> {
    const room = await this.require(tenantId, roomId);
    if (room.status === 'closed') throw new AppError('ROOM_CLOSED', `room ${roomId} is closed`);
    if (room.expiresAt && Date.parse(room.expiresAt) <= this.db.clock.now()) throw new AppError('ROOM_CLOSED', `room ${roomId} has expired`);
    return room;
  }

  async list(tenantId: string, limit: number, cursor?: string, status?: 'open' | 'closed'): Promise<PageResult<Room>> {
    const page = await this.db.page<RoomItem>(roomsPk(tenantId), { limit, descending: true, ...(cursor ? { cursor } : {}) });
    const items = page.items.map(toRoom).filter((r) => !status || r.status === status);
    return { ...page, items };
  }

  async close(tenantId: string, roomId: string): Promise<Room> {
    try {
      const item = await this.db.update<RoomItem>({
        Key: { pk: roomsPk(tenantId), sk: roomId },
        UpdateExpression: 'SET #s = :closed, closedAt = if_not_exists(closedAt, :t)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':closed': 'closed', ':t': isoTime(this.db.clock.now()) },
      });
      return toRoom(item!);
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONFLICT') throw AppError.roomNotFound(roomId);
      throw err;
    }
  }

  // ---- participants (live) -----------------------------------------------------------------------

  async participants(tenantId: string, roomId: string): Promise<Participant[]> {
    const items = await this.db.all<PartItem>(partPk(tenantId, roomId), 1000);
    return items.map(toParticipant);
  }

  async participant(tenantId: string, roomId: string, participantId: string): Promise<(Participant & { socketId: string }) | undefined> {
    const item = await this.db.get<PartItem>(partPk(tenantId, roomId), participantId);
    return item ? { ...toParticipant(item), socketId: item.socketId } : undefined;
  }

  /** Adds (or, on resume, replaces) a participant; `ROOM_FULL` when the room is at capacity. */
  async addParticipant(tenantId: string, room: Room, p: Participant, socketId: string, resume: boolean): Promise<Participant> {
    if (!resume) {
      const current = await this.participants(tenantId, room.id);
      if (current.length >= room.maxParticipants) throw new AppError('ROOM_FULL', `room ${room.id} is full (${room.maxParticipants} participants)`);
    }
    const item: PartItem = {
      pk: partPk(tenantId, room.id),
      sk: p.id,
      ...p,
      socketId,
      expiresAt: this.db.nowSeconds() + PARTICIPANT_TTL_SECONDS,
    };
    await this.db.put(item);
    if (!resume) {
      const ses: SesItem = { pk: sesPk(tenantId, room.id), sk: p.id, participantId: p.id, identity: p.identity, joinedAt: p.joinedAt };
      await this.db.put(ses);
    }
    return p;
  }

  async updateParticipant(tenantId: string, roomId: string, participantId: string, patch: { state?: Participant['state']; socketId?: string }): Promise<Participant | undefined> {
    const sets: string[] = ['expiresAt = :exp'];
    const values: Record<string, unknown> = { ':exp': this.db.nowSeconds() + PARTICIPANT_TTL_SECONDS };
    if (patch.state) {
      sets.push('#st = :st');
      values[':st'] = patch.state;
    }
    if (patch.socketId) {
      sets.push('socketId = :sid');
      values[':sid'] = patch.socketId;
    }
    try {
      const item = await this.db.update<PartItem>({
        Key: { pk: partPk(tenantId, roomId), sk: participantId },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(pk)',
        ...(patch.state ? { ExpressionAttributeNames: { '#st': 'state' } } : {}),
        ExpressionAttributeValues: values,
      });
      return item ? toParticipant(item) : undefined;
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONFLICT') return undefined;
      throw err;
    }
  }

  /** Removes a live participant and closes its session record (idempotent). */
  async removeParticipant(tenantId: string, roomId: string, participantId: string, reason: string): Promise<void> {
    await this.db.delete(partPk(tenantId, roomId), participantId);
    const now = this.db.clock.now();
    const ses = await this.db.get<SesItem>(sesPk(tenantId, roomId), participantId);
    if (ses && !ses.leftAt) {
      await this.db.update({
        Key: { pk: sesPk(tenantId, roomId), sk: participantId },
        UpdateExpression: 'SET leftAt = :l, durationSeconds = :d, leaveReason = :r',
        ConditionExpression: 'attribute_not_exists(leftAt)',
        ExpressionAttributeValues: { ':l': isoTime(now), ':d': Math.max(0, Math.round((now - Date.parse(ses.joinedAt)) / 100) / 10), ':r': reason },
      }).catch((err: unknown) => {
        if (!(err instanceof AppError && err.code === 'CONFLICT')) throw err;
      });
    }
  }

  async sessions(tenantId: string, roomId: string, limit: number, cursor?: string): Promise<PageResult<RoomSession>> {
    const page = await this.db.page<SesItem>(sesPk(tenantId, roomId), { limit, ...(cursor ? { cursor } : {}) });
    return { ...page, items: page.items.map((i) => stripKeys(i) as RoomSession) };
  }

  // ---- chat --------------------------------------------------------------------------------------

  /** Stores a message with the next per-room sequence number (atomic counter on the room item). */
  async addMessage(tenantId: string, roomId: string, m: Omit<ChatMessage, 'id' | 'seq' | 'createdAt' | 'roomId'>): Promise<ChatMessage> {
    let seq: number;
    try {
      const room = await this.db.update<RoomItem>({
        Key: { pk: roomsPk(tenantId), sk: roomId },
        UpdateExpression: 'ADD msgSeq :one',
        ConditionExpression: 'attribute_exists(pk) AND #s = :open',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':one': 1, ':open': 'open' },
      });
      seq = Number(room!.msgSeq);
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONFLICT') throw new AppError('ROOM_CLOSED', `room ${roomId} is closed or gone`);
      throw err;
    }
    const msg: ChatMessage = { ...m, id: `msg_${seqKey(seq)}`, roomId, seq, createdAt: isoTime(this.db.clock.now()) };
    const item: MsgItem = { pk: msgPk(tenantId, roomId), sk: seqKey(seq), ...msg };
    await this.db.put(item);
    return msg;
  }

  /** Newest-first page, returned oldest-first; `beforeSeq` pages backwards. */
  async messages(tenantId: string, roomId: string, limit: number, beforeSeq?: number): Promise<ChatMessage[]> {
    const page = await this.db.page<MsgItem>(msgPk(tenantId, roomId), { limit, descending: true, ...(beforeSeq ? { skLessThan: seqKey(beforeSeq) } : {}) });
    return page.items.map((i) => stripKeys(i) as ChatMessage).reverse();
  }

  /** REST paging (oldest first) with an opaque cursor. */
  async messagePage(tenantId: string, roomId: string, limit: number, cursor?: string): Promise<PageResult<ChatMessage>> {
    const page = await this.db.page<MsgItem>(msgPk(tenantId, roomId), { limit, ...(cursor ? { cursor } : {}) });
    return { ...page, items: page.items.map((i) => stripKeys(i) as ChatMessage) };
  }

  // ---- invites -----------------------------------------------------------------------------------

  async addInvite(tenantId: string, invite: Invite): Promise<void> {
    const { expiresAt, ...rest } = invite;
    const item: InvItem = { pk: invPk(tenantId, invite.roomId), sk: invite.id, ...rest, linkExpiresAt: expiresAt };
    await this.db.put(item);
  }

  async invites(tenantId: string, roomId: string, limit: number, cursor?: string): Promise<PageResult<Invite>> {
    const page = await this.db.page<InvItem>(invPk(tenantId, roomId), { limit, ...(cursor ? { cursor } : {}) });
    return { ...page, items: page.items.map(toInvite) };
  }
}

function toInvite(item: InvItem): Invite {
  const { linkExpiresAt, ...rest } = stripKeys<InvItem>(item);
  return { ...rest, expiresAt: linkExpiresAt } as Invite;
}

function toRoom(item: RoomItem): Room {
  const { msgSeq: _m, joinUntil, ...rest } = stripKeys<RoomItem>(item);
  return { ...(rest as Room), ...(joinUntil ? { expiresAt: isoTime(joinUntil) } : {}) };
}

function toParticipant(item: PartItem): Participant {
  const { socketId: _s, instanceId: _i, ...rest } = stripKeys(item);
  return rest as Participant;
}
