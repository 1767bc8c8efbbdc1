/** Frame-level audio sources (8 kHz mono PCM16, 20 ms frames): tone, silence, WAV file, sequences and loops. */
import { readFileSync } from 'node:fs';
import { FRAME_SAMPLES, type AudioSource, type Frame } from '../contracts.js';
import { decodeG711 } from './g711.js';

/** 1–2 frequencies for `durationMs`, with an optional on/off cadence (absent = continuous). */
export class ToneSource implements AudioSource {
  private n = 0;
  private readonly total: number;
  constructor(private readonly o: { frequencies: number[]; durationMs: number; onMs?: number; offMs?: number; amplitude?: number }) {
    this.total = Math.ceil((o.durationMs * 8) / FRAME_SAMPLES) * FRAME_SAMPLES;
  }

  read(): Frame | undefined {
    if (this.n >= this.total) return undefined;
    const f = new Int16Array(FRAME_SAMPLES);
    const amp = (this.o.amplitude ?? 12000) / this.o.frequencies.length;
    const on = this.o.onMs ? this.o.onMs * 8 : Infinity;
    const period = this.o.onMs ? on + (this.o.offMs ?? 0) * 8 : Infinity;
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      const t = this.n + i;
      if (period !== Infinity && t % period >= on) continue;
      let v = 0;
      for (const hz of this.o.frequencies) v += Math.sin((2 * Math.PI * hz * t) / 8000);
      f[i] = Math.round(v * amp);
    }
    this.n += FRAME_SAMPLES;
    return f;
  }
}

export class SilenceSource implements AudioSource {
  private left: number;
  constructor(durationMs: number) {
    this.left = Math.ceil(durationMs / 20);
  }

  read(): Frame | undefined {
    if (this.left <= 0) return undefined;
    this.left--;
    return new Int16Array(FRAME_SAMPLES);
  }
}

/** Plays sources one after another. */
export class SequenceSource implements AudioSource {
  private i = 0;
  constructor(private readonly sources: AudioSource[]) {}
  read(): Frame | undefined {
    while (this.i < this.sources.length) {
      const f = this.sources[this.i]!.read();
      if (f) return f;
      this.i++;
    }
    return undefined;
  }
}

/** Replays a source made by `make` `times` times (Infinity = until stopped). */
export class LoopSource implements AudioSource {
  private cur: AudioSource;
  private done = 1;
  constructor(private readonly make: () => AudioSource, private readonly times: number) {
    this.cur = make();
  }

  read(): Frame | undefined {
    for (let guard = 0; guard < 2; guard++) {
      const f = this.cur.read();
      if (f) return f;
      if (this.done >= this.times) return undefined;
      this.done++;
      this.cur = this.make();
    }
    return undefined;
  }
}

/** PCM samples of a buffer as frames (the last one zero-padded). */
export class PcmSource implements AudioSource {
  private pos = 0;
  constructor(private readonly pcm: Int16Array) {}
  read(): Frame | undefined {
    if (this.pos >= this.pcm.length) return undefined;
    const f = new Int16Array(FRAME_SAMPLES);
    f.set(this.pcm.subarray(this.pos, this.pos + FRAME_SAMPLES));
    this.pos += FRAME_SAMPLES;
    return f;
  }
}

/** Decodes a WAV (PCM 8/16-bit, µ-law, A-law; any rate, any channels) to 8 kHz mono PCM16. */
export function decodeWav(buf: Buffer): Int16Array {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV file');
  let off = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  let data: Buffer | undefined;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = buf.subarray(off + 8, Math.min(buf.length, off + 8 + size));
    if (id === 'fmt ') {
      let format = body.readUInt16LE(0);
      if (format === 0xfffe && body.length >= 26) format = body.readUInt16LE(24); // WAVE_FORMAT_EXTENSIBLE
      fmt = { format, channels: body.readUInt16LE(2), rate: body.readUInt32LE(4), bits: body.readUInt16LE(14) };
    } else if (id === 'data') {
      data = body;
    }
    off += 8 + size + (size % 2);
  }
  if (!fmt || !data) throw new Error('WAV without fmt or data chunk');
  const ch = Math.max(1, fmt.channels);
  let samples: Int16Array;
  if (fmt.format === 1 && fmt.bits === 16) {
    const n = Math.floor(data.length / 2);
    samples = new Int16Array(n);
    for (let i = 0; i < n; i++) samples[i] = data.readInt16LE(i * 2);
  } else if (fmt.format === 1 && fmt.bits === 8) {
    samples = new Int16Array(data.length);
    for (let i = 0; i < data.length; i++) samples[i] = (data[i]! - 128) << 8;
  } else if (fmt.format === 7 || fmt.format === 6) {
    samples = decodeG711(data, fmt.format === 7 ? 'pcmu' : 'pcma');
  } else {
    throw new Error(`unsupported WAV format ${fmt.format}/${fmt.bits} bits`);
  }
  // Down-mix.
  let mono = samples;
  if (ch > 1) {
    mono = new Int16Array(Math.floor(samples.length / ch));
    for (let i = 0; i < mono.length; i++) {
      let s = 0;
      for (let c = 0; c < ch; c++) s += samples[i * ch + c]!;
      mono[i] = Math.round(s / ch);
    }
  }
  return resample(mono, fmt.rate, 8000);
}

/** Linear-interpolation resampler with a simple moving-average low-pass when decimating. */
export function resample(pcm: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return pcm;
  let src = pcm;
  if (from > to) {
    const k = Math.max(1, Math.round(from / to));
    if (k > 1) {
      src = new Int16Array(pcm.length);
      let acc = 0;
      for (let i = 0; i < pcm.length; i++) {
        acc += pcm[i]!;
        if (i >= k) acc -= pcm[i - k]!;
        src[i] = Math.round(acc / Math.min(i + 1, k));
      }
    }
  }
  const n = Math.floor((src.length * to) / from);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const x = (i * from) / to;
    const i0 = Math.floor(x);
    const i1 = Math.min(src.length - 1, i0 + 1);
    const frac = x - i0;
    out[i] = Math.round(src[i0]! * (1 - frac) + src[i1]! * frac);
  }
  return out;
}

export function wavFileSource(path: string): AudioSource {
  return new PcmSource(decodeWav(readFileSync(path)));
}

/** A 44-byte-header WAV of 8 kHz mono PCM16. */
export function encodeWav(pcm: Int16Array, rate = 8000): Buffer {
  const h = Buffer.alloc(44);
  const dataLen = pcm.length * 2;
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataLen, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataLen, 40);
  return Buffer.concat([h, Buffer.from(pcm.buffer, pcm.byteOffset, dataLen)]);
}

/** The error tone: three short high beeps (SIT-like 950/1400 Hz). */
export const errorTone = (): AudioSource => new ToneSource({ frequencies: [950, 1400], durationMs: 900, onMs: 200, offMs: 100 });
/** The record beep. */
export const beepTone = (): AudioSource => new ToneSource({ frequencies: [1000], durationMs: 300 });
