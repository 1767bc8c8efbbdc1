/**
 * RtpEndpoint: the SBC's own RTP endpoint (docs/voice.md). One UDP socket per call leg on a configurable port
 * range; G.711 on the wire, 8 kHz PCM16 frames inside; RFC 4733 telephone-events both ways. rtpengine anchors
 * the far side and talks to this socket on loopback/VPC, so this never faces the Internet directly.
 */
import dgram from 'node:dgram';
import { randomBytes, randomInt } from 'node:crypto';
import { FRAME_MS, FRAME_SAMPLES, type AudioSource, type Frame, type MediaEndpoint } from '../contracts.js';
import { decodeG711, encodeG711, type G711Law } from './g711.js';
import { buildAudioSdp, parseAudioSdp } from './sdp.js';

const DTMF_EVENTS = '0123456789*#ABCD';
const TE_PT = 101;

/** Even ports in [min, max] handed out round-robin; a port in use by someone else is skipped at bind time. */
export class RtpPortPool {
  private next: number;
  constructor(readonly host: string, readonly min: number, readonly max: number) {
    this.next = min + (min % 2);
  }

  take(): number {
    const p = this.next;
    this.next += 2;
    if (this.next > this.max) this.next = this.min + (this.min % 2);
    return p;
  }

  get size(): number {
    return Math.floor((this.max - this.min + 1) / 2);
  }
}

let seq = 0;

export class RtpEndpoint implements MediaEndpoint {
  readonly id: string;
  private remote?: { address: string; port: number };
  private law: G711Law = 'pcmu';
  private pt: 0 | 8 = 0;
  private tePt: number | undefined = TE_PT;
  private rtpSeq = randomInt(0, 0xffff);
  private rtpTs = randomInt(0, 0x7fffffff);
  private readonly ssrc = randomBytes(4).readUInt32BE(0);
  private marker = true;
  private readonly frameCbs = new Set<(f: Frame) => void>();
  private readonly dtmfCbs = new Set<(d: string) => void>();
  private readonly seenEvents: number[] = [];
  private playing?: { timer?: NodeJS.Timeout; finish(r: 'done' | 'stopped'): void };
  private closed = false;
  private readonly sessionId = randomInt(1, 2 ** 31);
  private version = 1;
  private readonly counters = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 };
  /** Latch the remote address from the first packet (test peers and NAT'd peers). */
  latch: boolean;

  private constructor(private readonly socket: dgram.Socket, readonly host: string, readonly port: number, o: { latch?: boolean }) {
    this.id = `ep-${process.pid}-${++seq}`;
    this.latch = o.latch ?? false;
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    socket.on('error', () => undefined);
  }

  /** Binds an endpoint on the next free port of the pool (tries the whole range once). */
  static async create(pool: RtpPortPool, o: { latch?: boolean } = {}): Promise<RtpEndpoint> {
    for (let i = 0; i < pool.size; i++) {
      const port = pool.take();
      const socket = dgram.createSocket('udp4');
      const ok = await new Promise<boolean>((resolve) => {
        socket.once('error', () => resolve(false));
        socket.bind(port, pool.host, () => resolve(true));
      });
      if (ok) return new RtpEndpoint(socket, pool.host, port, o);
      socket.close();
    }
    throw new Error(`no free RTP port in ${pool.host}:${pool.min}-${pool.max}`);
  }

  get codec(): G711Law {
    return this.law;
  }

  get remoteAddress(): { address: string; port: number } | undefined {
    return this.remote;
  }

  answer(offerSdp: string): string {
    const r = parseAudioSdp(offerSdp);
    this.pt = r.pts.includes(0) ? 0 : r.pts.includes(8) ? 8 : 0;
    this.law = this.pt === 0 ? 'pcmu' : 'pcma';
    this.tePt = r.telephoneEventPt;
    if (r.port > 0) this.remote = { address: r.address, port: r.port };
    const dir = r.direction === 'sendonly' ? 'recvonly' : r.direction === 'recvonly' ? 'sendonly' : r.direction;
    return buildAudioSdp({ address: this.host, port: this.port, sessionId: this.sessionId, version: this.version++, codecPt: this.pt, ...(this.tePt !== undefined ? { telephoneEventPt: this.tePt } : {}), direction: dir });
  }

  offer(): string {
    return buildAudioSdp({ address: this.host, port: this.port, sessionId: this.sessionId, version: this.version++, codecPt: null, telephoneEventPt: TE_PT });
  }

  accept(answerSdp: string): void {
    const r = parseAudioSdp(answerSdp);
    const first = r.pts.find((p) => p === 0 || p === 8);
    this.pt = first === 8 ? 8 : 0;
    this.law = this.pt === 0 ? 'pcmu' : 'pcma';
    this.tePt = r.telephoneEventPt;
    if (r.port > 0) this.remote = { address: r.address, port: r.port };
  }

  onFrame(cb: (f: Frame) => void): () => void {
    this.frameCbs.add(cb);
    return () => this.frameCbs.delete(cb);
  }

  onDtmf(cb: (digit: string) => void): () => void {
    this.dtmfCbs.add(cb);
    return () => this.dtmfCbs.delete(cb);
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed || msg.length < 12 || msg[0]! >> 6 !== 2) return;
    if (this.latch) {
      this.remote = { address: rinfo.address, port: rinfo.port };
      this.latch = false;
    }
    const pt = msg[1]! & 0x7f;
    if (pt >= 72 && pt <= 76) return; // RTCP on the RTP port (rtcp-mux peers)
    this.counters.packetsIn++;
    this.counters.bytesIn += msg.length;
    const cc = msg[0]! & 0x0f;
    let off = 12 + 4 * cc;
    if (msg[0]! & 0x10) {
      if (msg.length < off + 4) return;
      off += 4 + 4 * msg.readUInt16BE(off + 2);
    }
    let end = msg.length;
    if (msg[0]! & 0x20) end -= msg[msg.length - 1]!;
    if (end <= off) return;
    const payload = msg.subarray(off, end);
    if (pt === 0 || pt === 8) {
      const pcm = decodeG711(payload, pt === 0 ? 'pcmu' : 'pcma');
      for (const cb of this.frameCbs) cb(pcm);
      return;
    }
    if ((this.tePt !== undefined && pt === this.tePt) || (this.tePt === undefined && pt === TE_PT)) {
      if (payload.length < 4) return;
      const event = payload[0]!;
      if (event >= DTMF_EVENTS.length) return;
      const ts = msg.readUInt32BE(4);
      if (this.seenEvents.includes(ts)) return;
      this.seenEvents.push(ts);
      if (this.seenEvents.length > 16) this.seenEvents.shift();
      const digit = DTMF_EVENTS[event]!;
      for (const cb of this.dtmfCbs) cb(digit);
    }
  }

  private sendPacket(pt: number, ts: number, payload: Buffer, marker: boolean): void {
    if (this.closed || !this.remote || this.remote.port === 0) return;
    const h = Buffer.allocUnsafe(12);
    h[0] = 0x80;
    h[1] = (marker ? 0x80 : 0) | pt;
    h.writeUInt16BE(this.rtpSeq, 2);
    this.rtpSeq = (this.rtpSeq + 1) & 0xffff;
    h.writeUInt32BE(ts >>> 0, 4);
    h.writeUInt32BE(this.ssrc, 8);
    const pkt = Buffer.concat([h, payload]);
    this.counters.packetsOut++;
    this.counters.bytesOut += pkt.length;
    this.socket.send(pkt, this.remote.port, this.remote.address);
  }

  send(f: Frame): void {
    const frame = f.length === FRAME_SAMPLES ? f : padFrame(f);
    this.sendPacket(this.pt, this.rtpTs, encodeG711(frame, this.law), this.marker);
    this.marker = false;
    this.rtpTs = (this.rtpTs + FRAME_SAMPLES) >>> 0;
  }

  play(src: AudioSource): Promise<'done' | 'stopped'> {
    this.stop();
    if (this.closed) return Promise.resolve('stopped');
    return new Promise((resolve) => {
      const start = performance.now();
      let n = 0;
      const state: { timer?: NodeJS.Timeout; finish(r: 'done' | 'stopped'): void } = {
        finish: (r) => {
          if (state.timer) clearTimeout(state.timer);
          if (this.playing === state) this.playing = undefined;
          resolve(r);
        },
      };
      this.playing = state;
      const tick = () => {
        if (this.playing !== state) return;
        // Drift correction: send every frame that is due by now (at most a few after a stall).
        const due = Math.floor((performance.now() - start) / FRAME_MS) + 1;
        let burst = 0;
        while (n < due && burst < 5) {
          const f = src.read();
          if (!f) return state.finish('done');
          this.send(f);
          n++;
          burst++;
        }
        if (n < due) n = due; // dropped: long stall, don't flood
        state.timer = setTimeout(tick, Math.max(1, start + n * FRAME_MS - performance.now()));
      };
      tick();
    });
  }

  stop(): void {
    this.playing?.finish('stopped');
  }

  async sendDtmf(digit: string, durationMs = 160): Promise<void> {
    const event = DTMF_EVENTS.indexOf(digit.toUpperCase());
    if (event < 0) throw new Error(`not a DTMF digit: ${digit}`);
    const pt = this.tePt ?? TE_PT;
    const ts = this.rtpTs;
    const total = Math.max(40, Math.round(durationMs / FRAME_MS) * FRAME_MS);
    const steps = total / FRAME_MS;
    const packet = (dur: number, endBit: boolean) => {
      const p = Buffer.alloc(4);
      p[0] = event;
      p[1] = (endBit ? 0x80 : 0) | 10;
      p.writeUInt16BE(Math.min(0xffff, dur), 2);
      return p;
    };
    for (let i = 1; i <= steps; i++) {
      this.sendPacket(pt, ts, packet(i * FRAME_SAMPLES, false), i === 1);
      await sleep(FRAME_MS);
    }
    for (let i = 0; i < 3; i++) this.sendPacket(pt, ts, packet(steps * FRAME_SAMPLES, true), false);
    this.rtpTs = (this.rtpTs + steps * FRAME_SAMPLES) >>> 0;
  }

  stats(): { packetsIn: number; packetsOut: number; bytesIn: number; bytesOut: number } {
    return { ...this.counters };
  }

  close(): void {
    if (this.closed) return;
    this.stop();
    this.closed = true;
    this.frameCbs.clear();
    this.dtmfCbs.clear();
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

function padFrame(f: Frame): Frame {
  const out = new Int16Array(FRAME_SAMPLES);
  out.set(f.subarray(0, FRAME_SAMPLES));
  return out;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
