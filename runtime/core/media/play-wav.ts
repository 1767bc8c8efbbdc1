/**
 * WAV helpers of the media services (docs/recordings.md § Playback): parse an uploaded or fetched WAV (PCM 8/16/24/32-bit,
 * IEEE float 32-bit, G.711 A-law/µ-law; any rate and channel count), normalize it to what every player of the
 * platform accepts (8 kHz, mono, 16-bit PCM), and render tones. Pure functions, no I/O; the codecs, the WAV reader
 * and writer, the resampler and the tone synthesis are runtime/core/audio's.
 */
import { encodeWav, parseWav, resample, type ParsedWav } from '../audio/wav.js';
import { renderTone, type ToneSpec } from '../audio/tone.js';

export { encodeWav, parseWav, resample, WavError, type ParsedWav } from '../audio/wav.js';
export { renderTone, type ToneSpec } from '../audio/tone.js';

export const PLAY_RATE = 8000;

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

/** A tone as an 8 kHz mono WAV, repeated `loop` times. */
export function toneWav(t: ToneSpec, loop = 1): Buffer {
  const s = renderTone(t);
  return encodeWav(loop > 1 ? repeat(s, loop) : s);
}
