/**
 * Per-call capture on demand (docs/security.md § Per-call capture): ONE pcap with a call's SIP messages as the SBC
 * application sees them (taken from the drachtio wire protocol between srf and drachtio-server / the engine, both
 * directions) and its media (a live rtpengine fork, fork.ts, received on a UDP socket of the SBC).
 *
 * - SIP: every message on the srf connection is kept in a small ring per SIP Call-ID (≤ 64 messages, ≤ 4,000
 *   Call-IDs, dropped at call end), so a capture started mid-call still contains the INVITE. Packets carry the
 *   network source of received messages (drachtio gives it); messages the app sends carry the SBC's SIP address
 *   as source and `0.0.0.0:5060` as destination (the engine picks the real next hop).
 * - Media: both parties' RTP as rtpengine's fork sends it (source = rtpengine, destination = the capture socket).
 * - Format: pcap, LINKTYPE_RAW (101), synthetic IPv4/UDP headers (IPv6 endpoints are written as 0.0.0.0).
 * - Storage: `<dir>/<callId>.pcap` on the SBC host, written when the capture stops (action stop, or the call ends);
 *   fetched with `GET /v1/captures/:callId` (JSON with the file base64-encoded) on the private control API.
 */
import dgram from 'node:dgram';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import type Srf from 'drachtio-srf';
import type { Logger } from '../../core/logging.js';
import type { MediaSession } from '../media/rtpengine.js';
import { forkMedia, type MediaFork } from '../li/fork.js';

export interface Packet { ts: number; src: [string, number]; dst: [string, number]; data: Buffer }

// ------------------------------------------------------------------------------------------ pcap

const ipv4 = (a: string): number[] => {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  return m ? [1, 2, 3, 4].map((i) => Number(m[i]) & 255) : [0, 0, 0, 0];
};

function ipChecksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A pcap file (LINKTYPE_RAW) of UDP packets. */
export function writePcap(packets: Packet[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65_535, 16);
  header.writeUInt32LE(101, 20);
  const parts: Buffer[] = [header];
  for (const p of [...packets].sort((a, b) => a.ts - b.ts)) {
    const data = p.data.subarray(0, 65_000);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(28 + data.length, 2);
    ip[8] = 64;
    ip[9] = 17;
    Buffer.from(ipv4(p.src[0])).copy(ip, 12);
    Buffer.from(ipv4(p.dst[0])).copy(ip, 16);
    ip.writeUInt16BE(ipChecksum(ip), 10);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(p.src[1] & 0xffff, 0);
    udp.writeUInt16BE(p.dst[1] & 0xffff, 2);
    udp.writeUInt16BE(8 + data.length, 4);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(p.ts / 1000), 0);
    rec.writeUInt32LE(Math.floor((p.ts % 1000) * 1000), 4);
    rec.writeUInt32LE(28 + data.length, 8);
    rec.writeUInt32LE(28 + data.length, 12);
    parts.push(rec, ip, udp, data);
  }
  return Buffer.concat(parts);
}

/** Reads a pcap written by writePcap (or any LINKTYPE_RAW/IPv4 UDP pcap): the UDP payloads with addresses. */
export function readPcap(buf: Buffer): Packet[] {
  const out: Packet[] = [];
  if (buf.length < 24 || buf.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('not a little-endian pcap');
  const link = buf.readUInt32LE(20);
  let off = 24;
  while (off + 16 <= buf.length) {
    const ts = buf.readUInt32LE(off) * 1000 + Math.floor(buf.readUInt32LE(off + 4) / 1000);
    const len = buf.readUInt32LE(off + 8);
    let p = off + 16;
    if (link === 1) p += 14;
    const ihl = (buf[p]! & 0x0f) * 4;
    const ip = (o: number) => [0, 1, 2, 3].map((i) => buf[p + o + i]).join('.');
    const udp = p + ihl;
    out.push({ ts, src: [ip(12), buf.readUInt16BE(udp)], dst: [ip(16), buf.readUInt16BE(udp + 2)], data: buf.subarray(udp + 8, off + 16 + len) });
    off += 16 + len;
  }
  return out;
}

// --------------------------------------------------------------------------------------- SIP tap

const callIdOf = (msg: string): string | undefined => /^(?:Call-ID|i)\s*:\s*(\S+)/im.exec(msg)?.[1];

interface WireProtocol { on(e: 'msg', cb: (socket: unknown, msg: string) => void): void; send(socket: unknown, msg: string): unknown }

/** Keeps the recent SIP messages of every Call-ID seen on the srf connection. */
export class SipTap {
  private readonly recent = new Map<string, Packet[]>();
  private readonly listeners = new Map<string, Set<(p: Packet) => void>>();

  constructor(private readonly local: [string, number], private readonly o: { perCall?: number; calls?: number } = {}) {}

  /** Taps srf's drachtio agent (incoming: the wire protocol's `msg` events; outgoing: its `send`). */
  install(srf: Srf): boolean {
    const wp = (srf as unknown as { _app?: { client?: { wp?: WireProtocol } } })._app?.client?.wp;
    if (!wp) return false;
    wp.on('msg', (_s, msg) => {
      const lead = msg.slice(0, msg.indexOf('\r\n'));
      const t = lead.split('|');
      if (t[1] !== 'sip') return;
      const body = msg.slice(lead.length + 2);
      // network messages: sip|network|len|proto|address|port|time|txn|dialog[|recvIp|recvPort]
      const src: [string, number] = t[2] === 'network' ? [t[5] ?? '0.0.0.0', Number(t[6] ?? 0)] : ['127.0.0.1', 0];
      const dst: [string, number] = t[10] ? [t[10], Number(t[11] ?? 5060)] : this.local;
      this.add(body, src, dst);
    });
    const send = wp.send.bind(wp);
    wp.send = (socket: unknown, msg: string) => {
      if (msg.startsWith('sip|') || msg.startsWith('proxy|')) {
        const i = msg.indexOf('\r\n');
        if (i > 0) this.add(msg.slice(i + 2), this.local, ['0.0.0.0', 5060]);
      }
      return send(socket, msg);
    };
    return true;
  }

  add(text: string, src: [string, number], dst: [string, number]): void {
    const id = callIdOf(text);
    if (!id) return;
    const p: Packet = { ts: Date.now(), src, dst, data: Buffer.from(text, 'utf8') };
    let list = this.recent.get(id);
    if (!list) {
      list = [];
      this.recent.set(id, list);
      if (this.recent.size > (this.o.calls ?? 4000)) this.recent.delete(this.recent.keys().next().value!);
    }
    list.push(p);
    if (list.length > (this.o.perCall ?? 64)) list.shift();
    for (const cb of this.listeners.get(id) ?? []) cb(p);
  }

  messages(callId: string): Packet[] {
    return [...(this.recent.get(callId) ?? [])];
  }

  /** Live messages of these Call-IDs; returns the unsubscribe function. */
  watch(callIds: string[], cb: (p: Packet) => void): () => void {
    for (const id of callIds) {
      const set = this.listeners.get(id) ?? new Set();
      set.add(cb);
      this.listeners.set(id, set);
    }
    return () => {
      for (const id of callIds) {
        this.listeners.get(id)?.delete(cb);
        if (this.listeners.get(id)?.size === 0) this.listeners.delete(id);
      }
    };
  }

  forget(callId: string): void {
    if (!this.listeners.has(callId)) this.recent.delete(callId);
  }
}

// -------------------------------------------------------------------------------------- captures

export interface CapturableCall {
  tenantId: string;
  media: MediaSession;
  /** SIP Call-IDs of the call's legs. */
  sipCallIds(): string[];
}

interface Running { packets: Packet[]; unwatch: () => void; socket: dgram.Socket; fork?: MediaFork; done: Promise<string> ; finish(): Promise<string> }

export class CaptureManager {
  private readonly running = new Map<string, Running>();

  constructor(private readonly o: { tap: SipTap; dir: string; host: string; log: Logger; maxPackets?: number }) {
    mkdirSync(o.dir, { recursive: true });
  }

  isRunning(callId: string): boolean {
    return this.running.has(callId);
  }

  file(callId: string): string {
    return path.join(this.o.dir, `${callId.replace(/[^A-Za-z0-9_-]/g, '_')}.pcap`);
  }

  async start(callId: string, call: CapturableCall): Promise<void> {
    if (this.running.has(callId)) return;
    const ids = call.sipCallIds();
    const packets: Packet[] = ids.flatMap((id) => this.o.tap.messages(id));
    const max = this.o.maxPackets ?? 200_000;
    const push = (p: Packet) => {
      if (packets.length < max) packets.push(p);
    };
    const unwatch = this.o.tap.watch(ids, push);
    const socket = dgram.createSocket(this.o.host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, this.o.host, () => resolve());
    });
    const port = socket.address().port;
    // rtpengine sends caller → port, callee → port+2: one socket per port.
    const second = dgram.createSocket(this.o.host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => {
      second.once('error', () => resolve());
      second.bind(port + 2, this.o.host, () => resolve());
    });
    const onRtp = (dstPort: number) => (data: Buffer, rinfo: dgram.RemoteInfo) => push({ ts: Date.now(), src: [rinfo.address, rinfo.port], dst: [this.o.host, dstPort], data });
    socket.on('message', onRtp(port));
    second.on('message', onRtp(port + 2));
    let fork: MediaFork | undefined;
    try {
      fork = await forkMedia(call.media, this.o.host, port);
    } catch (err) {
      this.o.log.warn({ err, callId }, 'capture: media fork failed (SIP only)');
    }
    let finished: Promise<string> | undefined;
    const finish = () => {
      finished ??= (async () => {
        unwatch();
        await fork?.stop();
        socket.close();
        try {
          second.close();
        } catch {
          // never bound
        }
        const file = this.file(callId);
        writeFileSync(file, writePcap(packets));
        this.running.delete(callId);
        this.o.log.info({ callId, packets: packets.length, file }, 'capture written');
        return file;
      })();
      return finished;
    };
    this.running.set(callId, { packets, unwatch, socket, ...(fork ? { fork } : {}), done: Promise.resolve(''), finish });
    this.o.log.info({ callId, sipCallIds: ids, mediaPort: port }, 'capture started');
  }

  async stop(callId: string): Promise<string | undefined> {
    return this.running.get(callId)?.finish();
  }

  /** The written capture (after stop / call end). */
  read(callId: string): { pcap: Buffer; sha256: string } | undefined {
    const f = this.file(callId);
    if (!existsSync(f)) return undefined;
    const pcap = readFileSync(f);
    return { pcap, sha256: createHash('sha256').update(pcap).digest('hex') };
  }

  async close(): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.stop(id)));
  }
}
