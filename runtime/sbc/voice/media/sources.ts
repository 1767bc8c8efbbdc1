/**
 * Frame-level audio sources (8 kHz mono PCM16, 20 ms frames): tone, silence, WAV file, sequences and loops. WAV
 * reading/writing, resampling and tone synthesis are runtime/core/audio's.
 */
import { readFileSync } from 'node:fs';
import { FRAME_SAMPLES, type AudioSource, type Frame } from '../contracts.js';
import { toneGenerator } from '../../../core/audio/tone.js';
import { decodeWavTo8kMono, encodeWav as encodePcm16Wav, resample as resampleMono, toPcm16 } from '../../../core/audio/wav.js';

/** 1–2 frequencies for `durationMs`, with an optional on/off cadence (absent = continuous). */
export class ToneSource implements AudioSource {
  private n = 0;
  private readonly total: number;
  private readonly at: (i: number) => number;
  constructor(o: { frequencies: number[]; durationMs: number; onMs?: number; offMs?: number; amplitude?: number }) {
    this.total = Math.ceil((o.durationMs * 8) / FRAME_SAMPLES) * FRAME_SAMPLES;
    this.at = toneGenerator(o, { amplitude: o.amplitude ?? 12000 });
  }

  read(): Frame | undefined {
    if (this.n >= this.total) return undefined;
    const f = new Int16Array(FRAME_SAMPLES);
    for (let i = 0; i < FRAME_SAMPLES; i++) f[i] = Math.round(this.at(this.n + i));
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

/** Decodes a WAV (PCM 8/16/24/32-bit, float, µ-law, A-law; any rate, up to 8 channels) to 8 kHz mono PCM16. */
export function decodeWav(buf: Buffer): Int16Array {
  return toPcm16(decodeWavTo8kMono(buf, { allowEmpty: true }).samples);
}

/** Resamples mono PCM16 (runtime/core/audio/wav.ts `resample`, rounded back to 16 bits). */
export function resample(pcm: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return pcm;
  return toPcm16(resampleMono(pcm, from, to));
}

export function wavFileSource(path: string): AudioSource {
  return new PcmSource(decodeWav(readFileSync(path)));
}

/** A 44-byte-header WAV of 8 kHz mono PCM16. */
export function encodeWav(pcm: Int16Array, rate = 8000): Buffer {
  return encodePcm16Wav(pcm, rate);
}

/** The error tone: three short high beeps (SIT-like 950/1400 Hz). */
export const errorTone = (): AudioSource => new ToneSource({ frequencies: [950, 1400], durationMs: 900, onMs: 200, offMs: 100 });
/** The record beep. */
export const beepTone = (): AudioSource => new ToneSource({ frequencies: [1000], durationMs: 300 });
