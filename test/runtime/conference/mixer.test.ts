import { describe, expect, it } from 'vitest';
import { Mixer } from '../../../runtime/sbc/voice/conference/mixer.js';
import { goertzel, rms } from '../media-agent/audio-support.js';
import { FakeEndpoint } from './fake-endpoint.js';

const TONES = { a: 440, b: 1000, c: 1800 } as const;
type Name = keyof typeof TONES;

/** Three parties each sending its own tone for `frames` ticks. */
function run(mixer: Mixer, eps: Record<Name, FakeEndpoint>, frames: number, senders: Name[] = ['a', 'b', 'c']) {
  for (let i = 0; i < frames; i++) {
    for (const n of senders) eps[n].feedTone(TONES[n]);
    mixer.tick();
  }
}

function setup(o: ConstructorParameters<typeof Mixer>[0] = {}) {
  const mixer = new Mixer({ holdSource: null, ...o });
  const eps = { a: new FakeEndpoint('a'), b: new FakeEndpoint('b'), c: new FakeEndpoint('c') };
  for (const n of ['a', 'b', 'c'] as const) mixer.add(n, eps[n]);
  return { mixer, eps };
}

const hears = (ep: FakeEndpoint, hz: number) => goertzel(ep.tail(25), hz) > 0.1;

describe('conference mixer (N−1)', () => {
  it('each participant hears the two others and never itself', () => {
    const { mixer, eps } = setup();
    run(mixer, eps, 50);
    for (const me of ['a', 'b', 'c'] as const) {
      for (const other of ['a', 'b', 'c'] as const) {
        const p = goertzel(eps[me].tail(25), TONES[other]);
        if (other === me) expect(p, `${me} hears itself`).toBeLessThan(0.01);
        else expect(p, `${me} hears ${other}`).toBeGreaterThan(0.2);
      }
    }
    expect(eps.a.sent.length).toBe(50); // one frame per tick from the first tick on
  });

  it('output is exactly the sum of the others when nothing clips', () => {
    const mixer = new Mixer({ primeFrames: 1 });
    const a = new FakeEndpoint('a');
    const b = new FakeEndpoint('b');
    const c = new FakeEndpoint('c');
    mixer.add('a', a);
    mixer.add('b', b);
    mixer.add('c', c);
    const fb = Int16Array.from({ length: 160 }, (_, i) => i * 10);
    const fc = Int16Array.from({ length: 160 }, (_, i) => -i * 3);
    a.feed(Int16Array.from({ length: 160 }, () => 5000));
    b.feed(fb);
    c.feed(fc);
    mixer.tick();
    expect([...a.sent[0]!]).toEqual(fb.map((v, i) => v + fc[i]!).reduce((acc, v, i) => ((acc[i] = v), acc), new Array<number>(160)));
    expect(Math.max(...c.sent[0]!.map((v, i) => Math.abs(v - (5000 + fb[i]!))))).toBe(0);
  });

  it('a muted participant is not heard but still hears the others', () => {
    const { mixer, eps } = setup();
    mixer.set('b', { muted: true });
    run(mixer, eps, 50);
    expect(hears(eps.a, TONES.b)).toBe(false);
    expect(hears(eps.c, TONES.b)).toBe(false);
    expect(hears(eps.a, TONES.c)).toBe(true);
    expect(hears(eps.b, TONES.a)).toBe(true);
    expect(hears(eps.b, TONES.c)).toBe(true);
    mixer.set('b', { muted: false });
    run(mixer, eps, 30);
    expect(hears(eps.a, TONES.b)).toBe(true);
  });

  it('a held participant neither hears nor is heard; it gets the hold source', () => {
    const { mixer, eps } = setup({ holdSource: undefined });
    mixer.set('c', { held: true });
    run(mixer, eps, 150);
    expect(hears(eps.a, TONES.c)).toBe(false);
    expect(hears(eps.b, TONES.c)).toBe(false);
    expect(hears(eps.a, TONES.b)).toBe(true);
    // c hears the hold beep (440 Hz bursts), not a or b's tones
    const held = eps.c.tail(100);
    expect(goertzel(held, TONES.b)).toBeLessThan(0.01);
    expect(goertzel(held, 440)).toBeGreaterThan(0.05); // 200 ms beeps every 2 s
    expect(rms(held)).toBeGreaterThan(100);
    mixer.set('c', { held: false });
    run(mixer, eps, 30);
    expect(hears(eps.c, TONES.b)).toBe(true);
    expect(hears(eps.a, TONES.c)).toBe(true);
  });

  it('a participant alone hears silence; frames keep flowing every tick', () => {
    const mixer = new Mixer();
    const a = new FakeEndpoint('a');
    mixer.add('a', a);
    for (let i = 0; i < 20; i++) {
      a.feedTone(440);
      mixer.tick();
    }
    expect(a.sent.length).toBe(20);
    expect(rms(a.tail(20))).toBe(0);
  });

  it('removing (kicking) a participant stops mixing it and unsubscribes from its endpoint', () => {
    const { mixer, eps } = setup();
    run(mixer, eps, 20);
    mixer.remove('c');
    expect(eps.c.listeners).toBe(0);
    const before = eps.c.sent.length;
    run(mixer, eps, 30);
    expect(eps.c.sent.length).toBe(before);
    expect(hears(eps.a, TONES.c)).toBe(false);
    expect(hears(eps.a, TONES.b)).toBe(true);
  });

  it('loud mixes never wrap around: hard clip without the limiter, limited gain with it', () => {
    for (const limiter of [false, true]) {
      const mixer = new Mixer({ limiter, primeFrames: 1 });
      const eps = [0, 1, 2].map((i) => new FakeEndpoint(String(i)));
      eps.forEach((e, i) => mixer.add(String(i), e));
      for (let t = 0; t < 10; t++) {
        eps[0]!.feed(new Int16Array(160).fill(30000));
        eps[1]!.feed(new Int16Array(160).fill(30000));
        eps[2]!.feed(new Int16Array(160).fill(0));
        mixer.tick();
      }
      const out = eps[2]!.sent.at(-1)!;
      expect(Math.min(...out)).toBeGreaterThan(0); // 60000 would wrap to negative in 16 bits
      expect(Math.max(...out)).toBeLessThanOrEqual(32767);
      if (!limiter) expect(out[0]).toBe(32767);
      // The two loud ones hear each other unchanged (30000 fits).
      expect(eps[0]!.sent.at(-1)![0]).toBe(30000);
    }
  });

  it('jitter buffer: primes, drops the oldest on overflow, re-primes after underrun', () => {
    const mixer = new Mixer({ primeFrames: 2, capacityFrames: 3 });
    const a = new FakeEndpoint('a');
    const b = new FakeEndpoint('b');
    mixer.add('a', a);
    mixer.add('b', b);
    b.feed(new Int16Array(160).fill(1));
    mixer.tick();
    expect(a.sent.at(-1)![0]).toBe(0); // not primed yet
    b.feed(new Int16Array(160).fill(2));
    mixer.tick();
    expect(a.sent.at(-1)![0]).toBe(1);
    mixer.tick();
    expect(a.sent.at(-1)![0]).toBe(2);
    mixer.tick(); // underrun
    expect(a.sent.at(-1)![0]).toBe(0);
    expect(mixer.stats.underruns).toBe(1);
    for (let v = 10; v < 15; v++) b.feed(new Int16Array(160).fill(v)); // 5 into 3 slots: 10, 11 dropped
    expect(mixer.stats.overflows).toBe(2);
    mixer.tick();
    expect(a.sent.at(-1)![0]).toBe(12);
  });

  it('the 20 ms clock is drift-corrected and re-anchors after a stall', async () => {
    let t = 0;
    const mixer = new Mixer({ now: () => t });
    const a = new FakeEndpoint('a');
    mixer.add('a', a);
    mixer.start();
    // Simulated time: run the timer callbacks by hand through the fake clock.
    t = 100; // 5 ticks due when the first timer fires (20 ms of real time)
    await new Promise((r) => setTimeout(r, 35));
    expect(mixer.stats.ticks).toBe(5);
    t = 2000; // a 1.9 s stall: no burst of 95 ticks
    await new Promise((r) => setTimeout(r, 35));
    expect(mixer.stats.ticks).toBe(6);
    expect(mixer.stats.reanchors).toBe(1);
    mixer.close();
    expect(mixer.running).toBe(false);
  });

  it('paces real time at 50 ticks per second', async () => {
    const mixer = new Mixer();
    const a = new FakeEndpoint('a');
    mixer.add('a', a);
    mixer.start();
    await new Promise((r) => setTimeout(r, 500));
    mixer.close();
    expect(a.sent.length).toBeGreaterThanOrEqual(22);
    expect(a.sent.length).toBeLessThanOrEqual(27);
  });
});
