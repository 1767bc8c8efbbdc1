/** Tone synthesis (one or more sine frequencies, optional on/off cadence and fades), phase-continuous by sample index. */

export interface ToneSpec {
  frequencies: number[];
  durationMs: number;
  /** On/off cadence (absent = continuous). */
  onMs?: number;
  offMs?: number;
}

export interface ToneShape {
  /** Peak amplitude of all frequencies together (each gets `amplitude / frequencies.length`). */
  amplitude: number;
  /** Fade in/out at each burst edge (no clicks); 0 = none. A continuous tone with a fade fades out at `durationMs`. */
  fadeMs?: number;
  rate?: number;
}

/**
 * Sample `i` (counted from the tone's start) of a tone. Without a fade a continuous tone has no end of its own: the
 * caller decides how many samples to take.
 */
export function toneGenerator(t: ToneSpec, o: ToneShape): (i: number) => number {
  const rate = o.rate ?? 8000;
  const fade = Math.round(((o.fadeMs ?? 0) * rate) / 1000);
  const n = Math.round((t.durationMs * rate) / 1000);
  const on = t.onMs ? Math.round((t.onMs * rate) / 1000) : fade ? n : Infinity;
  const period = t.onMs ? on + Math.round(((t.offMs ?? 0) * rate) / 1000) : Infinity;
  const amp = o.amplitude / t.frequencies.length;
  return (i) => {
    const k = period === Infinity ? i : i % period;
    if (k >= on) return 0;
    let s = 0;
    for (const f of t.frequencies) s += Math.sin((2 * Math.PI * f * i) / rate);
    return fade ? s * amp * Math.max(0, Math.min(1, k / fade, (on - 1 - k) / fade)) : s * amp;
  };
}

/** `count` samples of a sine at `hz` starting at sample `from` (phase-continuous across calls). */
export function sine(hz: number, from: number, count: number, amplitude = 8000, rate = 8000): number[] {
  const at = toneGenerator({ frequencies: [hz], durationMs: 0 }, { amplitude, rate });
  return Array.from({ length: count }, (_, i) => at(from + i));
}

/** Default level of rendered tones: −10 dBFS in total. */
export const TONE_AMPLITUDE = 32767 * 0.316;

/** A tone for `durationMs` (−10 dBFS, 5 ms fades at each burst edge) as float samples at `rate`. */
export function renderTone(t: ToneSpec, rate = 8000): Float32Array {
  const n = Math.round((t.durationMs * rate) / 1000);
  const at = toneGenerator(t, { amplitude: TONE_AMPLITUDE, fadeMs: 5, rate });
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = at(i);
  return out;
}
