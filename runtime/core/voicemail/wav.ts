/**
 * Greeting WAVs: a tenant uploads any PCM WAV (8/16-bit, any rate, any channel count); the platform stores it as
 * what the SBC plays (8 kHz mono 16-bit PCM, docs/voicemail.md). Pure functions, no I/O; reading, resampling and
 * writing are runtime/core/audio's.
 */
import { encodeWav as encodePcm16Wav, parseWav, readWavChunks, resample, WavError } from '../audio/wav.js';
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
  let chunks;
  try {
    chunks = readWavChunks(buf);
  } catch (err) {
    if (err instanceof WavError) throw bad(err.message);
    throw err;
  }
  const { fmt, data } = chunks;
  if (!data) throw bad('no data chunk');
  if (!fmt) throw bad('data before fmt');
  if (fmt.tag !== 1) throw bad(`format tag ${fmt.tag} is not PCM`);
  if (fmt.bitsPerSample !== 16 && fmt.bitsPerSample !== 8) throw bad(`${fmt.bitsPerSample}-bit samples`);
  if (fmt.channels < 1 || fmt.channels > 8) throw bad(`${fmt.channels} channels`);
  if (fmt.sampleRate < 4000 || fmt.sampleRate > 192_000) throw bad(`sample rate ${fmt.sampleRate}`);
  const frameBytes = (fmt.bitsPerSample / 8) * fmt.channels;
  const frames = Math.floor(data.bytes / frameBytes);
  return {
    sampleRate: fmt.sampleRate, channels: fmt.channels, bitsPerSample: fmt.bitsPerSample, frames,
    durationMs: Math.round((frames / fmt.sampleRate) * 1000), dataOffset: data.offset, dataBytes: frames * frameBytes,
  };
}

/** A 44-byte canonical header + 16-bit mono samples. */
export function encodeWav(samples: Int16Array, rate = GREETING_RATE): Buffer {
  return encodePcm16Wav(samples, rate);
}

/** Any PCM WAV → 8 kHz mono 16-bit (channels averaged, resampled). Already-conforming input is kept as is. */
export function toGreetingWav(buf: Buffer): { wav: Buffer; durationMs: number; source: Pick<WavInfo, 'sampleRate' | 'channels' | 'bitsPerSample'> } {
  const w = wavInfo(buf);
  const source = { sampleRate: w.sampleRate, channels: w.channels, bitsPerSample: w.bitsPerSample };
  if (w.frames === 0) throw bad('no audio');
  if (w.sampleRate === GREETING_RATE && w.channels === 1 && w.bitsPerSample === 16 && w.dataOffset === 44 && buf.length === 44 + w.dataBytes) return { wav: buf, durationMs: w.durationMs, source };
  const out = resample(parseWav(buf).mono, w.sampleRate, GREETING_RATE);
  return { wav: encodePcm16Wav(out), durationMs: Math.round((out.length / GREETING_RATE) * 1000), source };
}
