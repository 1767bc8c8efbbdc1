/**
 * Greeting WAVs: a tenant uploads any PCM WAV (8/16-bit, any rate, any channel count); the platform stores it as
 * what the SBC plays (8 kHz mono 16-bit PCM, docs/voicemail.md). Pure functions, no I/O.
 */
import { AppError } from '../errors.js';

export const GREETING_RATE = 8000;

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Number of sample frames. */
  frames: number;
  durationMs: number;
  dataOffset: number;
  dataBytes: number;
}

const bad = (why: string) => AppError.invalid(`greeting must be a PCM WAV file (8 or 16-bit; converted to 8 kHz mono): ${why}`, '/body');

/** Reads the fmt and data chunks of a RIFF/WAVE PCM buffer (throws INVALID_PAYLOAD with the reason). */
export function wavInfo(buf: Buffer): WavInfo {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw bad('not a RIFF/WAVE file');
  let off = 12;
  let fmt: { tag: number; channels: number; rate: number; bits: number } | undefined;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const bodyStart = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || bodyStart + 16 > buf.length) throw bad('fmt chunk too short');
      let tag = buf.readUInt16LE(bodyStart);
      if (tag === 0xfffe && size >= 26) tag = buf.readUInt16LE(bodyStart + 24);
      fmt = { tag, channels: buf.readUInt16LE(bodyStart + 2), rate: buf.readUInt32LE(bodyStart + 4), bits: buf.readUInt16LE(bodyStart + 14) };
    } else if (id === 'data') {
      if (!fmt) throw bad('data before fmt');
      if (fmt.tag !== 1) throw bad(`format tag ${fmt.tag} is not PCM`);
      if (fmt.bits !== 16 && fmt.bits !== 8) throw bad(`${fmt.bits}-bit samples`);
      if (fmt.channels < 1 || fmt.channels > 8) throw bad(`${fmt.channels} channels`);
      if (fmt.rate < 4000 || fmt.rate > 192_000) throw bad(`sample rate ${fmt.rate}`);
      // A streaming writer may leave the size at 0 or 0xffffffff: take what is there.
      const dataBytes = Math.min(size === 0 || size === 0xffffffff ? buf.length - bodyStart : size, buf.length - bodyStart);
      const frameBytes = (fmt.bits / 8) * fmt.channels;
      const frames = Math.floor(dataBytes / frameBytes);
      return { sampleRate: fmt.rate, channels: fmt.channels, bitsPerSample: fmt.bits, frames, durationMs: Math.round((frames / fmt.rate) * 1000), dataOffset: bodyStart, dataBytes: frames * frameBytes };
    }
    off = bodyStart + size + (size & 1);
  }
  throw bad('no data chunk');
}

/** A 44-byte canonical header + 16-bit mono samples. */
export function encodeWav(samples: Int16Array, rate = GREETING_RATE): Buffer {
  const buf = Buffer.alloc(44 + samples.length * 2);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + samples.length * 2, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; i++) buf.writeInt16LE(samples[i]!, 44 + i * 2);
  return buf;
}

/** Any PCM WAV → 8 kHz mono 16-bit (channels averaged, linear interpolation). Already-conforming input is kept as is. */
export function toGreetingWav(buf: Buffer): { wav: Buffer; durationMs: number; source: Pick<WavInfo, 'sampleRate' | 'channels' | 'bitsPerSample'> } {
  const w = wavInfo(buf);
  const source = { sampleRate: w.sampleRate, channels: w.channels, bitsPerSample: w.bitsPerSample };
  if (w.frames === 0) throw bad('no audio');
  if (w.sampleRate === GREETING_RATE && w.channels === 1 && w.bitsPerSample === 16 && w.dataOffset === 44 && buf.length === 44 + w.dataBytes) return { wav: buf, durationMs: w.durationMs, source };
  const mono = new Float32Array(w.frames);
  const bytes = w.bitsPerSample / 8;
  for (let f = 0; f < w.frames; f++) {
    let sum = 0;
    for (let c = 0; c < w.channels; c++) {
      const at = w.dataOffset + (f * w.channels + c) * bytes;
      sum += bytes === 2 ? buf.readInt16LE(at) : (buf.readUInt8(at) - 128) * 256;
    }
    mono[f] = sum / w.channels;
  }
  const outLen = Math.max(1, Math.round((w.frames * GREETING_RATE) / w.sampleRate));
  const out = new Int16Array(outLen);
  const step = w.sampleRate / GREETING_RATE;
  for (let i = 0; i < outLen; i++) {
    const x = i * step;
    const i0 = Math.min(w.frames - 1, Math.floor(x));
    const i1 = Math.min(w.frames - 1, i0 + 1);
    const v = mono[i0]! + (mono[i1]! - mono[i0]!) * (x - i0);
    out[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
  }
  return { wav: encodeWav(out), durationMs: Math.round((outLen / GREETING_RATE) * 1000), source };
}
