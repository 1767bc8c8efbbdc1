/**
 * G.711 µ-law / A-law (ITU-T G.711, the classic Sun reference algorithms): per-sample codecs and table-driven
 * buffer codecs for the 20 ms frame path. The one implementation of the platform (SBC voice media, media services,
 * media agent recordings, tests).
 */

/** Linear 16-bit → µ-law byte (input clipped to 16 bits and rounded). */
export function linearToMulaw(sample: number): number {
  const BIAS = 0x84;
  const CLIP = 32635;
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (sign) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; exp--, mask >>= 1);
  const mant = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}

/** Linear 16-bit → A-law byte (input clipped to 16 bits and rounded). */
export function linearToAlaw(sample: number): number {
  const segEnd = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
  let pcm = Math.max(-32768, Math.min(32767, Math.round(sample))) >> 3;
  let mask: number;
  if (pcm >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  let seg = 0;
  while (seg < 8 && pcm > segEnd[seg]!) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  let aval = seg << 4;
  aval |= seg < 2 ? (pcm >> 1) & 0xf : (pcm >> seg) & 0xf;
  return aval ^ mask;
}

function mulawToLinear(u: number): number {
  u = ~u & 0xff;
  const sign = u & 0x80;
  const exp = (u >> 4) & 0x07;
  const mant = u & 0x0f;
  let s = ((mant << 3) + 0x84) << exp;
  s -= 0x84;
  return sign ? -s : s;
}

function alawToLinear(a: number): number {
  a ^= 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

const ULAW_DEC = new Int16Array(256);
const ALAW_DEC = new Int16Array(256);
for (let i = 0; i < 256; i++) {
  ULAW_DEC[i] = mulawToLinear(i);
  ALAW_DEC[i] = alawToLinear(i);
}
/** Encoders indexed by (sample >> 2) + 8192 (14-bit precision is all G.711 keeps). */
const ULAW_ENC = new Uint8Array(16384);
const ALAW_ENC = new Uint8Array(16384);
for (let i = 0; i < 16384; i++) {
  const s = (i - 8192) << 2;
  ULAW_ENC[i] = linearToMulaw(s);
  ALAW_ENC[i] = linearToAlaw(s);
}

/** µ-law byte → linear 16-bit. */
export const decodeMulaw = (b: number): number => ULAW_DEC[b & 0xff]!;
/** A-law byte → linear 16-bit. */
export const decodeAlaw = (b: number): number => ALAW_DEC[b & 0xff]!;

export type G711Law = 'pcmu' | 'pcma';

export function encodeG711(pcm: Int16Array, law: G711Law): Buffer {
  const table = law === 'pcmu' ? ULAW_ENC : ALAW_ENC;
  const out = Buffer.allocUnsafe(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = table[(pcm[i]! >> 2) + 8192]!;
  return out;
}

export function decodeG711(payload: Uint8Array, law: G711Law): Int16Array {
  const table = law === 'pcmu' ? ULAW_DEC : ALAW_DEC;
  const out = new Int16Array(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = table[payload[i]!]!;
  return out;
}
