/**
 * WAV helpers of the media services (docs/recordings.md § Playback): parse an uploaded or fetched WAV (PCM 8/16/24/32-bit,
 * IEEE float 32-bit, G.711 A-law/µ-law; any rate and channel count), normalize it to what every player of the
 * platform accepts (8 kHz, mono, 16-bit PCM), and render tones. Pure functions, no I/O.
 */
import { decodeAlaw, decodeMulaw, writeWavHeader } from '../../media-agent/recordings/pcap-to-wav.js';

export const PLAY_RATE = 8000;

export interface ParsedWav {
  format: 'pcm' | 'float' | 'alaw' | 'mulaw';
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Mono samples (channels averaged), at the file's own rate, -32768..32767. */
  mono: Float32Array;
}

export class WavError extends Error {}

/** Parses a RIFF/WAVE buffer; throws WavError with a readable reason when it is not a playable WAV. */
export function parseWav(buf: Buffer): ParsedWav {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new WavError('not a RIFF/WAVE file');
  let off = 12;
  let fmt: { tag: number; channels: number; rate: number; bits: number } | undefined;
  let data: Buffer | undefined;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = buf.subarray(off + 8, Math.min(buf.length, off + 8 + size));
    if (id === 'fmt ') {
      if (body.length < 16) throw new WavError('fmt chunk too short');
      let tag = body.readUInt16LE(0);
      if (tag === 0xfffe && body.length >= 26) tag = body.readUInt16LE(24); // WAVE_FORMAT_EXTENSIBLE: sub-format GUID starts with the tag
      fmt = { tag, channels: body.readUInt16LE(2), rate: body.readUInt32LE(4), bits: body.readUInt16LE(14) };
    } else if (id === 'data') {
      data = body;
      break;
    }
    off += 8 + size + (size & 1);
  }
  if (!fmt) throw new WavError('no fmt chunk');
  if (!data) throw new WavError('no data chunk');
  const { tag, channels, rate, bits } = fmt;
  if (channels < 1 || channels > 8) throw new WavError(`unsupported channel count ${channels}`);
  if (rate < 4000 || rate > 192_000) throw new WavError(`unsupported sample rate ${rate}`);
  const d = data;
  const decoders: Array<[number, number, ParsedWav['format'], (i: number) => number]> = [
    [1, 16, 'pcm', (i) => d.readInt16LE(i * 2)],
    [1, 8, 'pcm', (i) => (d[i]! - 128) << 8],
    [1, 24, 'pcm', (i) => d.readIntLE(i * 3, 3) >> 8],
    [1, 32, 'pcm', (i) => d.readInt32LE(i * 4) / 65536],
    [3, 32, 'float', (i) => Math.max(-1, Math.min(1, d.readFloatLE(i * 4))) * 32767],
    [6, 8, 'alaw', (i) => decodeAlaw(d[i]!)],
    [7, 8, 'mulaw', (i) => decodeMulaw(d[i]!)],
  ];
  const dec = decoders.find(([t, b]) => t === tag && b === bits);
  if (!dec) throw new WavError(`unsupported WAV encoding (format tag ${tag}, ${bits} bits): use PCM 16-bit or G.711`);
  const [, , format, read] = dec;
  const frameBytes = (bits / 8) * channels;
  const frames = Math.floor(data.length / frameBytes);
  if (frames === 0) throw new WavError('no audio in the data chunk');
  const mono = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += read(f * channels + c);
    mono[f] = s / channels;
  }
  return { format, channels, sampleRate: rate, bitsPerSample: bits, mono };
}

/** Linear resampling of mono samples to `to` Hz (fine for prompts and tones; no anti-aliasing filter beyond averaging). */
export function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return samples;
  const n = Math.max(1, Math.floor((samples.length * to) / from));
  const out = new Float32Array(n);
  const step = from / to;
  for (let i = 0; i < n; i++) {
    // Box-average over the source span when down-sampling (cheap low-pass), linear interpolation when up-sampling.
    const start = i * step;
    if (step > 1) {
      const a = Math.floor(start);
      const b = Math.min(samples.length, Math.floor(start + step));
      let s = 0;
      for (let j = a; j < b; j++) s += samples[j]!;
      out[i] = s / Math.max(1, b - a);
    } else {
      const a = Math.floor(start);
      const t = start - a;
      out[i] = samples[a]! * (1 - t) + (samples[Math.min(a + 1, samples.length - 1)] ?? 0) * t;
    }
  }
  return out;
}

/** A mono 16-bit PCM WAV at `rate` Hz from float samples (clipped). */
export function encodeWav(samples: ArrayLike<number>, rate = PLAY_RATE): Buffer {
  const buf = Buffer.alloc(44 + samples.length * 2);
  writeWavHeader(buf, 1, samples.length * 2, rate);
  for (let i = 0; i < samples.length; i++) buf.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]!))), 44 + i * 2);
  return buf;
}

/** Any supported WAV → 8 kHz mono 16-bit PCM WAV, repeated `loop` times. */
export function normalizeWav(buf: Buffer, loop = 1): { wav: Buffer; durationMs: number; source: Omit<ParsedWav, 'mono'> } {
  const p = parseWav(buf);
  const s = resample(p.mono, p.sampleRate, PLAY_RATE);
  const out = loop > 1 ? repeat(s, loop) : s;
  const { mono: _m, ...source } = p;
  return { wav: encodeWav(out), durationMs: Math.round((out.length / PLAY_RATE) * 1000), source };
}

function repeat(s: Float32Array, n: number): Float32Array {
  const out = new Float32Array(s.length * n);
  for (let i = 0; i < n; i++) out.set(s, i * s.length);
  return out;
}

export interface ToneSpec {
  frequencies: number[];
  durationMs: number;
  onMs?: number;
  offMs?: number;
}

/**
 * One or two sine frequencies for `durationMs` (amplitude −10 dBFS in total), with an optional on/off cadence,
 * 5 ms fade in/out at each burst edge (no clicks). 8 kHz mono samples.
 */
export function renderTone(t: ToneSpec, rate = PLAY_RATE): Float32Array {
  const n = Math.round((t.durationMs * rate) / 1000);
  const out = new Float32Array(n);
  const amp = (32767 * 0.316) / t.frequencies.length;
  const on = t.onMs ? Math.round((t.onMs * rate) / 1000) : n;
  const period = t.onMs ? on + Math.round(((t.offMs ?? 0) * rate) / 1000) : n;
  const fade = Math.round(0.005 * rate);
  for (let i = 0; i < n; i++) {
    const k = i % period;
    if (k >= on) continue;
    const env = Math.min(1, k / fade, (on - 1 - k) / fade);
    let s = 0;
    for (const f of t.frequencies) s += Math.sin((2 * Math.PI * f * i) / rate);
    out[i] = s * amp * Math.max(0, env);
  }
  return out;
}

/** A tone as an 8 kHz mono WAV, repeated `loop` times. */
export function toneWav(t: ToneSpec, loop = 1): Buffer {
  const s = renderTone(t);
  return encodeWav(loop > 1 ? repeat(s, loop) : s);
}
