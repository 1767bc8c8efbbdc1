/** Frames → 8 kHz mono PCM16 WAV file, with silence detection (RMS threshold over 20 ms frames). */
import { writeFile } from 'node:fs/promises';
import type { Frame } from '../contracts.js';
import { encodeWav } from './sources.js';

export class WavRecorder {
  private readonly chunks: Int16Array[] = [];
  private samples = 0;
  private silentMs = 0;
  private heardVoice = false;
  constructor(private readonly o: { silenceThreshold?: number; maxMs?: number } = {}) {}

  /** Adds a frame; returns the current run of trailing silence in ms. */
  push(f: Frame): number {
    if (this.o.maxMs !== undefined && this.durationMs >= this.o.maxMs) return this.silentMs;
    this.chunks.push(Int16Array.from(f));
    this.samples += f.length;
    let sum = 0;
    for (let i = 0; i < f.length; i++) sum += f[i]! * f[i]!;
    const rms = Math.sqrt(sum / Math.max(1, f.length));
    if (rms < (this.o.silenceThreshold ?? 200)) this.silentMs += (f.length / 8);
    else {
      this.silentMs = 0;
      this.heardVoice = true;
    }
    return this.silentMs;
  }

  get durationMs(): number {
    return Math.round(this.samples / 8);
  }

  get silenceMs(): number {
    return this.silentMs;
  }

  get voiced(): boolean {
    return this.heardVoice;
  }

  /** Drops `ms` of trailing audio (the silence that ended the recording). */
  trim(ms: number): void {
    let drop = Math.min(this.samples, Math.round(ms * 8));
    while (drop > 0 && this.chunks.length) {
      const last = this.chunks[this.chunks.length - 1]!;
      if (last.length <= drop) {
        this.chunks.pop();
        drop -= last.length;
        this.samples -= last.length;
      } else {
        this.chunks[this.chunks.length - 1] = last.subarray(0, last.length - drop);
        this.samples -= drop;
        drop = 0;
      }
    }
  }

  pcm(): Int16Array {
    const out = new Int16Array(this.samples);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  async save(path: string): Promise<void> {
    await writeFile(path, encodeWav(this.pcm()), { mode: 0o600 });
  }
}
