/**
 * The conference mixer (docs/conferences.md): an N−1 mixer of 8 kHz 16-bit frames, one per conference.
 *
 * Every 20 ms tick it takes one frame from each participant's small jitter buffer, sums the frames of the
 * participants that are heard (not muted, not held) into a preallocated Int32 accumulator, and sends each
 * participant `sum − own frame`, limited to 16 bits. A participant therefore never hears itself. Held
 * participants get the hold source (a soft tone by default) and are not heard; a participant alone hears
 * silence (or `aloneSource`). Frames keep flowing to every participant on every tick (RTP never stalls).
 *
 * Clocking: the tick is a timer scheduled against absolute deadlines (start + n × 20 ms), so timer lateness
 * does not accumulate (drift-corrected); after a long stall (event loop blocked > `maxCatchUpTicks` ticks) it
 * re-anchors instead of bursting. Sender clock drift is absorbed by the jitter buffers: a buffer primes with
 * `primeFrames` frames, drops its oldest frame when it holds `capacityFrames`, and re-primes after an underrun.
 *
 * CPU: no allocation per tick (accumulator, jitter slots and output frames are preallocated per participant);
 * `endpoint.send(frame)` must encode the frame before returning (the output buffer is reused next tick).
 */
import { FRAME_MS, FRAME_SAMPLES, type AudioSource, type Frame, type MediaEndpoint } from '../contracts.js';

export interface MixerOptions {
  /** Frames a jitter buffer holds before playout starts (and after an underrun). Default 2 (40 ms). */
  primeFrames?: number;
  /** Frames a jitter buffer holds at most; the oldest is dropped beyond (sender clock faster than ours). Default 6. */
  capacityFrames?: number;
  /** What a held participant hears; default: a soft 440 Hz beep every 2 s. `null` = silence. */
  holdSource?: (() => AudioSource) | null;
  /** What a participant alone in the conference hears; default silence. */
  aloneSource?: (() => AudioSource) | null;
  /** Smooth peak limiter instead of hard clipping on loud mixes. Default true. */
  limiter?: boolean;
  /** Ticks caught up at once after the timer fell behind; beyond, the schedule re-anchors. Default 5. */
  maxCatchUpTicks?: number;
  /** Monotonic milliseconds (tests). Default performance.now. */
  now?: () => number;
}

export interface MixerStats {
  ticks: number;
  /** Frames received and dropped because a jitter buffer was full. */
  overflows: number;
  /** Ticks where a primed participant had no frame. */
  underruns: number;
  /** Times the schedule re-anchored after a stall. */
  reanchors: number;
}

class JitterBuffer {
  private readonly slots: Int16Array[];
  private head = 0;
  count = 0;
  primed = false;
  underruns = 0;
  constructor(capacity: number, private readonly prime: number) {
    this.slots = Array.from({ length: capacity }, () => new Int16Array(FRAME_SAMPLES));
  }
  /** Returns true when the oldest frame was dropped to make room. */
  push(f: Frame): boolean {
    let dropped = false;
    if (this.count === this.slots.length) {
      this.head = (this.head + 1) % this.slots.length;
      this.count--;
      dropped = true;
    }
    const slot = this.slots[(this.head + this.count) % this.slots.length]!;
    if (f.length >= FRAME_SAMPLES) slot.set(f.subarray(0, FRAME_SAMPLES));
    else {
      slot.fill(0);
      slot.set(f);
    }
    this.count++;
    if (this.count >= this.prime) this.primed = true;
    return dropped;
  }
  /** The next frame (valid until the next push that wraps onto it), or undefined (not primed / underrun). */
  pop(): Int16Array | undefined {
    if (!this.primed) return undefined;
    if (this.count === 0) {
      this.primed = false;
      this.underruns++;
      return undefined;
    }
    const f = this.slots[this.head]!;
    this.head = (this.head + 1) % this.slots.length;
    this.count--;
    return f;
  }
  clear(): void {
    this.count = 0;
    this.primed = false;
  }
}

interface Member {
  id: string;
  endpoint: MediaEndpoint;
  muted: boolean;
  held: boolean;
  jb: JitterBuffer;
  /** This tick's frame (a jitter slot) or undefined. */
  cur: Int16Array | undefined;
  out: Int16Array;
  gain: number;
  off: () => void;
  hold?: AudioSource;
  alone?: AudioSource;
}

/** A soft beep: 440 Hz for 200 ms every 2 s at −24 dBFS (what held participants hear by default). */
export function holdBeep(): AudioSource {
  let n = 0;
  const f = new Int16Array(FRAME_SAMPLES);
  return {
    read() {
      const inBeep = n % 100 < 10;
      for (let i = 0; i < FRAME_SAMPLES; i++) f[i] = inBeep ? Math.round(2000 * Math.sin((2 * Math.PI * 440 * (n * FRAME_SAMPLES + i)) / 8000)) : 0;
      n++;
      return f;
    },
  };
}

const SILENCE = new Int16Array(FRAME_SAMPLES);

export class Mixer {
  private readonly members = new Map<string, Member>();
  private list: Member[] = [];
  private readonly acc = new Int32Array(FRAME_SAMPLES);
  private timer?: NodeJS.Timeout;
  private anchor = 0;
  private n = 0;
  private readonly o: Required<Omit<MixerOptions, 'holdSource' | 'aloneSource'>> & Pick<MixerOptions, 'holdSource' | 'aloneSource'>;
  private readonly counters = { ticks: 0, overflows: 0, reanchors: 0, underrunsGone: 0 };

  constructor(o: MixerOptions = {}) {
    this.o = { primeFrames: 2, capacityFrames: 6, limiter: true, maxCatchUpTicks: 5, now: () => performance.now(), ...o };
  }

  get stats(): MixerStats {
    let underruns = this.counters.underrunsGone;
    for (const m of this.list) underruns += m.jb.underruns;
    return { ticks: this.counters.ticks, overflows: this.counters.overflows, underruns, reanchors: this.counters.reanchors };
  }

  get size(): number {
    return this.members.size;
  }

  has(id: string): boolean {
    return this.members.has(id);
  }

  add(id: string, endpoint: MediaEndpoint, state: { muted?: boolean; held?: boolean } = {}): void {
    if (this.members.has(id)) throw new Error(`participant ${id} already mixed`);
    const m: Member = {
      id, endpoint, muted: !!state.muted, held: !!state.held,
      jb: new JitterBuffer(this.o.capacityFrames, this.o.primeFrames),
      cur: undefined, out: new Int16Array(FRAME_SAMPLES), gain: 1, off: () => undefined,
    };
    m.off = endpoint.onFrame((f) => {
      if (m.jb.push(f)) this.counters.overflows++;
    });
    this.members.set(id, m);
    this.list = [...this.members.values()];
  }

  remove(id: string): void {
    const m = this.members.get(id);
    if (!m) return;
    m.off();
    this.counters.underrunsGone += m.jb.underruns;
    this.members.delete(id);
    this.list = [...this.members.values()];
  }

  set(id: string, change: { muted?: boolean; held?: boolean }): void {
    const m = this.members.get(id);
    if (!m) return;
    if (change.muted !== undefined) m.muted = change.muted;
    if (change.held !== undefined) {
      if (change.held && !m.held) m.hold = undefined; // restart the hold source
      m.held = change.held;
      if (m.held) m.jb.clear();
    }
  }

  /** Starts the 20 ms clock. */
  start(): void {
    if (this.timer) return;
    this.anchor = this.o.now();
    this.n = 0;
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get running(): boolean {
    return !!this.timer;
  }

  private schedule(): void {
    const due = this.anchor + (this.n + 1) * FRAME_MS;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, due - this.o.now()));
  }

  private onTimer(): void {
    const now = this.o.now();
    let behind = Math.floor((now - this.anchor) / FRAME_MS) - this.n;
    if (behind > this.o.maxCatchUpTicks) {
      // A stall: don't burst a second of audio at once; restart the schedule from now.
      this.counters.reanchors++;
      this.anchor = now - FRAME_MS;
      this.n = 0;
      behind = 1;
    }
    for (let i = 0; i < behind; i++) {
      this.tick();
      this.n++;
    }
    if (this.timer) this.schedule();
  }

  /** One 20 ms mixing step (public for tests and benchmarks). */
  tick(): void {
    this.counters.ticks++;
    const acc = this.acc;
    acc.fill(0);
    const list = this.list;
    let heard = 0;
    for (const m of list) {
      const f = m.jb.pop();
      m.cur = f;
      if (f && !m.muted && !m.held) {
        heard++;
        for (let i = 0; i < FRAME_SAMPLES; i++) acc[i]! += f[i]!;
      }
    }
    for (const m of list) {
      if (m.held) {
        m.hold ??= this.o.holdSource === null ? undefined : (this.o.holdSource ?? holdBeep)();
        m.endpoint.send(m.hold?.read() ?? SILENCE);
        continue;
      }
      if (list.length === 1) {
        m.alone ??= this.o.aloneSource ? this.o.aloneSource() : undefined;
        m.endpoint.send(m.alone?.read() ?? SILENCE);
        continue;
      }
      m.alone = undefined;
      const own = m.cur && !m.muted ? m.cur : undefined;
      const out = m.out;
      if (heard === 0 || (heard === 1 && own)) {
        out.fill(0);
      } else if (!this.o.limiter) {
        for (let i = 0; i < FRAME_SAMPLES; i++) {
          const v = own ? acc[i]! - own[i]! : acc[i]!;
          out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
        }
      } else {
        let peak = 0;
        for (let i = 0; i < FRAME_SAMPLES; i++) {
          const v = own ? acc[i]! - own[i]! : acc[i]!;
          const a = v < 0 ? -v : v;
          if (a > peak) peak = a;
        }
        // Fast attack to the gain that fits this frame's peak, slow release (≈ 0.5 s) back to 1.
        const fit = peak > 32767 ? 32767 / peak : 1;
        m.gain = fit < m.gain ? fit : Math.min(fit, m.gain + (1 - m.gain) * 0.04);
        const g = m.gain;
        for (let i = 0; i < FRAME_SAMPLES; i++) {
          const v = Math.round((own ? acc[i]! - own[i]! : acc[i]!) * g);
          out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
        }
      }
      m.endpoint.send(out);
    }
  }

  close(): void {
    this.stop();
    for (const m of this.list) m.off();
    this.members.clear();
    this.list = [];
  }
}
