/**
 * The engine: glues transports, transactions and dialogs to the drachtio application protocol.
 *
 * The application (drachtio-srf) sees exactly what drachtio-server would send: network requests with a
 * transaction id (INVITEs already answered with 100 Trying), in-dialog requests with the dialog id,
 * responses to its own requests, CANCELs (already answered), `unsolicited` BYEs after an ACK timeout
 * and, when enabled, `cdr:*` events.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import type { Logger } from 'pino';
import { AdminServer, AppClient, MAX_FRAME, type AppMessage } from './admin.js';
import { Dialog } from './dialog.js';
import {
  DEFAULT_LIMITS, SipMessage, SipParseError, bareHost, parseMessage, parseNameAddr, parseUri, parseVia, stringifyNameAddr,
  stringifyUri, stringifyVia, uriHost, withTag, type ParseLimits, type SipUri,
} from './message.js';
import {
  ClientTransaction, ServerTransaction, TransactionLayer, newBranch, type Timers,
} from './transaction.js';
import {
  DEFAULT_PORTS, Transports, type Endpoint, type Inbound, type ListenSpec, type Peer, type Protocol, type TlsCredentials,
} from './transport.js';

export const ENGINE_VERSION = 'v0.9.10-cpaas-engine';

export interface EngineOptions {
  sip: ListenSpec[];
  admin: { host: string; port: number; secret: string };
  log: Logger;
  /** Send `cdr:*` events to applications that routed them. */
  cdrs?: boolean;
  /** Address written into Via/Contact instead of the bound address (1:1 NAT). */
  publicAddress?: string;
  /** RFC 3261 timers in ms (defaults T1 500, T2 4000, T4 5000). */
  timers?: Partial<Timers>;
  /** Largest SIP message accepted or framed, in bytes (default 65,535). */
  maxMessageSize?: number;
  /** Idle TCP/TLS/WS connections are closed after this many ms (default 300,000). */
  tcpIdleMs?: number;
  /** PEM key/cert for `tls`/`wss` listeners (unless a ListenSpec has its own) and for dialled TLS connections. */
  tls?: TlsCredentials;
  /** Validation limits for network messages (defaults in DEFAULT_LIMITS). */
  limits?: Partial<ParseLimits>;
  /**
   * Forget timer of server transactions the application never answers (dropped requests): INVITEs with no
   * response above 100 after this many ms (default 120,000), other requests after 64·T1 (the client's Timer F).
   * Counted in `dropped['unanswered']`.
   */
  unansweredInviteMs?: number;
}

export interface EngineStats {
  dialogs: number;
  serverTransactions: number;
  clientTransactions: number;
  applications: number;
  tcpConnections: number;
  received: number;
  /** Network messages that failed validation (answered with 4xx/5xx or dropped). */
  malformed: number;
  /** Malformed requests answered 400 (or 505/416). */
  rejected: number;
  /** Messages discarded without an answer, by reason. */
  dropped: Record<string, number>;
  /** Exceptions caught while handling a network message (should stay 0). */
  internalErrors: number;
}

const CORE_HEADERS = new Set(['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Content-Length', 'Record-Route']);
const DIALOG_REQUEST_SKIP = new Set(['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Content-Length', 'Route', 'Record-Route']);
const CONTACT_METHODS = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'UPDATE', 'NOTIFY']);

const now = (): string => new Date().toISOString();

const REASONS: Record<number, string> = { 400: 'Bad Request', 416: 'Unsupported URI Scheme', 505: 'Version Not Supported' };

const PROTOCOLS = new Set<Protocol>(['udp', 'tcp', 'tls', 'ws', 'wss']);

/** The transport to reach a URI: `;transport=`, else TLS for `sips:`, else UDP (RFC 3263 without DNS). */
export function transportOf(uri: SipUri): Protocol {
  const t = uri.params.transport?.toLowerCase() as Protocol | undefined;
  if (t && PROTOCOLS.has(t)) return t === 'tcp' && uri.scheme === 'sips' ? 'tls' : t;
  return uri.scheme === 'sips' ? 'tls' : 'udp';
}

export class Engine {
  readonly transports: Transports;
  readonly txns: TransactionLayer;
  readonly admin: AdminServer;
  private readonly dialogs = new Map<string, Dialog>();
  private readonly dialogsById = new Map<string, Dialog>();
  private readonly log: Logger;
  private readonly timers: Timers;
  private rr = 0;
  private counters = { received: 0, malformed: 0, rejected: 0, internalErrors: 0 };
  private readonly dropped: Record<string, number> = {};
  private readonly limits: ParseLimits;
  private closed = false;

  constructor(private readonly opts: EngineOptions) {
    this.log = opts.log;
    this.timers = { t1: 500, t2: 4000, t4: 5000, ...opts.timers };
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.transports = new Transports({
      log: this.log,
      maxMessageSize: opts.maxMessageSize ?? 65_535,
      tcpIdleMs: opts.tcpIdleMs ?? 300_000,
      tls: opts.tls,
      onMessage: (m) => this.onNetwork(m),
      onDrop: (reason) => this.drop(reason),
    });
    this.txns = new TransactionLayer(this.timers, (peer, data, local) => this.transports.send(peer, data, local), this.log);
    this.admin = new AdminServer({
      host: opts.admin.host,
      port: opts.admin.port,
      log: this.log,
      onMessage: (client, msg) => this.onApp(client, msg),
      onClose: (client) => this.onAppClosed(client),
    });
  }

  async start(): Promise<number> {
    await this.transports.listen(this.opts.sip);
    return this.admin.listen();
  }

  stats(): EngineStats {
    return {
      dialogs: this.dialogsById.size,
      serverTransactions: this.txns.servers.size,
      clientTransactions: this.txns.clients.size,
      applications: this.admin.clients.size,
      tcpConnections: this.transports.connectionCount,
      ...this.counters,
      dropped: { ...this.dropped },
    };
  }

  private drop(reason: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.txns.closeAll();
    this.dialogs.clear();
    this.dialogsById.clear();
    await this.admin.close();
    await this.transports.close();
  }

  // ---------------------------------------------------------------- network side

  private onNetwork(inbound: Inbound): void {
    if (this.closed) return;
    this.counters.received++;
    try {
      this.handleNetwork(inbound);
    } catch (err) {
      // a bug, not bad input: count it (the fuzz test asserts 0) and keep going
      this.counters.internalErrors++;
      this.log.error({ err, peer: inbound.peer }, 'error handling sip message');
    }
  }

  private handleNetwork({ data, peer, local }: Inbound): void {
    if (data.length <= 4 && data.toString('latin1').trim() === '') return; // keep-alive
    let msg: SipMessage;
    try {
      msg = parseMessage(data, { limits: this.limits });
    } catch (err) {
      this.counters.malformed++;
      const e = err instanceof SipParseError ? err : new SipParseError(String(err));
      this.log.debug({ err, peer }, 'malformed sip message');
      const partial = e.partial;
      if (!partial?.isRequest) return this.drop(partial ? 'malformed-response' : 'unparseable');
      if (partial.method === 'ACK') return this.drop('malformed-ack');
      if (!this.replyBadRequest(partial, peer, local, e.message, e.status)) this.drop('no-usable-via');
      return;
    }
    if (this.log.isLevelEnabled('debug')) this.log.debug({ peer, sip: msg.toString() }, 'sip recv');
    if (msg.isRequest) {
      this.markVia(msg, peer);
      this.onRequest(msg, peer, local, data.length);
    } else {
      this.onResponse(msg, peer, local, data.length);
    }
  }

  /** RFC 3261 §18.2.1 `received` and RFC 3581 `rport`. */
  private markVia(msg: SipMessage, peer: Peer): void {
    const first = msg.headers.findIndex(([k]) => k === 'Via');
    const via = parseVia(msg.headers[first]![1]);
    if (bareHost(via.host) !== peer.address) via.params.received = peer.address;
    if ('rport' in via.params) via.params.rport = String(peer.port);
    msg.headers[first]![1] = stringifyVia(via);
  }

  /** Where responses to a request go (RFC 3261 §18.2.2, RFC 3581). */
  private responsePeer(req: SipMessage, peer: Peer): Peer {
    if (peer.transport !== 'udp') return peer; // connection-oriented: back over the same connection
    const via = req.topVia!;
    return {
      transport: 'udp',
      address: via.params.received ?? bareHost(via.host),
      port: via.params.rport ? Number(via.params.rport) : via.port ?? 5060,
    };
  }

  /** Answers a malformed request statelessly; false when there is no Via to answer to. */
  private replyBadRequest(partial: SipMessage, peer: Peer, local: Endpoint, why: string, status = 400): boolean {
    if (!partial.has('via')) return false;
    let to: Peer;
    try {
      this.markVia(partial, peer);
      to = this.responsePeer(partial, peer);
    } catch {
      return false; // the Via itself is unreadable: nowhere safe to answer
    }
    const reason = REASONS[status] ?? 'Bad Request';
    const res = SipMessage.response(REASONS[status] ? status : 400, reason);
    // only what can be echoed safely: readable values, bounded
    for (const h of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) for (const v of partial.getAll(h).slice(0, 20)) res.add(h, v.slice(0, 1024));
    res.add('Warning', `399 cpaas "${why.replace(/[^ -~]|["\\]/g, '').slice(0, 120)}"`);
    this.counters.rejected++;
    this.transports.send(to, res.toBuffer(), local).catch(() => undefined);
    return true;
  }

  private findDialog(msg: SipMessage): Dialog | undefined {
    const toTag = msg.toTag;
    const fromTag = msg.fromTag;
    if (!toTag || !fromTag) return undefined;
    return this.dialogs.get(Dialog.key(msg.callId, toTag, fromTag));
  }

  private onRequest(req: SipMessage, peer: Peer, local: Endpoint, bytes: number): void {
    const method = req.method!;
    const existing = this.txns.matchServer(req);
    if (method === 'ACK') {
      if (existing && existing.state !== 'accepted') return existing.acked();
      const dialog = this.findDialog(req);
      const waiting = dialog?.awaitingAck.get(req.cseq.seq);
      if (!dialog || !waiting) return; // stray or retransmitted ACK
      waiting.stop();
      dialog.awaitingAck.delete(req.cseq.seq);
      this.forwardToApp(dialog.init.owner, req, peer, local, bytes, randomUUID(), dialog.id);
      return;
    }
    if (existing) return existing.retransmitted();
    if (method === 'CANCEL') return this.onNetworkCancel(req, peer, local, bytes);

    const txn = this.txns.createServer(req, this.responsePeer(req, peer), local);
    if (method === 'INVITE') txn.respond(this.makeResponse(txn, 100, 'Trying'));

    if (req.toTag) {
      const dialog = this.findDialog(req);
      if (!dialog) return txn.respond(this.makeResponse(txn, 481, 'Call/Transaction Does Not Exist'));
      if (req.cseq.seq <= dialog.remoteSeq) return txn.respond(this.makeResponse(txn, 500, 'Server Internal Error'));
      dialog.remoteSeq = req.cseq.seq;
      txn.appData.dialog = dialog;
      txn.appData.client = dialog.init.owner;
      if (method === 'BYE') {
        this.removeDialog(dialog);
        this.cdr('stop', 'network', 'normal-release', req);
      }
      txn.armForget(method === 'INVITE' ? (this.opts.unansweredInviteMs ?? 120_000) : 64 * this.timers.t1, () => this.drop('unanswered'));
      this.forwardToApp(dialog.init.owner, req, peer, local, bytes, txn.id, dialog.id);
      return;
    }

    const maxForwards = req.get('max-forwards');
    if (maxForwards !== undefined && Number(maxForwards) <= 0 && method !== 'OPTIONS') {
      return txn.respond(this.makeResponse(txn, 483, 'Too Many Hops'));
    }
    const client = this.pickClient(method);
    if (!client) {
      if (method === 'OPTIONS') return txn.respond(this.makeResponse(txn, 200, 'OK'));
      return txn.respond(this.makeResponse(txn, 503, 'Service Unavailable'));
    }
    txn.appData.client = client;
    if (method === 'INVITE') this.cdr('attempt', 'network', undefined, req);
    txn.armForget(method === 'INVITE' ? (this.opts.unansweredInviteMs ?? 120_000) : 64 * this.timers.t1, () => this.drop('unanswered'));
    this.forwardToApp(client, req, peer, local, bytes, txn.id, '');
  }

  private onNetworkCancel(req: SipMessage, peer: Peer, local: Endpoint, bytes: number): void {
    const cancelTxn = this.txns.createServer(req, this.responsePeer(req, peer), local);
    const invite = this.txns.servers.get(cancelTxn.key.replace(/\|CANCEL$/, '|INVITE'));
    if (!invite) return cancelTxn.respond(this.makeResponse(cancelTxn, 481, 'Call/Transaction Does Not Exist'));
    cancelTxn.respond(this.makeResponse(cancelTxn, 200, 'OK'));
    if (invite.finalSent) return;
    invite.respond(this.makeResponse(invite, 487, 'Request Terminated'));
    invite.done = true;
    this.cdr('stop', 'network', 'call-canceled', req);
    const client = invite.appData.client as AppClient | undefined;
    if (client) this.forwardToApp(client, req, peer, local, bytes, cancelTxn.id, '');
  }

  private onResponse(res: SipMessage, peer: Peer, local: Endpoint, bytes: number): void {
    const txn = this.txns.matchClient(res);
    if (txn) {
      txn.appData.recv = { peer, local, bytes };
      return txn.receive(res);
    }
    // A 2xx retransmitted after the INVITE transaction ended: re-send our ACK.
    if (res.cseq.method === 'INVITE' && res.status! >= 200 && res.status! < 300) {
      const dialog = this.dialogs.get(Dialog.key(res.callId, res.fromTag ?? '', res.toTag ?? ''));
      if (dialog?.lastAck && dialog.lastAck.seq === res.cseq.seq) {
        this.transports.send(dialog.lastAck.peer, dialog.lastAck.data).catch(() => undefined);
      }
    }
  }

  /** Responses to requests the application sent. */
  private onClientResponse(res: SipMessage, txn: ClientTransaction): void {
    const status = res.status!;
    if (status === 100) return;
    const client = txn.appData.client as AppClient | undefined;
    const req = txn.request;
    let dialog = txn.appData.dialog as Dialog | undefined;
    if (status < 200 && txn.appData.pendingCancel) {
      txn.appData.pendingCancel = false;
      this.sendCancel(txn);
    }
    if (req.method === 'INVITE' && status >= 200 && status < 300) {
      if (txn.appData.got2xx) {
        // retransmitted 2xx (or a second fork): re-ACK what the app ACKed, do not bother the app again
        const d = dialog ?? this.dialogs.get(Dialog.key(res.callId, res.fromTag ?? '', res.toTag ?? ''));
        if (d?.lastAck && d.lastAck.seq === res.cseq.seq) this.transports.send(d.lastAck.peer, d.lastAck.data).catch(() => undefined);
        return;
      }
      txn.appData.got2xx = true;
      if (!dialog) {
        if (!client?.connected) return this.ackAndBye(txn, res);
        dialog = this.createUacDialog(txn, res, client);
        this.cdr('start', 'network', 'uac', res);
      } else {
        this.updateTarget(dialog, res);
      }
    } else if (req.method === 'INVITE' && status >= 300 && !dialog) {
      this.cdr('stop', 'network', txn.appData.canceled ? 'call-canceled' : 'call-rejected', res);
    }
    if (!client?.connected) return;
    const recv = txn.appData.recv as { peer: Peer; local: Endpoint; bytes: number } | undefined;
    const peer = recv?.peer ?? txn.peer;
    const local = recv?.local ?? txn.local ?? this.transports.endpoints[0]!;
    this.forwardToApp(client, res, peer, local, recv?.bytes ?? res.toBuffer().length, txn.id, dialog?.id ?? '');
  }

  private onClientFailure(status: number, reason: string, txn: ClientTransaction): void {
    const req = txn.request;
    const res = SipMessage.response(status, reason);
    for (const h of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) res.add(h, req.get(h)!);
    this.onClientResponse(res, txn);
  }

  private forwardToApp(client: AppClient, msg: SipMessage, peer: Peer, local: Endpoint, bytes: number,
    txnId: string, dialogId: string, source = 'network'): void {
    const text = msg.toString();
    this.sendToApp(client, `sip|${source}|${bytes}|${peer.transport}|${peer.address}|${peer.port}|${now()}|${txnId}|${dialogId}` +
      `|${local.host}|${local.port}\r\n${text}`);
  }

  private sendToApp(client: AppClient, payload: string): void {
    if (Buffer.byteLength(payload, 'utf8') + 40 > MAX_FRAME) {
      this.log.warn({ bytes: payload.length }, 'message too large for the drachtio protocol, not delivered');
      return;
    }
    client.send(payload);
  }

  private cdr(kind: 'attempt' | 'start' | 'stop', source: string, extra: string | undefined, msg: SipMessage): void {
    if (!this.opts.cdrs) return;
    for (const c of this.admin.clients) {
      if (!c.authenticated || !c.routes.has(`cdr:${kind}`)) continue;
      this.sendToApp(c, `cdr:${kind}|${source}|${now()}${extra === undefined ? '' : `|${extra}`}\r\n${msg.toString()}`);
    }
  }

  // ---------------------------------------------------------------- dialogs

  private addDialog(d: Dialog): void {
    this.dialogs.set(d.key, d);
    this.dialogsById.set(d.id, d);
  }

  private removeDialog(d: Dialog): void {
    d.terminated = true;
    for (const w of d.awaitingAck.values()) w.stop();
    d.awaitingAck.clear();
    if (this.dialogs.get(d.key) === d) this.dialogs.delete(d.key);
    if (this.dialogsById.get(d.id) === d) this.dialogsById.delete(d.id);
  }

  private createUacDialog(txn: ClientTransaction, res: SipMessage, client: AppClient): Dialog {
    const req = txn.request;
    const contact = res.get('contact');
    const d = new Dialog({
      role: 'uac', callId: req.callId, localTag: req.fromTag ?? '', remoteTag: res.toTag ?? '',
      localAddr: req.get('from')!, remoteAddr: res.get('to')!, localSeq: req.cseq.seq, remoteSeq: 0,
      remoteTarget: contact ? parseNameAddr(contact).uri : req.uri!,
      routeSet: res.getAll('record-route').reverse(), peer: txn.peer, owner: client, inviteSeq: req.cseq.seq,
    });
    this.addDialog(d);
    return d;
  }

  private updateTarget(d: Dialog, msg: SipMessage): void {
    const contact = msg.get('contact');
    if (contact) d.remoteTarget = parseNameAddr(contact).uri;
  }

  /** The application vanished before a 2xx arrived: complete and end the call on the network. */
  private ackAndBye(txn: ClientTransaction, res: SipMessage): void {
    const orphan = new AppClient(new net.Socket());
    const d = this.createUacDialog(txn, res, orphan);
    this.sendInDialog(d, 'ACK', undefined);
    this.sendInDialog(d, 'BYE', undefined);
  }

  // ---------------------------------------------------------------- application side

  private onApp(client: AppClient, msg: AppMessage): void {
    if (!client.authenticated && msg.type !== 'authenticate') {
      client.reply(msg.msgId, ['NOK', 'not authenticated']);
      return;
    }
    switch (msg.type) {
      case 'authenticate': return this.authenticate(client, msg);
      case 'route':
        client.routes.add((msg.tokens[0] ?? '').toLowerCase());
        return client.reply(msg.msgId, ['OK']);
      case 'remove_route':
        client.routes.delete((msg.tokens[0] ?? '').toLowerCase());
        return client.reply(msg.msgId, ['OK']);
      case 'ping': return client.reply(msg.msgId, ['OK', 'pong']);
      case 'sip': return this.onAppSip(client, msg);
      default:
        this.log.warn({ type: msg.type }, 'unsupported drachtio message');
        return client.reply(msg.msgId, ['NOK', `unsupported message type ${msg.type}`]);
    }
  }

  private authenticate(client: AppClient, msg: AppMessage): void {
    const given = Buffer.from(msg.tokens[0] ?? '');
    const secret = Buffer.from(this.opts.admin.secret);
    if (given.length !== secret.length || !timingSafeEqual(given, secret)) {
      this.log.warn({ client: client.id }, 'application failed to authenticate');
      return client.reply(msg.msgId, ['NO', 'incorrect secret']);
    }
    client.authenticated = true;
    client.tags = (msg.tokens[1] ?? '').split(',').filter(Boolean);
    const pub = this.transports.hostports(this.opts.publicAddress);
    client.reply(msg.msgId, ['OK', pub, ENGINE_VERSION, this.transports.hostports()]);
  }

  private onAppClosed(client: AppClient): void {
    if (this.closed) return;
    for (const txn of [...this.txns.servers.values()]) {
      if (txn.appData.client === client && !txn.finalSent && txn.request.method !== 'ACK') {
        txn.respond(this.makeResponse(txn, 503, 'Service Unavailable'));
      }
    }
    for (const d of [...this.dialogsById.values()]) {
      if (d.init.owner !== client) continue;
      this.log.info({ dialog: d.id }, 'application gone, ending its dialog');
      this.sendInDialog(d, 'BYE', undefined);
    }
  }

  private onAppSip(client: AppClient, msg: AppMessage): void {
    const [txnId = '', dialogId = '', proxy = ''] = msg.tokens;
    let sip: SipMessage;
    try {
      sip = parseMessage(Buffer.from(msg.body ?? '', 'utf8'), { lenient: true });
    } catch (err) {
      return client.reply(msg.msgId, ['NOK', `unparseable SIP: ${(err as Error).message.replace(/\|/g, ' ')}`]);
    }
    if (!sip.isRequest) return this.appResponse(client, msg.msgId, txnId, sip);
    if (txnId && sip.method === 'CANCEL') return this.appCancel(client, msg.msgId, txnId);
    if (dialogId) return this.appInDialog(client, msg.msgId, dialogId, sip);
    this.appNewRequest(client, msg.msgId, sip, proxy).catch((err: Error) => {
      this.log.warn({ err, method: sip.method, uri: sip.uri }, 'could not send application request');
      client.reply(msg.msgId, ['NOK', err.message.replace(/\|/g, ' ')]);
    });
  }

  /** The application answers a request we delivered. */
  private appResponse(client: AppClient, msgId: string, txnId: string, app: SipMessage): void {
    const txn = this.txns.serversById.get(txnId);
    if (!txn || txn.done || txn.finalSent) {
      return client.reply(msgId, ['NOK', txn ? 'final response already sent' : 'unknown transaction']);
    }
    const status = app.status!;
    const appTag = app.toTag;
    if (appTag && !txn.request.toTag) txn.toTag = appTag;
    const res = this.makeResponse(txn, status, app.reason || 'OK', app);
    const req = txn.request;
    let dialog = txn.appData.dialog as Dialog | undefined;
    if (req.method === 'INVITE' && status >= 200 && status < 300) {
      if (!dialog) {
        const contact = req.get('contact');
        dialog = new Dialog({
          role: 'uas', callId: req.callId, localTag: txn.toTag, remoteTag: req.fromTag ?? '',
          localAddr: req.get('to')!, remoteAddr: req.get('from')!, localSeq: 0, remoteSeq: req.cseq.seq,
          remoteTarget: contact ? parseNameAddr(contact).uri : req.uri!, routeSet: req.getAll('record-route'),
          peer: txn.peer, owner: client, inviteSeq: 0,
        });
        this.addDialog(dialog);
        this.cdr('start', 'application', 'uas', res);
      } else {
        this.updateTarget(dialog, req);
      }
      const d = dialog;
      const seq = req.cseq.seq;
      d.awaitingAck.set(seq, { stop: () => txn.acked() });
      txn.onAckTimeout = () => this.ackTimeout(d, seq);
    } else if (req.method === 'INVITE' && status >= 300 && !dialog) {
      this.cdr('stop', 'application', 'call-rejected', res);
    }
    txn.respond(res);
    const sent = txn.lastResponse!.toString();
    const dialogId = dialog?.id ?? '';
    client.reply(msgId, ['OK', 'application', Buffer.byteLength(sent), txn.peer.transport, txn.peer.address,
      txn.peer.port, now(), txn.id, dialogId], sent);
  }

  private ackTimeout(d: Dialog, seq: number): void {
    if (d.terminated || !d.awaitingAck.has(seq)) return;
    d.awaitingAck.delete(seq);
    this.log.info({ dialog: d.id }, 'no ACK for 2xx: ending the dialog');
    const bye = this.sendInDialog(d, 'BYE', undefined);
    if (bye && d.init.owner.connected) {
      const text = bye.toString();
      this.sendToApp(d.init.owner, `sip|application|${Buffer.byteLength(text)}|${d.init.peer.transport}|` +
        `${d.init.peer.address}|${d.init.peer.port}|${now()}|unsolicited|${d.id}\r\n${text}`);
    }
    if (bye) this.cdr('stop', 'application', 'ack-timeout', bye);
  }

  /** Builds a response on a server transaction, merging what the application supplied. */
  private makeResponse(txn: ServerTransaction, status: number, reason: string, app?: SipMessage): SipMessage {
    const req = txn.request;
    const res = SipMessage.response(status, reason);
    for (const v of req.getAll('via')) res.add('Via', v);
    res.add('From', req.get('from')!);
    const to = req.get('to')!;
    res.add('To', status > 100 && !req.toTag ? withTag(to, txn.toTag) : to);
    res.add('Call-ID', req.callId);
    res.add('CSeq', req.get('cseq')!);
    const dialogForming = (req.method === 'INVITE' || req.method === 'SUBSCRIBE') && status > 100 && status < 300;
    if (dialogForming && !req.toTag) for (const rr of req.getAll('record-route')) res.add('Record-Route', rr);
    if (app) {
      for (const [k, v] of app.headers) if (!CORE_HEADERS.has(k)) res.add(k, v);
      res.body = app.body;
      if (res.body.length && !res.has('content-type')) res.set('Content-Type', 'application/sdp');
    }
    if (status > 100 && status < 300 && CONTACT_METHODS.has(req.method!)) this.ensureContact(res, txn.local!);
    return res;
  }

  private ourHost(local: Endpoint): string {
    return uriHost(this.opts.publicAddress ?? local.host);
  }

  private contactFor(local: Endpoint): string {
    return `<sip:${this.ourHost(local)}:${local.port}${local.transport !== 'udp' ? `;transport=${local.transport}` : ''}>`;
  }

  /** Adds our Contact if none, and replaces a `localhost` host (srf's default) with our address. */
  private ensureContact(msg: SipMessage, local: Endpoint): void {
    const contact = msg.get('contact');
    if (!contact) return msg.set('Contact', this.contactFor(local));
    msg.set('Contact', this.fixLocalhost(contact, local, true));
  }

  private fixLocalhost(value: string, local: Endpoint, setTransport: boolean): string {
    try {
      const na = parseNameAddr(value);
      const uri = parseUri(na.uri);
      if (!uri || uri.host.toLowerCase() !== 'localhost') return value;
      uri.host = this.ourHost(local);
      uri.port = local.port;
      if (setTransport && local.transport !== 'udp') uri.params.transport = local.transport;
      na.uri = stringifyUri(uri);
      return stringifyNameAddr(na);
    } catch {
      return value;
    }
  }

  /** CANCEL of an INVITE the application sent (`sip|<txnId>|` with a CANCEL). */
  private appCancel(client: AppClient, msgId: string, txnId: string): void {
    const invite = this.txns.clientsById.get(txnId);
    if (!invite || invite.request.method !== 'INVITE') return client.reply(msgId, ['NOK', 'unknown transaction']);
    invite.appData.canceled = true;
    let cancel: SipMessage | undefined;
    if (invite.state === 'calling') invite.appData.pendingCancel = true; // RFC 3261 §9.1: wait for a provisional
    else if (invite.state === 'proceeding') cancel = this.sendCancel(invite);
    const text = (cancel ?? this.cancelFor(invite)).toString();
    client.reply(msgId, ['OK', 'application', Buffer.byteLength(text), invite.peer.transport, invite.peer.address,
      invite.peer.port, now(), randomUUID(), ''], text);
  }

  private cancelFor(invite: ClientTransaction): SipMessage {
    const req = invite.request;
    const cancel = SipMessage.request('CANCEL', req.uri!);
    cancel.add('Via', req.get('via')!);
    for (const r of req.getAll('route')) cancel.add('Route', r);
    cancel.add('Max-Forwards', '70');
    for (const h of ['From', 'To', 'Call-ID']) cancel.add(h, req.get(h)!);
    cancel.add('CSeq', `${req.cseq.seq} CANCEL`);
    return cancel;
  }

  private sendCancel(invite: ClientTransaction): SipMessage {
    const cancel = this.cancelFor(invite);
    this.txns.createClient(cancel, invite.peer, invite.local, {
      onResponse: () => undefined,
      onFailure: () => undefined,
    }).start();
    return cancel;
  }

  /** In-dialog request from the application (`sip||<dialogId>`); the SIP may be a stub. */
  private appInDialog(client: AppClient, msgId: string, dialogId: string, app: SipMessage): void {
    const d = this.dialogsById.get(dialogId);
    if (!d) return client.reply(msgId, ['NOK', 'unable to find dialog']);
    const sent = this.sendInDialog(d, app.method!, app, client);
    if (!sent) return client.reply(msgId, ['NOK', 'unable to send request']);
    const text = sent.toString();
    const txnId = (sent as SipMessage & { txnId?: string }).txnId ?? '';
    client.reply(msgId, ['OK', 'application', Buffer.byteLength(text), d.init.peer.transport, d.init.peer.address,
      d.init.peer.port, now(), txnId, d.id], text);
  }

  /** Builds and sends an in-dialog request; returns it (with `txnId` for non-ACK requests). */
  private sendInDialog(d: Dialog, method: string, app: SipMessage | undefined, client?: AppClient): SipMessage | undefined {
    const seq = method === 'ACK' ? d.inviteSeq : ++d.localSeq;
    if (method === 'INVITE') d.inviteSeq = seq;
    const { req, next } = d.buildRequest(method, seq);
    if (app) {
      for (const [k, v] of app.headers) if (!DIALOG_REQUEST_SKIP.has(k)) req.set(k, v);
      req.body = app.body;
      if (req.body.length && !req.has('content-type')) req.set('Content-Type', 'application/sdp');
    }
    const transport = d.transportFor(next);
    const target = next ?? parseUri(d.remoteTarget);
    const peer: Peer = target && net.isIP(bareHost(target.host))
      ? { transport, address: bareHost(target.host), port: target.port ?? 5060 }
      : { ...d.init.peer, transport };
    const local = this.transports.endpointFor(transport, peer.address);
    if (!local) return undefined;
    this.setVia(req, local);
    if (CONTACT_METHODS.has(method)) this.ensureContact(req, local);
    if (method === 'BYE') {
      this.removeDialog(d);
      this.cdr('stop', 'application', 'normal-release', req);
    }
    if (method === 'ACK') {
      const data = req.toBuffer();
      d.lastAck = { seq, data, peer };
      this.transports.send(peer, data, local).catch((err: Error) => this.log.warn({ err }, 'could not send ACK'));
      return req;
    }
    const txn = this.txns.createClient(req, peer, local, {
      onResponse: (res, t) => this.onClientResponse(res, t),
      onFailure: (status, reason, t) => this.onClientFailure(status, reason, t),
    });
    txn.appData.client = client ?? d.init.owner;
    txn.appData.dialog = d;
    txn.start();
    return Object.assign(req, { txnId: txn.id });
  }

  private setVia(req: SipMessage, local: Endpoint): void {
    const branch = req.topVia?.params.branch ?? newBranch();
    req.remove('Via');
    req.prepend('Via', `SIP/2.0/${local.transport.toUpperCase()} ${this.ourHost(local)}:${local.port};rport;branch=${branch}`);
  }

  /** New out-of-dialog request from the application (`sip||`), optionally via an outbound proxy. */
  private async appNewRequest(client: AppClient, msgId: string, app: SipMessage, proxy: string): Promise<void> {
    const method = app.method!;
    const ruri = parseUri(app.uri!);
    if (!ruri) throw new Error(`invalid request uri ${app.uri}`);
    const route = app.get('route');
    const hop: SipUri | undefined = proxy
      ? parseUri(proxy.startsWith('sip') ? proxy : `sip:${proxy}`)
      : route ? parseUri(parseNameAddr(route).uri) : ruri;
    if (!hop) throw new Error(`invalid next hop ${proxy || route}`);
    const transport = transportOf(hop);
    const host = bareHost(hop.host);
    const address = net.isIP(host) ? host : (await lookup(host)).address;
    const peer: Peer = { transport, address, port: hop.port ?? DEFAULT_PORTS[transport] };
    const local = this.transports.endpointFor(transport, address);
    if (!local) throw new Error(`no ${transport} transport configured`);

    const req = app.clone();
    req.remove('Content-Length');
    this.setVia(req, local);
    if (!req.has('max-forwards')) req.add('Max-Forwards', '70');
    if (req.body.length && !req.has('content-type')) req.set('Content-Type', 'application/sdp');
    const from = req.get('from') ? this.fixLocalhost(req.get('from')!, local, false) : `<sip:${this.ourHost(local)}>`;
    req.set('From', req.fromTag ? from : withTag(from, randomUUID().slice(0, 8)));
    if (!req.has('to')) req.add('To', `<${app.uri}>`);
    if (!req.has('call-id')) req.add('Call-ID', randomUUID());
    const cseq = /^\s*(\d+)/.exec(req.get('cseq') ?? '');
    req.set('CSeq', `${cseq ? cseq[1] : 1} ${method}`);
    if (CONTACT_METHODS.has(method)) this.ensureContact(req, local);
    if (this.closed) throw new Error('engine closed');

    const txn = this.txns.createClient(req, peer, local, {
      onResponse: (res, t) => this.onClientResponse(res, t),
      onFailure: (status, reason, t) => this.onClientFailure(status, reason, t),
    });
    txn.appData.client = client;
    txn.start();
    if (method === 'INVITE') this.cdr('attempt', 'application', undefined, req);
    const text = req.toString();
    client.reply(msgId, ['OK', 'application', Buffer.byteLength(text), transport, address, peer.port, now(), txn.id, ''], text);
  }

  private pickClient(method: string): AppClient | undefined {
    const verb = method.toLowerCase();
    const candidates = [...this.admin.clients].filter((c) => c.authenticated && c.connected && c.routes.has(verb));
    if (!candidates.length) return undefined;
    return candidates[this.rr++ % candidates.length];
  }
}
