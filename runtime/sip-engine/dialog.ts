/**
 * RFC 3261 §12 dialogs. The engine is the UA on the network side of every dialog the application creates:
 * as UAS when the application answers an INVITE with 2xx, as UAC when the application's INVITE gets a 2xx.
 */
import { newBranch } from './transaction.js';
import type { AppClient } from './admin.js';
import type { Peer, Protocol } from './transport.js';
import { SipMessage, parseNameAddr, parseUri, withTag, type SipUri } from './message.js';

export interface DialogInit {
  role: 'uas' | 'uac';
  callId: string;
  localTag: string;
  remoteTag: string;
  /** From/To header values of our side and the peer, without tags rewritten. */
  localAddr: string;
  remoteAddr: string;
  localSeq: number;
  remoteSeq: number;
  remoteTarget: string;
  routeSet: string[];
  /** The transport and peer the dialog was established with (fallback destination). */
  peer: Peer;
  owner: AppClient;
  inviteSeq: number;
}

export class Dialog {
  /** `<Call-ID>;from-tag=<From tag of the UAC side>`, the id drachtio-srf expects. */
  readonly id: string;
  localSeq: number;
  remoteSeq: number;
  remoteTarget: string;
  /** CSeq of the last INVITE we sent (the ACK reuses it) and the ACK we sent for it (re-ACK). */
  inviteSeq: number;
  lastAck?: { seq: number; data: Buffer; peer: Peer };
  /** 2xx server transactions awaiting ACK, by CSeq. */
  readonly awaitingAck = new Map<number, { stop: () => void }>();
  terminated = false;
  readonly createdAt = Date.now();

  constructor(readonly init: DialogInit) {
    this.id = Dialog.makeId(init.callId, init.role === 'uac' ? init.localTag : init.remoteTag);
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.remoteTarget = init.remoteTarget;
    this.inviteSeq = init.inviteSeq;
  }

  static makeId(callId: string, uacFromTag: string): string {
    return `${callId};from-tag=${uacFromTag}`;
  }

  /** Key to look a dialog up from a message: Call-ID + local tag + remote tag. */
  static key(callId: string, localTag: string, remoteTag: string): string {
    return `${callId}|${localTag}|${remoteTag}`;
  }

  get key(): string {
    return Dialog.key(this.init.callId, this.init.localTag, this.init.remoteTag);
  }

  /**
   * Builds an in-dialog request (§12.2.1.1) with loose routing. Strict routers (no `;lr`) are handled by
   * putting the first route in the Request-URI as §12.2.1.1 describes.
   */
  buildRequest(method: string, seq: number): { req: SipMessage; next: SipUri | undefined } {
    let uri = this.remoteTarget;
    const routes = [...this.init.routeSet];
    const first = routes[0] ? parseUri(parseNameAddr(routes[0]).uri) : undefined;
    let next: SipUri | undefined = first ?? parseUri(uri);
    if (first && !('lr' in first.params)) {
      uri = parseNameAddr(routes.shift()!).uri;
      routes.push(`<${this.remoteTarget}>`);
      next = first;
    }
    const req = SipMessage.request(method, uri);
    req.add('Via', `SIP/2.0/UDP placeholder;branch=${newBranch()}`);
    req.add('Max-Forwards', '70');
    req.add('From', withTag(this.init.localAddr, this.init.localTag));
    req.add('To', withTag(this.init.remoteAddr, this.init.remoteTag));
    req.add('Call-ID', this.init.callId);
    req.add('CSeq', `${seq} ${method}`);
    for (const r of routes) req.add('Route', r);
    return { req, next };
  }

  /** The transport to use for in-dialog requests: `;transport=` of the next hop, else the dialog's own. */
  transportFor(next: SipUri | undefined): Protocol {
    const t = next?.params.transport?.toLowerCase();
    if (t === 'tcp' || t === 'udp' || t === 'tls' || t === 'ws' || t === 'wss') return t;
    if (next?.scheme === 'sips') return 'tls';
    return this.init.peer.transport;
  }
}
