/**
 * WAV files: the one RIFF/WAVE reader and writer of the platform. Reads PCM 8/16/24/32-bit, IEEE float 32-bit and
 * G.711 A-law/µ-law WAVs (any rate, any channel count; WAVE_FORMAT_EXTENSIBLE), writes 16-bit PCM, and resamples to
 * the 8 kHz mono every player of the platform uses. Pure functions, no I/O.
 */
import { decodeAlaw, decodeMulaw } from './g711.js';

/** The rate of everything the platform plays and records (8 kHz, narrowband telephony). */
export const TELEPHONY_RATE = 8000;

/** A buffer that is not a readable WAV; the message says why. */
export class WavError extends Error {}

export interface WavFmt {
  /** Format tag (1 PCM, 3 IEEE float, 6 A-law, 7 µ-law; the sub-format of WAVE_FORMAT_EXTENSIBLE). */
  tag: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
}

export interface WavChunks {
  /** The fmt chunk seen before the first data chunk, if any. */
  fmt?: WavFmt;
  /** The first data chunk: offset in the buffer and length (a streaming writer's 0 / 0xffffffff size = the rest). */
  data?: { offset: number; bytes: number };
}

/** Walks the chunks of a RIFF/WAVE buffer up to the first data chunk (throws WavError on a malformed header). */
export function readWavChunks(buf: Buffer): WavChunks {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new WavError('not a RIFF/WAVE file');
  let off = 12;
  let fmt: WavFmt | undefined;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const start = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || start + 16 > buf.length) throw new WavError('fmt chunk too short');
      let tag = buf.readUInt16LE(start);
      if (tag === 0xfffe && size >= 26 && start + 26 <= buf.length) tag = buf.readUInt16LE(start + 24); // WAVE_FORMAT_EXTENSIBLE: sub-format GUID starts with the tag
      fmt = { tag, channels: buf.readUInt16LE(start + 2), sampleRate: buf.readUInt32LE(start + 4), bitsPerSample: buf.readUInt16LE(start + 14) };
    } else if (id === 'data') {
      const bytes = Math.min(size === 0 || size === 0xffffffff ? buf.length - start : size, buf.length - start);
      return { ...(fmt ? { fmt } : {}), data: { offset: start, bytes } };
    }
    off = start + size + (size & 1);
  }
  return fmt ? { fmt } : {};
}

export type WavEncoding = 'pcm' | 'float' | 'alaw' | 'mulaw';

export interface ParsedWav {
  format: WavEncoding;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Mono samples (channels averaged), at the file's own rate, -32768..32767. */
  mono: Float32Array;
}

type Reader = (d: Buffer, i: number) => number;
const DECODERS: Array<[tag: number, bits: number, WavEncoding, Reader]> = [
  [1, 16, 'pcm', (d, i) => d.readInt16LE(i * 2)],
  [1, 8, 'pcm', (d, i) => (d[i]! - 128) << 8],
  [1, 24, 'pcm', (d, i) => d.readIntLE(i * 3, 3) >> 8],
  [1, 32, 'pcm', (d, i) => d.readInt32LE(i * 4) / 65536],
  [3, 32, 'float', (d, i) => Math.max(-1, Math.min(1, d.readFloatLE(i * 4))) * 32767],
  [6, 8, 'alaw', (d, i) => decodeAlaw(d[i]!)],
  [7, 8, 'mulaw', (d, i) => decodeMulaw(d[i]!)],
];

/** Parses any supported WAV to mono float samples; throws WavError with a readable reason otherwise (also for no audio, unless `allowEmpty`). */
export function parseWav(buf: Buffer, o: { allowEmpty?: boolean } = {}): ParsedWav {
  const { fmt, data } = readWavChunks(buf);
  if (!fmt) throw new WavError('no fmt chunk');
  if (!data) throw new WavError('no data chunk');
  const { tag, channels, sampleRate, bitsPerSample: bits } = fmt;
  if (channels < 1 || channels > 8) throw new WavError(`unsupported channel count ${channels}`);
  if (sampleRate < 4000 || sampleRate > 192_000) throw new WavError(`unsupported sample rate ${sampleRate}`);
  const dec = DECODERS.find(([t, b]) => t === tag && b === bits);
  if (!dec) throw new WavError(`unsupported WAV encoding (format tag ${tag}, ${bits} bits): use PCM 16-bit or G.711`);
  const [, , format, read] = dec;
  const d = buf.subarray(data.offset, data.offset + data.bytes);
  const frames = Math.floor(d.length / ((bits / 8) * channels));
  if (frames === 0 && !o.allowEmpty) throw new WavError('no audio in the data chunk');
  const mono = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += read(d, f * channels + c);
    mono[f] = s / channels;
  }
  return { format, channels, sampleRate, bitsPerSample: bits, mono };
}

/**
 * Resamples mono samples from `from` to `to` Hz: box average over the source span when down-sampling (a cheap
 * low-pass), linear interpolation when up-sampling. Fine for prompts, greetings and tones.
 */
export function resample(samples: ArrayLike<number>, from: number, to: number): Float32Array {
  if (from === to) return samples instanceof Float32Array ? samples : Float32Array.from(samples);
  const n = Math.max(1, Math.floor((samples.length * to) / from));
  const out = new Float32Array(n);
  const step = from / to;
  for (let i = 0; i < n; i++) {
    const start = i * step;
    const a = Math.floor(start);
    if (step > 1) {
      const b = Math.min(samples.length, Math.floor(start + step));
      let s = 0;
      for (let j = a; j < b; j++) s += samples[j]!;
      out[i] = s / Math.max(1, b - a);
    } else {
      const t = start - a;
      out[i] = samples[a]! * (1 - t) + (samples[Math.min(a + 1, samples.length - 1)] ?? 0) * t;
    }
  }
  return out;
}

/** Clips and rounds float samples to 16-bit PCM. */
export function toPcm16(samples: ArrayLike<number>): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i]!)));
  return out;
}

/** Any supported WAV → 8 kHz mono float samples. */
export function decodeWavTo8kMono(buf: Buffer, o: { allowEmpty?: boolean } = {}): { samples: Float32Array; source: Omit<ParsedWav, 'mono'> } {
  const { mono, ...source } = parseWav(buf, o);
  return { samples: mono.length ? resample(mono, source.sampleRate, TELEPHONY_RATE) : mono, source };
}

/** Writes the canonical 44-byte header of a 16-bit PCM WAV at the start of `buf`. */
export function writeWavHeader(buf: Buffer, channels: number, dataBytes: number, sampleRate = TELEPHONY_RATE): void {
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(channels, 22);
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * channels * 2, 28);
  buf.writeUInt16LE(channels * 2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(dataBytes, 40);
}

/** A mono 16-bit PCM WAV (44-byte header) at `rate` Hz; float samples are clipped and rounded. */
export function encodeWav(samples: ArrayLike<number>, rate = TELEPHONY_RATE): Buffer {
  const buf = Buffer.alloc(44 + samples.length * 2);
  writeWavHeader(buf, 1, samples.length * 2, rate);
  for (let i = 0; i < samples.length; i++) buf.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]!))), 44 + i * 2);
  return buf;
}

/** Reads a canonical 16-bit PCM WAV (44-byte header) back into per-channel sample arrays (tests, benchmarks). */
export function readWav(buf: Buffer): { channels: number; sampleRate: number; data: Int16Array[] } {
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV file');
  const channels = buf.readUInt16LE(22);
  const sampleRate = buf.readUInt32LE(24);
  const bytes = buf.readUInt32LE(40);
  const frames = Math.floor(bytes / 2 / channels);
  const data = Array.from({ length: channels }, () => new Int16Array(frames));
  for (let f = 0; f < frames; f++) for (let c = 0; c < channels; c++) data[c]![f] = buf.readInt16LE(44 + (f * channels + c) * 2);
  return { channels, sampleRate, data };
}
