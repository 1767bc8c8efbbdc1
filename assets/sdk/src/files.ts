/**
 * File transfer: control (offer/accept/decline/cancel) through signalling, bytes over a dedicated DataChannel
 * (`file:<transferId>`) of the peer connection, with progress, backpressure, cancel and a sha-256 check on arrival.
 */
import { Emitter } from './emitter.js';
import { CpaasError } from './errors.js';
import { Sha256, sha256OfBlob } from './sha256.js';
import type { FileOfferRequest } from './protocol.js';
import type { Peer } from './peer.js';

export const CHUNK_SIZE = 16 * 1024;
/** Pause sending above this many buffered bytes; resume at the low-water mark. */
export const HIGH_WATER = 1024 * 1024;
export const LOW_WATER = 256 * 1024;

export type TransferState = 'offered' | 'transferring' | 'done' | 'declined' | 'cancelled' | 'failed';

type TransferEvents = {
  progress: (bytes: number, total: number) => void;
  state: (state: TransferState) => void;
  /** Receiver: the verified file. Sender: the far end confirmed an intact copy. */
  done: (file: Blob | null) => void;
  error: (err: CpaasError) => void;
};

/** Splits [0, size) into chunk ranges. */
export function chunkRanges(size: number, chunk = CHUNK_SIZE): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let off = 0; off < size; off += chunk) out.push([off, Math.min(size, off + chunk)]);
  return out;
}

/** What a transfer needs from its room or call. */
export interface TransferScope {
  /** Adds roomId/to or callId to a control payload. */
  address: (peerKey: string) => { to?: string; roomId?: string; callId?: string };
  request: (event: 'file:offer' | 'file:accept' | 'file:decline' | 'file:cancel', payload: Record<string, unknown>) => Promise<unknown>;
  peer: (peerKey: string) => Peer | undefined;
}

let counter = 0;
const newId = () => `f${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 8)}`;

export class FileTransfer extends Emitter<TransferEvents> {
  readonly id: string;
  readonly direction: 'send' | 'receive';
  readonly name: string;
  readonly size: number;
  readonly mime: string;
  readonly sha256: string;
  /** Room participant id or call id of the other end; for received files also the sender's identity. */
  readonly peerKey: string;
  readonly fromIdentity?: string;
  state: TransferState = 'offered';
  bytes = 0;
  private readonly scope: TransferScope;
  private readonly blob: Blob | null;
  private channel: RTCDataChannel | null = null;
  private readonly finished: Promise<Blob | null>;
  private settle!: { resolve: (b: Blob | null) => void; reject: (e: CpaasError) => void };

  constructor(init: { id: string; direction: 'send' | 'receive'; name: string; size: number; mime: string; sha256: string; peerKey: string; fromIdentity?: string; blob?: Blob; scope: TransferScope }) {
    super();
    this.id = init.id;
    this.direction = init.direction;
    this.name = init.name;
    this.size = init.size;
    this.mime = init.mime;
    this.sha256 = init.sha256;
    this.peerKey = init.peerKey;
    this.scope = init.scope;
    this.blob = init.blob ?? null;
    this.finished = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.finished.catch(() => undefined);
  }

  /** Resolves with the file (receiver) or null (sender) when verified; rejects on decline, cancel or failure. */
  done(): Promise<Blob | null> {
    return this.finished;
  }

  private setState(s: TransferState): void {
    this.state = s;
    this.emit('state', s);
  }

  /** @internal */
  _fail(err: CpaasError, state: TransferState = 'failed'): void {
    if (this.state === 'done' || this.state === 'failed' || this.state === 'cancelled' || this.state === 'declined') return;
    this.setState(state);
    try {
      this.channel?.close();
    } catch {
      /* already closed */
    }
    this.emit('error', err);
    this.settle.reject(err);
  }

  private succeed(file: Blob | null): void {
    this.setState('done');
    this.emit('done', file);
    this.settle.resolve(file);
  }

  /** Cancels the transfer on both ends. */
  async cancel(reason = 'cancelled'): Promise<void> {
    if (this.state === 'done' || this.state === 'failed' || this.state === 'cancelled') return;
    this._fail(new CpaasError('FILE_CANCELLED', `transfer ${this.id} cancelled: ${reason}`), 'cancelled');
    await this.scope.request('file:cancel', { transferId: this.id, ...this.scope.address(this.peerKey), reason }).catch(() => undefined);
  }

  // ---- receiver ----------------------------------------------------------------------------------

  /** Accepts an offered file; bytes start flowing. */
  async accept(): Promise<Blob> {
    if (this.direction !== 'receive' || this.state !== 'offered') throw new CpaasError('INVALID_STATE', `transfer ${this.id} cannot be accepted in state ${this.state}`);
    this.setState('transferring');
    await this.scope.request('file:accept', { transferId: this.id, ...this.scope.address(this.peerKey) });
    return (await this.finished) as Blob;
  }

  async decline(reason = 'declined'): Promise<void> {
    if (this.state !== 'offered') return;
    this._fail(new CpaasError('FILE_DECLINED', `transfer ${this.id} declined`), 'declined');
    await this.scope.request('file:decline', { transferId: this.id, ...this.scope.address(this.peerKey), reason }).catch(() => undefined);
  }

  /** @internal the sender opened our channel. */
  _receiveOn(ch: RTCDataChannel): void {
    this.channel = ch;
    ch.binaryType = 'arraybuffer';
    const hash = new Sha256();
    const parts: ArrayBuffer[] = [];
    const finish = () => {
      const digest = hash.hex();
      const ok = digest === this.sha256;
      ch.send(JSON.stringify({ ok, sha256: digest }));
      if (ok) this.succeed(new Blob(parts, { type: this.mime }));
      else this._fail(new CpaasError('FILE_INTEGRITY', `file ${this.name}: sha-256 mismatch (expected ${this.sha256}, got ${digest})`, { details: { expected: this.sha256, actual: digest } }));
    };
    ch.onmessage = (e) => {
      if (this.state !== 'transferring' || !(e.data instanceof ArrayBuffer)) return;
      parts.push(e.data);
      hash.update(e.data);
      this.bytes += e.data.byteLength;
      this.emit('progress', this.bytes, this.size);
      if (this.bytes >= this.size) finish();
    };
    ch.onclose = () => {
      if (this.state === 'transferring') this._fail(new CpaasError('FILE_CANCELLED', `transfer ${this.id}: channel closed early`));
    };
    if (this.size === 0) ch.addEventListener('open', finish, { once: true });
  }

  // ---- sender ------------------------------------------------------------------------------------

  /** @internal the far end accepted: open the channel and stream the bytes. */
  async _send(): Promise<void> {
    const peer = this.scope.peer(this.peerKey);
    if (!peer || !this.blob) return this._fail(new CpaasError('INVALID_STATE', `no peer connection to ${this.peerKey}`));
    this.setState('transferring');
    const ch = (this.channel = peer.pc.createDataChannel(`file:${this.id}`, { ordered: true }));
    ch.binaryType = 'arraybuffer';
    ch.bufferedAmountLowThreshold = LOW_WATER;
    ch.onmessage = (e) => {
      if (typeof e.data !== 'string') return;
      const res = JSON.parse(e.data) as { ok: boolean; sha256: string };
      if (res.ok) this.succeed(null);
      else this._fail(new CpaasError('FILE_INTEGRITY', `file ${this.name}: the receiver computed ${res.sha256}`, { details: { expected: this.sha256, actual: res.sha256 } }));
      ch.close();
    };
    ch.onclose = () => {
      if (this.state === 'transferring') this._fail(new CpaasError('FILE_CANCELLED', `transfer ${this.id}: channel closed early`));
    };
    await new Promise<void>((resolve, reject) => {
      ch.onopen = () => resolve();
      ch.onerror = () => reject(new CpaasError('INTERNAL', 'file channel failed'));
    }).catch((err: CpaasError) => this._fail(err));
    const SLICE = 1 << 20;
    for (let off = 0; off < this.size && this.state === 'transferring'; off += SLICE) {
      const buf = await this.blob.slice(off, off + SLICE).arrayBuffer();
      for (const [a, b] of chunkRanges(buf.byteLength)) {
        if (this.state !== 'transferring') return;
        if (ch.bufferedAmount > HIGH_WATER) await new Promise<void>((r) => ch.addEventListener('bufferedamountlow', () => r(), { once: true }));
        if (ch.readyState !== 'open') return;
        ch.send(buf.slice(a, b));
        this.bytes += b - a;
        this.emit('progress', this.bytes, this.size);
      }
    }
  }

  /** @internal */
  static async offer(scope: TransferScope, peerKey: string, file: Blob, name?: string): Promise<FileTransfer> {
    const sha256 = await sha256OfBlob(file);
    const fname = name ?? (file as File).name ?? 'file';
    const t = new FileTransfer({ id: newId(), direction: 'send', name: fname || 'file', size: file.size, mime: file.type || 'application/octet-stream', sha256, peerKey, blob: file, scope });
    const req: Omit<FileOfferRequest, 'to' | 'roomId' | 'callId'> = { transferId: t.id, name: t.name, size: t.size, mime: t.mime, sha256 };
    await scope.request('file:offer', { ...req, ...scope.address(peerKey) });
    return t;
  }
}

/** Keeps the transfers of one room or call and routes control events and channels to them. */
export class FileManager {
  readonly transfers = new Map<string, FileTransfer>();
  private readonly pendingChannels = new Map<string, RTCDataChannel>();
  constructor(private readonly scope: TransferScope) {}

  async send(peerKey: string, file: Blob, name?: string): Promise<FileTransfer> {
    const t = await FileTransfer.offer(this.scope, peerKey, file, name);
    this.transfers.set(t.id, t);
    return t;
  }

  onOffer(e: FileOfferRequest & { fromIdentity: string }, peerKey: string): FileTransfer {
    const t = new FileTransfer({ id: e.transferId, direction: 'receive', name: e.name, size: e.size, mime: e.mime, sha256: e.sha256, peerKey, fromIdentity: e.fromIdentity, scope: this.scope });
    this.transfers.set(t.id, t);
    const ch = this.pendingChannels.get(t.id);
    if (ch) {
      this.pendingChannels.delete(t.id);
      t._receiveOn(ch);
    }
    return t;
  }

  onReply(kind: 'accepted' | 'declined' | 'cancelled', transferId: string, reason?: string): void {
    const t = this.transfers.get(transferId);
    if (!t) return;
    if (kind === 'accepted' && t.direction === 'send') void t._send();
    else if (kind === 'declined') t._fail(new CpaasError('FILE_DECLINED', `transfer ${transferId} declined${reason ? `: ${reason}` : ''}`), 'declined');
    else if (kind === 'cancelled') t._fail(new CpaasError('FILE_CANCELLED', `transfer ${transferId} cancelled by the other side${reason ? `: ${reason}` : ''}`), 'cancelled');
  }

  /** A DataChannel opened by a peer: file channels go to their transfer. */
  onChannel(ch: RTCDataChannel): void {
    if (!ch.label.startsWith('file:')) return;
    const id = ch.label.slice(5);
    const t = this.transfers.get(id);
    if (t && t.direction === 'receive') t._receiveOn(ch);
    else this.pendingChannels.set(id, ch);
  }

  failAll(peerKey?: string): void {
    for (const t of this.transfers.values()) if (!peerKey || t.peerKey === peerKey) t._fail(new CpaasError('FILE_CANCELLED', 'peer left'), 'cancelled');
  }
}
