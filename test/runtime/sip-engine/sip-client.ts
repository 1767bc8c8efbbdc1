/** A minimal scripted SIP UA over TLS or WebSocket for the transport tests (no retransmissions: reliable). */
import { randomUUID } from 'node:crypto';
import tls from 'node:tls';
import WebSocket from 'ws';
import { SipMessage, StreamFramer, parseMessage } from '../../../runtime/sip-engine/message.js';
import { until } from './harness.js';

export const clientSdp = (ip: string, port: number): string =>
  `v=0\r\no=- 1 1 IN IP4 ${ip}\r\ns=-\r\nc=IN IP4 ${ip}\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\n`;

export class StreamUa {
  readonly got: SipMessage[] = [];
  private constructor(
    private readonly write: (data: Buffer) => void,
    private readonly end: () => void,
    /** Via transport token and sent-by. */
    readonly via: { transport: string; host: string },
    readonly contact: string,
  ) {}

  static async tls(host: string, port: number, localAddress: string, ca: string): Promise<StreamUa> {
    const socket = tls.connect({ host, port, ca, localAddress } as tls.ConnectionOptions);
    await new Promise<void>((resolve, reject) => { socket.once('secureConnect', resolve); socket.once('error', reject); });
    const framer = new StreamFramer(65_535);
    const ua = new StreamUa((d) => socket.write(d), () => socket.destroy(),
      { transport: 'TLS', host: `${localAddress}:${socket.localPort}` }, `<sip:alice@${localAddress}:${socket.localPort};transport=tls>`);
    socket.on('data', (chunk: Buffer) => { for (const m of framer.push(chunk)) ua.got.push(parseMessage(m)); });
    return ua;
  }

  static async ws(url: string, localAddress: string, ca?: string, protocol = 'sip'): Promise<StreamUa & { socket: WebSocket }> {
    const socket = new WebSocket(url, protocol, { ca, localAddress });
    await new Promise<void>((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); });
    const host = `${randomUUID().slice(0, 8)}.invalid`;
    const t = url.startsWith('wss') ? 'WSS' : 'WS';
    const ua = new StreamUa((d) => socket.send(d.toString('utf8')), () => socket.close(),
      { transport: t, host }, `<sip:alice@${host};transport=${t.toLowerCase()}>`);
    socket.on('message', (data: Buffer) => ua.got.push(parseMessage(data)));
    return Object.assign(ua, { socket });
  }

  send(msg: SipMessage): void {
    this.write(msg.toBuffer());
  }

  async waitFor(pred: (m: SipMessage) => boolean, what: string, ms = 5000): Promise<SipMessage> {
    await until(() => this.got.some(pred), ms, what);
    const i = this.got.findIndex(pred);
    return this.got.splice(i, 1)[0]!;
  }

  request(method: string, uri: string, h: { callId: string; from: string; to: string; seq: number; body?: string }): SipMessage {
    const m = SipMessage.request(method, uri);
    m.add('Via', `SIP/2.0/${this.via.transport} ${this.via.host};branch=z9hG4bK-${randomUUID()};rport`);
    m.add('Max-Forwards', '70');
    m.add('From', h.from);
    m.add('To', h.to);
    m.add('Call-ID', h.callId);
    m.add('CSeq', `${h.seq} ${method}`);
    m.add('Contact', this.contact);
    if (h.body) {
      m.add('Content-Type', 'application/sdp');
      m.body = Buffer.from(h.body);
    }
    return m;
  }

  /** Answers a request with `status` (and our SDP for 200 to INVITE). */
  reply(req: SipMessage, status: number, reason: string, toTag: string, body?: string): void {
    const res = SipMessage.response(status, reason);
    for (const v of req.getAll('via')) res.add('Via', v);
    for (const v of req.getAll('record-route')) res.add('Record-Route', v);
    res.add('From', req.get('from')!);
    res.add('To', req.toTag ? req.get('to')! : `${req.get('to')!};tag=${toTag}`);
    res.add('Call-ID', req.callId);
    res.add('CSeq', req.get('cseq')!);
    res.add('Contact', this.contact);
    if (body) {
      res.add('Content-Type', 'application/sdp');
      res.body = Buffer.from(body);
    }
    this.send(res);
  }

  /** INVITE → 200 → ACK → BYE → 200; returns the 200 to the INVITE. */
  async call(target: string, ip: string): Promise<SipMessage> {
    const callId = randomUUID();
    const from = `<sip:alice@${ip}>;tag=${randomUUID().slice(0, 8)}`;
    const to = `<${target}>`;
    this.send(this.request('INVITE', target, { callId, from, to, seq: 1, body: clientSdp(ip, 19500) }));
    const ok = await this.waitFor((m) => m.status === 200 && m.callId === callId && m.cseq.method === 'INVITE', '200 to INVITE');
    const remote = /<([^>]+)>/.exec(ok.get('contact')!)![1]!;
    const toTagged = ok.get('to')!;
    const ack = this.request('ACK', remote, { callId, from, to: toTagged, seq: 1 });
    ack.remove('Contact');
    this.send(ack);
    await new Promise((r) => setTimeout(r, 200));
    const bye = this.request('BYE', remote, { callId, from, to: toTagged, seq: 2 });
    bye.remove('Contact');
    this.send(bye);
    await this.waitFor((m) => m.status === 200 && m.callId === callId && m.cseq.method === 'BYE', '200 to BYE');
    return ok;
  }

  close(): void {
    this.end();
  }
}
