/**
 * Test helpers for recordings: G.711 encoders and tone generation (runtime/core/audio's, re-exported), RTP packets,
 * a pcap writer, and tone detection (Goertzel + zero crossings).
 */
import { linearToAlaw, linearToMulaw } from '../../../runtime/core/audio/g711.js';
import { sine } from '../../../runtime/core/audio/tone.js';

export { linearToAlaw, linearToMulaw } from '../../../runtime/core/audio/g711.js';

/** `count` samples of a sine at `hz`, 8 kHz, starting at sample `from` (phase-continuous across calls). */
export function tone(hz: number, from: number, count: number, amplitude = 8000): number[] {
  return sine(hz, from, count, amplitude);
}

export function rtpPacket(o: { pt: number; seq: number; ts: number; ssrc: number; payload: Buffer; marker?: boolean }): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = (o.marker ? 0x80 : 0) | o.pt;
  h.writeUInt16BE(o.seq & 0xffff, 2);
  h.writeUInt32BE(o.ts >>> 0, 4);
  h.writeUInt32BE(o.ssrc >>> 0, 8);
  return Buffer.concat([h, o.payload]);
}

/** 20 ms of a tone as a G.711 payload (160 bytes). */
export function tonePayload(hz: number, frame: number, law: 'mulaw' | 'alaw' = 'mulaw'): Buffer {
  const enc = law === 'mulaw' ? linearToMulaw : linearToAlaw;
  return Buffer.from(tone(hz, frame * 160, 160).map(enc));
}

export interface PcapRecord {
  /** Epoch ms. */
  time: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  payload: Buffer;
}

function ipBytes(ip: string): Buffer {
  if (ip.includes(':')) {
    const [head, tail] = ip.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
    const b = Buffer.alloc(16);
    groups.forEach((g, i) => b.writeUInt16BE(parseInt(g || '0', 16), i * 2));
    return b;
  }
  return Buffer.from(ip.split('.').map(Number));
}

/** A classic pcap (µs, little endian) with UDP over IPv4/IPv6, Ethernet (1) or raw IP (101) framing. */
export function writePcap(records: PcapRecord[], linkType: 1 | 101 = 1): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(linkType, 20);
  const parts = [head];
  for (const r of records) {
    const v6 = r.src.includes(':');
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(r.sport, 0);
    udp.writeUInt16BE(r.dport, 2);
    udp.writeUInt16BE(8 + r.payload.length, 4);
    let ip: Buffer;
    if (v6) {
      ip = Buffer.alloc(40);
      ip[0] = 0x60;
      ip.writeUInt16BE(8 + r.payload.length, 4);
      ip[6] = 17;
      ip[7] = 64;
      ipBytes(r.src).copy(ip, 8);
      ipBytes(r.dst).copy(ip, 24);
    } else {
      ip = Buffer.alloc(20);
      ip[0] = 0x45;
      ip.writeUInt16BE(28 + r.payload.length, 2);
      ip[8] = 64;
      ip[9] = 17;
      ipBytes(r.src).copy(ip, 12);
      ipBytes(r.dst).copy(ip, 16);
    }
    let frame = Buffer.concat([ip, udp, r.payload]);
    if (linkType === 1) {
      const eth = Buffer.alloc(14);
      eth.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12);
      frame = Buffer.concat([eth, frame]);
    }
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(r.time / 1000), 0);
    rec.writeUInt32LE(Math.round((r.time % 1000) * 1000), 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, frame);
  }
  return Buffer.concat(parts);
}

/** Relative power of `hz` in the samples (Goertzel), normalised by the total energy. */
export function goertzel(samples: ArrayLike<number>, hz: number, rate = 8000): number {
  const k = (2 * Math.PI * hz) / rate;
  const coeff = 2 * Math.cos(k);
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (let i = 0; i < samples.length; i++) {
    const s0 = samples[i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
    energy += samples[i]! * samples[i]!;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return energy === 0 ? 0 : power / (energy * samples.length / 2);
}

/** Frequency estimate from zero crossings (sine only). */
export function zeroCrossingHz(samples: ArrayLike<number>, rate = 8000): number {
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) if ((samples[i - 1]! < 0) !== (samples[i]! < 0)) crossings++;
  return (crossings / 2) * (rate / samples.length);
}

/** RMS of a slice. */
export function rms(samples: ArrayLike<number>, from = 0, to = samples.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += samples[i]! * samples[i]!;
  return Math.sqrt(sum / Math.max(1, to - from));
}
