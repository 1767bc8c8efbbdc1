/**
 * RFC 3261 §17 transactions (with the RFC 6026 "Accepted" state for 2xx to INVITE).
 *
 * A transaction owns its retransmission timers; the layer above only sees requests, responses, timeouts
 * and (for INVITE server transactions) an ACK timeout.
 */
import { randomUUID } from 'node:crypto';
import type { Endpoint, Peer } from './transport.js';
import { SipMessage } from './message.js';

export interface Timers {
  t1: number;
  t2: number;
  t4: number;
}

export type SendFn = (peer: Peer, data: Buffer, local?: Endpoint) => Promise<Endpoint>;

/** Key used to match a message to a transaction (RFC 3261 §17.1.3 / §17.2.3). */
export function transactionKey(msg: SipMessage, method: string): string {
  const via = msg.topVia;
  const branch = via?.params.branch;
  if (branch && branch.startsWith('z9hG4bK')) return `${branch}|${via.host}:${via.port ?? ''}|${method}`;
  return `${msg.callId}|${msg.cseq.seq}|${msg.fromTag ?? ''}|${msg.get('via') ?? ''}|${method}`;
}

export function newBranch(): string {
  return `z9hG4bK-${randomUUID()}`;
}

abstract class Transaction {
  readonly id = randomUUID();
  protected readonly timers = new Set<NodeJS.Timeout>();
  terminated = false;

  constructor(
    protected readonly layer: TransactionLayer,
    readonly key: string,
    readonly peer: Peer,
    public local: Endpoint | undefined,
  ) {}

  get reliable(): boolean {
    return this.peer.transport !== 'udp';
  }

  protected after(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.terminated) fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  protected clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  protected transmit(data: Buffer): void {
    this.layer.send(this.peer, data, this.local).then(
      (ep) => { this.local = ep; },
      (err: Error) => this.onTransportError(err),
    );
  }

  protected abstract onTransportError(err: Error): void;

  terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    this.clearTimers();
    this.layer.forget(this as unknown as ServerTransaction | ClientTransaction);
  }
}

export class ServerTransaction extends Transaction {
  state: 'proceeding' | 'completed' | 'confirmed' | 'accepted' = 'proceeding';
  lastResponse?: SipMessage;
  private lastData?: Buffer;
  /** To-tag used on every response of this transaction. */
  toTag = randomUUID().slice(0, 8);
  /** Called when a 2xx to INVITE was never ACKed (64*T1). */
  onAckTimeout?: () => void;
  /** Set when the app will never answer (e.g. CANCELed), so late answers get NOK. */
  done = false;
  /** Extra data the engine keeps with the transaction. */
  appData: Record<string, unknown> = {};
  /** The application sent a response above 100 (a provisional or final one). */
  appAnswered = false;

  constructor(layer: TransactionLayer, key: string, readonly request: SipMessage, peer: Peer, local: Endpoint) {
    super(layer, key, peer, local);
  }

  /**
   * Forget timer: when nothing above 100 Trying has been sent after `ms` (the application dropped the request,
   * e.g. the SBC firewall's silent drop), the transaction is forgotten (`done`: a late answer gets NOK) and
   * `onForget` runs. Without it an unanswered INVITE transaction would live until the engine restarts.
   */
  armForget(ms: number, onForget: () => void): void {
    this.after(ms, () => {
      if (this.finalSent || this.appAnswered) return;
      this.done = true;
      onForget();
      this.terminate();
    });
  }

  get isInvite(): boolean {
    return this.request.method === 'INVITE';
  }

  get finalSent(): boolean {
    return this.state !== 'proceeding';
  }

  respond(res: SipMessage): void {
    if (this.terminated || this.finalSent) return;
    const t = this.layer.timers;
    const status = res.status!;
    if (status > 100) this.appAnswered = true;
    this.lastResponse = res;
    this.lastData = res.toBuffer();
    this.transmit(this.lastData);
    if (status < 200) return;
    if (this.isInvite && status < 300) {
      // RFC 6026: Accepted; the 2xx is retransmitted until the ACK arrives (the ACK is a separate transaction).
      this.state = 'accepted';
      if (!this.reliable) {
        let interval = t.t1;
        const retransmit = (): void => {
          this.transmit(this.lastData!);
          interval = Math.min(interval * 2, t.t2);
          this.after(interval, retransmit);
        };
        this.after(interval, retransmit);
      }
      this.after(64 * t.t1, () => {
        this.onAckTimeout?.();
        this.terminate();
      });
    } else if (this.isInvite) {
      this.state = 'completed';
      if (!this.reliable) {
        let interval = t.t1;
        const retransmit = (): void => {
          this.transmit(this.lastData!);
          interval = Math.min(interval * 2, t.t2);
          this.after(interval, retransmit);
        };
        this.after(interval, retransmit); // Timer G
      }
      this.after(64 * t.t1, () => this.terminate()); // Timer H
    } else {
      this.state = 'completed';
      this.after(this.reliable ? 0 : 64 * t.t1, () => this.terminate()); // Timer J
    }
  }

  /** A retransmission of the request arrived. */
  retransmitted(): void {
    if (this.lastData && this.state !== 'confirmed') this.transmit(this.lastData);
  }

  /** ACK for a non-2xx final response (same transaction) or for the 2xx (dialog layer). */
  acked(): void {
    if (this.state === 'completed') {
      this.state = 'confirmed';
      this.clearTimers();
      this.after(this.reliable ? 0 : this.layer.timers.t4, () => this.terminate()); // Timer I
    } else if (this.state === 'accepted') {
      this.terminate();
    }
  }

  protected onTransportError(err: Error): void {
    this.layer.log.debug({ err, peer: this.peer }, 'could not send response');
    if (this.finalSent) this.terminate();
  }
}

export interface ClientCallbacks {
  onResponse: (res: SipMessage, txn: ClientTransaction) => void;
  /** Timeout or transport failure: the layer above synthesises a 408/503. */
  onFailure: (status: number, reason: string, txn: ClientTransaction) => void;
}

export class ClientTransaction extends Transaction {
  state: 'calling' | 'proceeding' | 'completed' | 'accepted' = 'calling';
  private ackData?: Buffer;
  readonly data: Buffer;
  /** Extra data the engine keeps with the transaction. */
  appData: Record<string, unknown> = {};

  constructor(
    layer: TransactionLayer,
    key: string,
    readonly request: SipMessage,
    peer: Peer,
    local: Endpoint | undefined,
    private readonly cb: ClientCallbacks,
  ) {
    super(layer, key, peer, local);
    this.data = request.toBuffer();
  }

  get isInvite(): boolean {
    return this.request.method === 'INVITE';
  }

  start(): void {
    const t = this.layer.timers;
    this.transmit(this.data);
    if (!this.reliable) {
      let interval = t.t1;
      const retransmit = (): void => {
        if (this.state !== 'calling' && (this.isInvite || this.state !== 'proceeding')) return;
        this.transmit(this.data);
        interval = this.isInvite ? interval * 2 : Math.min(interval * 2, t.t2);
        if (!this.isInvite && this.state === 'proceeding') interval = t.t2;
        this.after(interval, retransmit); // Timer A / E
      };
      this.after(interval, retransmit);
    }
    this.after(64 * t.t1, () => { // Timer B / F
      if (this.state === 'calling' || this.state === 'proceeding') {
        this.cb.onFailure(408, 'Request Timeout', this);
        this.terminate();
      }
    });
  }

  receive(res: SipMessage): void {
    const status = res.status!;
    if (this.state === 'completed') {
      if (this.ackData) this.transmit(this.ackData); // retransmitted final: re-ACK, absorb
      return;
    }
    if (status < 200) {
      if (this.state === 'calling') this.state = 'proceeding';
      this.cb.onResponse(res, this);
      return;
    }
    if (this.state === 'accepted') {
      this.cb.onResponse(res, this); // retransmitted / forked 2xx: the dialog layer re-ACKs
      return;
    }
    this.clearTimers();
    if (this.isInvite && status < 300) {
      this.state = 'accepted';
      this.after(64 * this.layer.timers.t1, () => this.terminate()); // Timer M
    } else {
      this.state = 'completed';
      if (this.isInvite) {
        this.ackData = this.buildAck(res).toBuffer();
        this.transmit(this.ackData);
        this.after(this.reliable ? 0 : 64 * this.layer.timers.t1, () => this.terminate()); // Timer D (>= 32 s)
      } else {
        this.after(this.reliable ? 0 : this.layer.timers.t4, () => this.terminate()); // Timer K
      }
    }
    this.cb.onResponse(res, this);
  }

  /** RFC 3261 §17.1.1.3: ACK for a non-2xx final response. */
  private buildAck(res: SipMessage): SipMessage {
    const req = this.request;
    const ack = SipMessage.request('ACK', req.uri!);
    ack.add('Via', req.get('via')!);
    for (const r of req.getAll('route')) ack.add('Route', r);
    ack.add('Max-Forwards', '70');
    ack.add('From', req.get('from')!);
    ack.add('To', res.get('to') ?? req.get('to')!);
    ack.add('Call-ID', req.callId);
    ack.add('CSeq', `${req.cseq.seq} ACK`);
    return ack;
  }

  protected onTransportError(err: Error): void {
    if (this.terminated || this.state === 'completed' || this.state === 'accepted') return;
    this.layer.log.debug({ err, peer: this.peer }, 'could not send request');
    this.cb.onFailure(503, 'Service Unavailable', this);
    this.terminate();
  }
}

export class TransactionLayer {
  readonly servers = new Map<string, ServerTransaction>();
  readonly clients = new Map<string, ClientTransaction>();
  readonly serversById = new Map<string, ServerTransaction>();
  readonly clientsById = new Map<string, ClientTransaction>();

  constructor(
    readonly timers: Timers,
    readonly send: SendFn,
    readonly log: { debug: (obj: object, msg: string) => void },
  ) {}

  createServer(req: SipMessage, peer: Peer, local: Endpoint): ServerTransaction {
    const key = transactionKey(req, req.method!);
    const txn = new ServerTransaction(this, key, req, peer, local);
    this.servers.set(key, txn);
    this.serversById.set(txn.id, txn);
    return txn;
  }

  createClient(req: SipMessage, peer: Peer, local: Endpoint | undefined, cb: ClientCallbacks): ClientTransaction {
    const key = transactionKey(req, req.method!);
    const txn = new ClientTransaction(this, key, req, peer, local, cb);
    this.clients.set(key, txn);
    this.clientsById.set(txn.id, txn);
    return txn;
  }

  matchServer(req: SipMessage): ServerTransaction | undefined {
    const method = req.method === 'ACK' ? 'INVITE' : req.method!;
    return this.servers.get(transactionKey(req, method));
  }

  matchClient(res: SipMessage): ClientTransaction | undefined {
    const via = res.topVia;
    const branch = via?.params.branch;
    if (!branch) return undefined;
    return this.clients.get(`${branch}|${via.host}:${via.port ?? ''}|${res.cseq.method}`);
  }

  forget(txn: ServerTransaction | ClientTransaction): void {
    if (txn instanceof ServerTransaction) {
      if (this.servers.get(txn.key) === txn) this.servers.delete(txn.key);
      this.serversById.delete(txn.id);
    } else {
      if (this.clients.get(txn.key) === txn) this.clients.delete(txn.key);
      this.clientsById.delete(txn.id);
    }
  }

  closeAll(): void {
    for (const t of [...this.servers.values(), ...this.clients.values()]) t.terminate();
  }
}
