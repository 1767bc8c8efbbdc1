/**
 * pcap → WAV for rtpengine's userspace recordings (`--recording-method=pcap`; FACTS §4.5). rtpengine writes
 * the ingress packets of every party into one pcap; this reads it (classic pcap, µs or ns, either byte
 * order; link types Ethernet, raw IP, Linux SLL, BSD loopback; IPv4 and IPv6; UDP; RTP v2), decodes G.711
 * (PCMU PT 0, PCMA PT 8) and lays each party's audio on its own channel at its RTP timestamp (8 kHz, 16 bit).
 *
 * A party is a source transport address (ip:port); SSRC changes inside a party (re-INVITE, transfer) re-anchor
 * on arrival time, as do timestamp jumps that disagree with the wall clock by more than `maxDriftSeconds`.
 * Parties are ordered by their first packet; in `stereo` mode party 0 → left, party 1 → right (more parties
 * are mixed into channel index % 2); `mono` mixes everything with saturation. Other payload types (DTMF
 * telephone-event, comfort noise, transcoded codecs) are skipped and counted.
 */
import { decodeG711 } from '../../core/audio/g711.js';
import { writeWavHeader } from '../../core/audio/wav.js';

export type ChannelMode = 'stereo' | 'mono';

export interface PartyStats {
  /** `ip:port` the party's media came from. */
  source: string;
  ssrcs: number[];
  packets: number;
  codec: 'PCMU' | 'PCMA' | 'mixed';
  firstPacketAt: number;
  channel: number;
}

export interface ConversionResult {
  wav: Buffer;
  channels: number;
  sampleRate: 8000;
  durationSeconds: number;
  /** Epoch ms of the first RTP packet (0 when there was none). */
  startedAt: number;
  parties: PartyStats[];
  packets: { total: number; rtp: number; skipped: number };
}

export interface ConvertOptions {
  mode?: ChannelMode;
  /** Longest output accepted (guards against a corrupt timestamp blowing up memory). Default 4 h. */
  maxSeconds?: number;
  maxDriftSeconds?: number;
  /** Preferred order of party sources (e.g. caller first, from the SDPs in rtpengine's metadata file). */
  partyOrder?: string[];
  /**
   * Paused stretches (epoch ms, `to` absent = until the end): packets captured inside are written as silence, so
   * the timeline stays intact (recording pause/resume, docs/recordings.md § Pause).
   */
  muted?: Array<{ from: number; to?: number }>;
}

/** `paused=<from>-<to>,<from>-` from the recording metadata → intervals (epoch ms); malformed parts are ignored. */
export function parseMutedIntervals(v: string | undefined): Array<{ from: number; to?: number }> {
  if (!v) return [];
  const out: Array<{ from: number; to?: number }> = [];
  for (const part of v.split(',')) {
    const m = /^(\d+)-(\d*)$/.exec(part.trim());
    if (m) out.push({ from: Number(m[1]), ...(m[2] ? { to: Number(m[2]) } : {}) });
  }
  return out;
}

const RATE = 8000;

// ---- G.711 and WAV: runtime/core/audio (re-exported for the callers of this module) --------------------

export { decodeAlaw, decodeMulaw } from '../../core/audio/g711.js';
export { readWav, writeWavHeader } from '../../core/audio/wav.js';

// ---- pcap ---------------------------------------------------------------------------------------------

export interface UdpPacket {
  /** Epoch ms. */
  time: number;
  src: string;
  dst: string;
  payload: Buffer;
}

/** Every UDP datagram of a classic pcap file. Truncated trailing records (a file still being written) are ignored. */
export function* readPcapUdp(buf: Buffer): Generator<UdpPacket> {
  if (buf.length < 24) throw new Error('not a pcap file (too short)');
  const magicLE = buf.readUInt32LE(0);
  let le: boolean;
  let nanos: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    le = true;
    nanos = magicLE === 0xa1b23c4d;
  } else {
    const magicBE = buf.readUInt32BE(0);
    if (magicBE !== 0xa1b2c3d4 && magicBE !== 0xa1b23c4d) throw new Error(`not a classic pcap file (magic ${magicLE.toString(16)}); pcapng is not supported`);
    le = false;
    nanos = magicBE === 0xa1b23c4d;
  }
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20) & 0x0fffffff;
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    off += 16;
    if (off + incl > buf.length) break;
    const frame = buf.subarray(off, off + incl);
    off += incl;
    const ip = linkPayload(frame, linkType, le);
    if (!ip) continue;
    const udp = ipUdp(ip);
    if (!udp) continue;
    yield { time: sec * 1000 + (nanos ? frac / 1e6 : frac / 1e3), ...udp };
  }
}

function linkPayload(f: Buffer, linkType: number, le: boolean): Buffer | undefined {
  switch (linkType) {
    case 1: {
      // Ethernet, with up to two VLAN tags
      let o = 12;
      let type = f.length >= 14 ? f.readUInt16BE(o) : 0;
      while ((type === 0x8100 || type === 0x88a8) && f.length >= o + 6) {
        o += 4;
        type = f.readUInt16BE(o);
      }
      return type === 0x0800 || type === 0x86dd ? f.subarray(o + 2) : undefined;
    }
    case 101: // LINKTYPE_RAW
    case 228: // IPv4
    case 229: // IPv6
      return f;
    case 113: // Linux cooked (SLL)
      return f.length >= 16 && [0x0800, 0x86dd].includes(f.readUInt16BE(14)) ? f.subarray(16) : undefined;
    case 0: {
      // BSD loopback: 4-byte address family in host order
      if (f.length < 4) return undefined;
      const fam = le ? f.readUInt32LE(0) : f.readUInt32BE(0);
      return fam === 2 || fam === 24 || fam === 28 || fam === 30 ? f.subarray(4) : undefined;
    }
    default:
      return undefined;
  }
}

function ipUdp(ip: Buffer): { src: string; dst: string; payload: Buffer } | undefined {
  if (ip.length < 1) return undefined;
  const version = ip[0]! >> 4;
  let o: number;
  let proto: number;
  let src: string;
  let dst: string;
  if (version === 4) {
    if (ip.length < 20) return undefined;
    const ihl = (ip[0]! & 0x0f) * 4;
    const fragOffset = ip.readUInt16BE(6) & 0x1fff;
    const moreFrags = (ip[6]! & 0x20) !== 0;
    if (fragOffset !== 0 || moreFrags) return undefined; // RTP is never fragmented; skip rather than reassemble
    proto = ip[9]!;
    src = `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
    dst = `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`;
    o = ihl;
  } else if (version === 6) {
    if (ip.length < 40) return undefined;
    proto = ip[6]!;
    src = `[${v6(ip.subarray(8, 24))}]`;
    dst = `[${v6(ip.subarray(24, 40))}]`;
    o = 40;
    // hop-by-hop, routing, destination options: skip; fragments: give up
    while ((proto === 0 || proto === 43 || proto === 60) && ip.length >= o + 8) {
      proto = ip[o]!;
      o += (ip[o + 1]! + 1) * 8;
    }
  } else return undefined;
  if (proto !== 17 || ip.length < o + 8) return undefined;
  const sport = ip.readUInt16BE(o);
  const dport = ip.readUInt16BE(o + 2);
  const len = ip.readUInt16BE(o + 4);
  const end = Math.min(ip.length, o + (len >= 8 ? len : ip.length - o));
  return { src: `${src}:${sport}`, dst: `${dst}:${dport}`, payload: ip.subarray(o + 8, end) };
}

function v6(b: Buffer): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(i).toString(16));
  return parts.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

// ---- RTP ----------------------------------------------------------------------------------------------

export interface RtpPacket {
  pt: number;
  seq: number;
  ts: number;
  ssrc: number;
  payload: Buffer;
}

export function parseRtp(p: Buffer): RtpPacket | undefined {
  if (p.length < 12 || p[0]! >> 6 !== 2) return undefined;
  const pt = p[1]! & 0x7f;
  if (pt >= 72 && pt <= 76) return undefined; // RTCP (SR/RR/SDES/BYE/APP) on a muxed port
  const cc = p[0]! & 0x0f;
  let o = 12 + cc * 4;
  if (p[0]! & 0x10) {
    if (p.length < o + 4) return undefined;
    o += 4 + p.readUInt16BE(o + 2) * 4;
  }
  let end = p.length;
  if (p[0]! & 0x20) end -= p[p.length - 1]!;
  if (o > end) return undefined;
  return { pt, seq: p.readUInt16BE(2), ts: p.readUInt32BE(4), ssrc: p.readUInt32BE(8), payload: p.subarray(o, end) };
}

// ---- conversion ---------------------------------------------------------------------------------------

interface Chunk {
  pos: number;
  samples: Int16Array;
}

interface Party {
  stats: PartyStats;
  chunks: Chunk[];
  ssrc?: number;
  anchorPos: number;
  anchorTs: number;
  lastExtTs: number;
  codecs: Set<number>;
}

export function pcapToWav(pcap: Buffer, opts: ConvertOptions = {}): ConversionResult {
  const mode = opts.mode ?? 'stereo';
  const maxSamples = (opts.maxSeconds ?? 4 * 3600) * RATE;
  const maxDrift = (opts.maxDriftSeconds ?? 2) * RATE;
  const parties = new Map<string, Party>();
  let t0 = -1;
  let total = 0;
  let rtpCount = 0;
  let skipped = 0;

  for (const pkt of readPcapUdp(pcap)) {
    total++;
    const rtp = parseRtp(pkt.payload);
    if (!rtp || (rtp.pt !== 0 && rtp.pt !== 8) || rtp.payload.length === 0) {
      skipped++;
      continue;
    }
    rtpCount++;
    if (t0 < 0) t0 = pkt.time;
    const wallPos = Math.max(0, Math.round(((pkt.time - t0) * RATE) / 1000));
    let party = parties.get(pkt.src);
    if (!party) {
      party = {
        stats: { source: pkt.src, ssrcs: [], packets: 0, codec: rtp.pt === 0 ? 'PCMU' : 'PCMA', firstPacketAt: pkt.time, channel: 0 },
        chunks: [],
        anchorPos: wallPos,
        anchorTs: rtp.ts,
        lastExtTs: rtp.ts,
        codecs: new Set(),
      };
      parties.set(pkt.src, party);
    }
    let pos: number;
    if (party.ssrc !== rtp.ssrc) {
      party.ssrc = rtp.ssrc;
      if (!party.stats.ssrcs.includes(rtp.ssrc)) party.stats.ssrcs.push(rtp.ssrc);
      party.anchorPos = wallPos;
      party.anchorTs = rtp.ts;
      party.lastExtTs = rtp.ts;
      pos = wallPos;
    } else {
      // unwrap the 32-bit timestamp relative to the last one seen (handles reordering both ways)
      const delta = ((rtp.ts - (party.lastExtTs >>> 0) + 0x80000000) >>> 0) - 0x80000000;
      const ext = party.lastExtTs + delta;
      if (delta > 0) party.lastExtTs = ext;
      pos = party.anchorPos + (ext - party.anchorTs);
      if (Math.abs(pos - wallPos) > maxDrift) {
        party.anchorPos = wallPos;
        party.anchorTs = ext;
        pos = wallPos;
      }
    }
    if (pos < 0 || pos + rtp.payload.length > maxSamples) {
      skipped++;
      continue;
    }
    party.codecs.add(rtp.pt);
    party.stats.packets++;
    const muted = opts.muted?.some((m) => pkt.time >= m.from && (m.to === undefined || pkt.time < m.to)) ?? false; // pause
    const samples = muted ? new Int16Array(rtp.payload.length) : decodeG711(rtp.payload, rtp.pt === 0 ? 'pcmu' : 'pcma');
    party.chunks.push({ pos, samples });
  }

  const order = [...parties.values()].sort((a, b) => {
    const ia = opts.partyOrder?.indexOf(a.stats.source) ?? -1;
    const ib = opts.partyOrder?.indexOf(b.stats.source) ?? -1;
    if (ia >= 0 || ib >= 0) return (ia < 0 ? Infinity : ia) - (ib < 0 ? Infinity : ib);
    return a.stats.firstPacketAt - b.stats.firstPacketAt;
  });
  const channels = mode === 'mono' ? 1 : 2;
  let length = 0;
  for (const p of order) for (const c of p.chunks) length = Math.max(length, c.pos + c.samples.length);

  // Each party is first laid out on its own track (a duplicate packet overwrites rather than doubles), then
  // summed into its channel in 32 bits, so mixing saturates once at the end.
  const acc = new Int32Array(length * channels);
  const track = new Int16Array(length);
  order.forEach((p, idx) => {
    const ch = mode === 'mono' ? 0 : idx % 2;
    p.stats.channel = ch;
    if (p.codecs.size > 1) p.stats.codec = 'mixed';
    track.fill(0);
    for (const c of p.chunks) track.set(c.samples, c.pos);
    for (let i = 0; i < length; i++) acc[i * channels + ch] = acc[i * channels + ch]! + track[i]!;
  });

  const wav = Buffer.alloc(44 + acc.length * 2);
  writeWavHeader(wav, channels, acc.length * 2);
  for (let i = 0; i < acc.length; i++) wav.writeInt16LE(Math.max(-32768, Math.min(32767, acc[i]!)), 44 + i * 2);
  return {
    wav,
    channels,
    sampleRate: RATE,
    durationSeconds: Math.round((length / RATE) * 1000) / 1000,
    startedAt: t0 < 0 ? 0 : Math.round(t0),
    parties: order.map((p) => p.stats),
    packets: { total, rtp: rtpCount, skipped },
  };
}
