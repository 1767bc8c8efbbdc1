import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import Srf from 'drachtio-srf';
import type { SipEngine } from '../../../runtime/sip-engine/index.js';
import { ENGINE_IP, SECRET, connectSrf, sipPort, startEngine, until } from './harness.js';

const PEER_IP = '127.0.2.4';
const SDP = 'v=0\no=- 1 1 IN IP4 127.0.2.4\ns=-\nc=IN IP4 127.0.2.4\nt=0 0\nm=audio 16500 RTP/AVP 0\n'; // CRLF added by Peer.send

/** A scripted SIP peer on a UDP socket: collects what it receives. */
class Peer {
  readonly got: string[] = [];
  private constructor(readonly socket: dgram.Socket) {
    socket.on('message', (m) => this.got.push(m.toString('utf8')));
  }
  static async open(): Promise<Peer> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, PEER_IP, () => r()));
    return new Peer(s);
  }
  get port(): number {
    return this.socket.address().port;
  }
  send(text: string | Buffer, port: number): void {
    this.socket.send(typeof text === 'string' ? Buffer.from(text.replace(/\n/g, '\r\n')) : text, port, ENGINE_IP);
  }
  async waitFor(re: RegExp, ms = 3000): Promise<string> {
    await until(() => this.got.some((m) => re.test(m)), ms, String(re));
    return this.got.find((m) => re.test(m))!;
  }
  close(): void {
    this.socket.close();
  }
}

describe('sip engine: drachtio protocol and robustness', () => {
  let engine: SipEngine;
  let srf: Srf & Srf.SrfExtras;
  let peer: Peer;
  const events: string[] = [];

  beforeAll(async () => {
    engine = await startEngine({ timers: { t1: 20, t2: 160, t4: 200 } });
    srf = await connectSrf(engine) as Srf & Srf.SrfExtras;
    srf.invite(async (req, res) => {
      const d = await srf.createUAS(req, res, { localSdp: 'v=0\r\n' });
      d.on('destroy', () => events.push('destroy'));
    });
    srf.options((_req, res) => res.send(200, { headers: { 'X-App': 'yes' } }));
    peer = await Peer.open();
  });
  afterEach(() => { peer.got.length = 0; });
  afterAll(async () => {
    peer?.close();
    srf?.disconnect();
    await engine?.close();
  });

  it('rejects a bad secret', async () => {
    await expect(connectSrf(engine, 'wrong')).rejects.toThrow(/authenticate/);
  });

  it('answers ping and rejects unknown message types without closing', async () => {
    const sock = net.connect(engine.adminPort, '127.0.0.1');
    let data = '';
    sock.on('data', (d) => { data += d.toString(); });
    const frame = (p: string): string => `${Buffer.byteLength(p)}#${p}`;
    sock.write(frame(`a1|authenticate|${SECRET}|`) + frame('a2|ping') + frame('a3|bogus|x') + frame('a4|route|invite'));
    await until(() => data.includes('a4|OK'), 2000, 'replies');
    expect(data).toMatch(/\|response\|a2\|OK\|pong/);
    expect(data).toMatch(/\|response\|a3\|NOK\|/);
    sock.destroy();
  });

  it('closes an application connection with a broken length prefix', async () => {
    const sock = net.connect(engine.adminPort, '127.0.0.1');
    const closed = new Promise((r) => sock.on('close', r));
    sock.write('abc#hello');
    await closed;
  });

  it('garbage datagrams are dropped; a request with a readable Via gets 400; the engine keeps working', async () => {
    const port = sipPort(engine, 'udp');
    peer.send(Buffer.from([0, 1, 2, 3, 255, 254, 10, 13, 10]), port);
    peer.send('hello world\n\n', port);
    peer.send(`OPTIONS sip:x@${ENGINE_IP} SIP/2.0\nVia: SIP/2.0/UDP ${PEER_IP}:${peer.port};branch=z9hG4bK-bad1;rport\nFrom: <sip:a@b>;tag=1\nTo: <sip:x@y>\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n`, port);
    const bad = await peer.waitFor(/^SIP\/2.0 400/);
    expect(bad).toContain('branch=z9hG4bK-bad1');
    expect(bad).toMatch(/rport=\d+/);
    peer.send(`OPTIONS sip:x@${ENGINE_IP} SIP/2.0\nVia: SIP/2.0/UDP ${PEER_IP}:${peer.port};branch=z9hG4bK-ok1\nFrom: <sip:a@b>;tag=1\nTo: <sip:x@y>\nCall-ID: ok1\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n`, port);
    const ok = await peer.waitFor(/^SIP\/2.0 200/);
    expect(ok).toContain('X-App: yes');
    expect(engine.stats().malformed).toBeGreaterThanOrEqual(3);
  });

  it('TCP: a stream without Content-Length is closed, oversized messages are refused', async () => {
    const sock = net.connect(sipPort(engine, 'tcp'), ENGINE_IP);
    await new Promise((r) => sock.on('connect', r));
    const closed = new Promise((r) => sock.on('close', r));
    sock.write('OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 1.2.3.4\r\n\r\n');
    await closed;
    const big = net.connect(sipPort(engine, 'tcp'), ENGINE_IP);
    await new Promise((r) => big.on('connect', r));
    const closedBig = new Promise((r) => big.on('close', r));
    big.on('error', () => undefined);
    big.write(`OPTIONS sip:x SIP/2.0\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(70_000)}`);
    await closedBig;
  });

  it('OPTIONS out of dialog from the app, and an INVITE keeping the app Call-ID, From tag and CSeq', async () => {
    const target = `sip:peer@${PEER_IP}:${peer.port}`;
    const responded = new Promise<number>((resolve, reject) => {
      srf.request(target, { method: 'OPTIONS', headers: { 'X-Test': '1' } }, (err, req) => {
        if (err) return reject(err);
        req.on('response', (res?: Srf.SrfResponse) => resolve(res!.status));
      });
    });
    const opt = await peer.waitFor(/^OPTIONS /);
    const via = /Via: (.*)\r\n/.exec(opt)![1]!;
    expect(via).toContain(`SIP/2.0/UDP ${ENGINE_IP}:${sipPort(engine, 'udp')}`);
    const hdr = (name: string, m: string): string => new RegExp(`^${name}: (.*)$`, 'mi').exec(m)![1]!;
    peer.send(`SIP/2.0 200 OK\nVia: ${via}\nFrom: ${hdr('From', opt)}\nTo: ${hdr('To', opt)};tag=p1\nCall-ID: ${hdr('Call-ID', opt)}\nCSeq: ${hdr('CSeq', opt)}\nContent-Length: 0\n\n`, sipPort(engine, 'udp'));
    expect(await responded).toBe(200);
    expect(hdr('X-Test', opt)).toBe('1');

    srf.request(target, {
      method: 'INVITE', body: 'v=0\r\n',
      headers: { 'Call-ID': 'app-call-1', From: '<sip:app@example.com>;tag=apptag', CSeq: '42 INVITE', Contact: '<sip:app@localhost>' },
    });
    const inv = await peer.waitFor(/^INVITE /);
    expect(hdr('Call-ID', inv)).toBe('app-call-1');
    expect(hdr('From', inv)).toContain('tag=apptag');
    expect(hdr('CSeq', inv)).toBe('42 INVITE');
    expect(hdr('Contact', inv)).toContain(`${ENGINE_IP}:${sipPort(engine, 'udp')}`);
    expect(hdr('Content-Type', inv)).toBe('application/sdp');
    // the INVITE is retransmitted over UDP (T1 = 20 ms here) until a response arrives
    await until(() => peer.got.filter((m) => m.startsWith('INVITE ')).length >= 3, 2000, 'retransmissions');
    const ivia = /Via: (.*)\r\n/.exec(inv)![1]!;
    peer.send(`SIP/2.0 486 Busy Here\nVia: ${ivia}\nFrom: ${hdr('From', inv)}\nTo: ${hdr('To', inv)};tag=p2\nCall-ID: app-call-1\nCSeq: 42 INVITE\nContent-Length: 0\n\n`, sipPort(engine, 'udp'));
    const ack = await peer.waitFor(/^ACK /);
    expect(hdr('CSeq', ack)).toBe('42 ACK');
  });

  it('2xx is retransmitted until ACK; without ACK the engine sends BYE and an unsolicited BYE to the app', async () => {
    events.length = 0;
    const port = sipPort(engine, 'udp');
    peer.send(`INVITE sip:x@${ENGINE_IP}:${port} SIP/2.0\nVia: SIP/2.0/UDP ${PEER_IP}:${peer.port};branch=z9hG4bK-noack1;rport\nFrom: <sip:a@${PEER_IP}>;tag=na1\nTo: <sip:x@${ENGINE_IP}>\nCall-ID: noack-1\nCSeq: 1 INVITE\nContact: <sip:a@${PEER_IP}:${peer.port}>\nMax-Forwards: 70\nContent-Type: application/sdp\nContent-Length: ${SDP.length + 6}\n\n${SDP}`, port);
    await peer.waitFor(/^SIP\/2.0 100/);
    await until(() => peer.got.filter((m) => m.startsWith('SIP/2.0 200')).length >= 3, 2000, '2xx retransmissions');
    const bye = await peer.waitFor(/^BYE /, 3000);
    expect(bye).toContain('Call-ID: noack-1');
    await until(() => events.length > 0, 2000, 'destroy');
    expect(engine.stats().dialogs).toBe(0);
  });

  it('retransmitted INVITE gets the last response again, not a second app request', async () => {
    const port = sipPort(engine, 'udp');
    const invite = `INVITE sip:x@${ENGINE_IP}:${port} SIP/2.0\nVia: SIP/2.0/UDP ${PEER_IP}:${peer.port};branch=z9hG4bK-rt1\nFrom: <sip:a@${PEER_IP}>;tag=rt1\nTo: <sip:x@${ENGINE_IP}>\nCall-ID: rt-1\nCSeq: 1 INVITE\nContact: <sip:a@${PEER_IP}:${peer.port}>\nMax-Forwards: 70\nContent-Length: 0\n\n`;
    peer.send(invite, port);
    const ok = await peer.waitFor(/^SIP\/2.0 200/);
    peer.send(invite, port);
    await until(() => peer.got.filter((m) => m.startsWith('SIP/2.0 200')).length >= 2, 2000, 'resent 200');
    const hdr = (name: string, m: string): string => new RegExp(`^${name}: (.*)$`, 'mi').exec(m)![1]!;
    peer.send(`ACK sip:x@${ENGINE_IP}:${port} SIP/2.0\nVia: SIP/2.0/UDP ${PEER_IP}:${peer.port};branch=z9hG4bK-rt1ack\nFrom: <sip:a@${PEER_IP}>;tag=rt1\nTo: ${hdr('To', ok)}\nCall-ID: rt-1\nCSeq: 1 ACK\nMax-Forwards: 70\nContent-Length: 0\n\n`, port);
    peer.send(`BYE sip:x@${ENGINE_IP}:${port} SIP/2.0\nVia: SIP/2.0/UDP ${PEER_IP}:${peer.port};branch=z9hG4bK-rt1bye\nFrom: <sip:a@${PEER_IP}>;tag=rt1\nTo: ${hdr('To', ok)}\nCall-ID: rt-1\nCSeq: 2 BYE\nMax-Forwards: 70\nContent-Length: 0\n\n`, port);
    await peer.waitFor(/^SIP\/2.0 200 OK[\s\S]*CSeq: 2 BYE/);
    expect(engine.stats().dialogs).toBe(0);
  });

  it('in-dialog request for an unknown dialog gets 481', async () => {
    const port = sipPort(engine, 'udp');
    peer.send(`BYE sip:x@${ENGINE_IP}:${port} SIP/2.0\nVia: SIP/2.0/UDP ${PEER_IP}:${peer.port};branch=z9hG4bK-481\nFrom: <sip:a@b>;tag=a\nTo: <sip:x@y>;tag=b\nCall-ID: nope\nCSeq: 1 BYE\nMax-Forwards: 70\nContent-Length: 0\n\n`, port);
    await peer.waitFor(/^SIP\/2.0 481/);
  });
});
