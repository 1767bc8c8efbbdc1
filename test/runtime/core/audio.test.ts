import { describe, expect, it } from 'vitest';
import {
  decodeAlaw, decodeG711, decodeMulaw, encodeG711, linearToAlaw, linearToMulaw,
} from '../../../runtime/core/audio/g711.js';
import { renderTone, sine, toneGenerator } from '../../../runtime/core/audio/tone.js';
import {
  decodeWavTo8kMono, encodeWav, parseWav, readWav, readWavChunks, resample, toPcm16, WavError, writeWavHeader,
} from '../../../runtime/core/audio/wav.js';
import { goertzel, zeroCrossingHz } from '../media-agent/audio-support.js';

/** The classic Sun reference decoders, written independently of the module under test. */
function refUlaw(i: number): number {
  const u = ~i & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
}
function refAlaw(i: number): number {
  const a = i ^ 0x55;
  let s = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) s += 8;
  else if (seg === 1) s += 0x108;
  else s = (s + 0x108) << (seg - 1);
  return a & 0x80 ? s : -s;
}

/** A WAV with any fmt (tag, channels, rate, bits) around raw data bytes. */
function rawWav(o: { tag: number; channels: number; rate: number; bits: number; extensible?: boolean }, data: Buffer, dataSize = data.length): Buffer {
  const fmt = Buffer.alloc(o.extensible ? 40 : 16);
  fmt.writeUInt16LE(o.extensible ? 0xfffe : o.tag, 0);
  fmt.writeUInt16LE(o.channels, 2);
  fmt.writeUInt32LE(o.rate, 4);
  fmt.writeUInt32LE((o.rate * o.channels * o.bits) / 8, 8);
  fmt.writeUInt16LE((o.channels * o.bits) / 8, 12);
  fmt.writeUInt16LE(o.bits, 14);
  if (o.extensible) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(o.tag, 24);
  }
  const head = (id: string, size: number) => {
    const h = Buffer.alloc(8);
    h.write(id, 0, 'ascii');
    h.writeUInt32LE(size, 4);
    return h;
  };
  const list = Buffer.concat([head('LIST', 3), Buffer.from('abc\0')]); // an odd-sized chunk before fmt (padding byte)
  const body = Buffer.concat([Buffer.from('WAVE'), list, head('fmt ', fmt.length), fmt, head('data', dataSize), data]);
  return Buffer.concat([head('RIFF', body.length), body]);
}

const at = (hz: number, rate: number, seconds: number, amp = 10000) => Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / rate));

describe('G.711', () => {
  it('decodes every byte as the reference algorithms do', () => {
    for (let b = 0; b < 256; b++) {
      expect(decodeMulaw(b)).toBe(refUlaw(b));
      expect(decodeAlaw(b)).toBe(refAlaw(b));
    }
  });

  it('encode ∘ decode is the identity on code words (µ-law: 0x7f is the second zero)', () => {
    for (let b = 0; b < 256; b++) {
      if (b !== 0x7f) expect(linearToMulaw(decodeMulaw(b))).toBe(b);
      expect(linearToAlaw(decodeAlaw(b))).toBe(b);
    }
  });

  it('the table-driven buffer codecs agree with the per-sample ones, with a bounded quantization error', () => {
    const pcm = Int16Array.from({ length: 65536 / 4 }, (_, i) => -32768 + i * 4);
    for (const law of ['pcmu', 'pcma'] as const) {
      const enc = encodeG711(pcm, law);
      const one = law === 'pcmu' ? linearToMulaw : linearToAlaw;
      for (let i = 0; i < pcm.length; i++) expect(enc[i]).toBe(one(pcm[i]!));
      const back = decodeG711(enc, law);
      for (let i = 0; i < pcm.length; i++) expect(Math.abs(back[i]! - pcm[i]!)).toBeLessThanOrEqual(Math.max(16, Math.abs(pcm[i]!) / 15));
    }
  });
});

describe('WAV', () => {
  it('PCM16 round trip: encodeWav → parseWav / readWav gives the samples back (clipped and rounded)', () => {
    const samples = [0, 1, -1, 1234.4, -1234.6, 40000, -40000, 32767, -32768];
    const wav = encodeWav(samples, 16000);
    expect(wav.length).toBe(44 + samples.length * 2);
    const p = parseWav(wav);
    expect(p).toMatchObject({ format: 'pcm', channels: 1, sampleRate: 16000, bitsPerSample: 16 });
    expect(Array.from(p.mono)).toEqual([0, 1, -1, 1234, -1235, 32767, -32768, 32767, -32768]);
    expect(Array.from(readWav(wav).data[0]!)).toEqual(Array.from(p.mono));
  });

  it('writeWavHeader + readWav: multi-channel PCM16', () => {
    const buf = Buffer.alloc(44 + 3 * 2 * 2);
    writeWavHeader(buf, 2, 12, 8000);
    [1, -1, 2, -2, 3, -3].forEach((v, i) => buf.writeInt16LE(v, 44 + i * 2));
    const r = readWav(buf);
    expect(r).toMatchObject({ channels: 2, sampleRate: 8000 });
    expect(Array.from(r.data[0]!)).toEqual([1, 2, 3]);
    expect(Array.from(r.data[1]!)).toEqual([-1, -2, -3]);
    expect(parseWav(buf).mono.every((v) => v === 0)).toBe(true); // channels averaged
  });

  it('parses G.711, 8/24/32-bit PCM, float and WAVE_FORMAT_EXTENSIBLE', () => {
    const pcm = toPcm16(at(1000, 8000, 0.1));
    const ulaw = parseWav(rawWav({ tag: 7, channels: 1, rate: 8000, bits: 8 }, encodeG711(pcm, 'pcmu')));
    expect(ulaw.format).toBe('mulaw');
    expect(Array.from(ulaw.mono)).toEqual(Array.from(decodeG711(encodeG711(pcm, 'pcmu'), 'pcmu')));
    const alaw = parseWav(rawWav({ tag: 6, channels: 1, rate: 8000, bits: 8, extensible: true }, encodeG711(pcm, 'pcma')));
    expect(alaw.format).toBe('alaw');
    expect(Array.from(alaw.mono)).toEqual(Array.from(decodeG711(encodeG711(pcm, 'pcma'), 'pcma')));
    const b8 = Buffer.from([0, 128, 255]);
    expect(Array.from(parseWav(rawWav({ tag: 1, channels: 1, rate: 8000, bits: 8 }, b8)).mono)).toEqual([-32768, 0, 127 << 8]);
    const b24 = Buffer.alloc(6);
    b24.writeIntLE(0x123456, 0, 3);
    b24.writeIntLE(-0x123456, 3, 3);
    expect(Array.from(parseWav(rawWav({ tag: 1, channels: 1, rate: 8000, bits: 24 }, b24)).mono)).toEqual([0x1234, -0x1235]);
    const f32 = Buffer.alloc(8);
    f32.writeFloatLE(0.5, 0);
    f32.writeFloatLE(-2, 4);
    expect(Array.from(parseWav(rawWav({ tag: 3, channels: 1, rate: 8000, bits: 32 }, f32)).mono)).toEqual([16383.5, -32767]);
  });

  it('a streaming writer’s data size (0 or 0xffffffff) means the rest of the file', () => {
    const data = Buffer.alloc(200);
    for (const size of [0, 0xffffffff]) {
      const wav = rawWav({ tag: 1, channels: 1, rate: 8000, bits: 16 }, data, size);
      expect(readWavChunks(wav).data?.bytes).toBe(200);
      expect(parseWav(wav).mono.length).toBe(100);
    }
  });

  it('rejects what it cannot read with a WavError saying why', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [Buffer.from('not a wav at all'), /not a RIFF\/WAVE file/],
      [rawWav({ tag: 2, channels: 1, rate: 8000, bits: 4 }, Buffer.alloc(10)), /unsupported WAV encoding \(format tag 2, 4 bits\)/],
      [rawWav({ tag: 1, channels: 9, rate: 8000, bits: 16 }, Buffer.alloc(36)), /unsupported channel count 9/],
      [rawWav({ tag: 1, channels: 1, rate: 1000, bits: 16 }, Buffer.alloc(10)), /unsupported sample rate 1000/],
      [encodeWav([]), /no audio in the data chunk/],
      [encodeWav([1, 2]).subarray(0, 36), /no data chunk/],
    ];
    for (const [buf, why] of cases) {
      expect(() => parseWav(buf)).toThrow(WavError);
      expect(() => parseWav(buf)).toThrow(why);
    }
    expect(parseWav(encodeWav([]), { allowEmpty: true }).mono.length).toBe(0);
  });
});

describe('resampling', () => {
  it.each([16000, 44100, 48000, 11025])('%i Hz → 8 kHz keeps a tone’s frequency and the duration', (rate) => {
    for (const hz of [440, 1000, 2500]) {
      const out = resample(at(hz, rate, 1), rate, 8000);
      expect(out.length).toBe(8000);
      expect(Math.abs(zeroCrossingHz(out) - hz)).toBeLessThan(5);
      expect(goertzel(out, hz)).toBeGreaterThan(0.8);
    }
  });

  it('up-sampling keeps the frequency too; the same rate is the identity', () => {
    const s = at(700, 8000, 0.5);
    const up = resample(s, 8000, 16000);
    expect(up.length).toBe(8000);
    expect(Math.abs(zeroCrossingHz(up, 16000) - 700)).toBeLessThan(5);
    expect(resample(s, 8000, 8000)).toBe(s);
  });

  it('decodeWavTo8kMono: a 44.1 kHz stereo file becomes 8 kHz mono with the tone kept', () => {
    const mono = at(440, 44100, 0.5);
    const stereo = new Int16Array(mono.length * 2);
    mono.forEach((v, i) => (stereo[2 * i] = stereo[2 * i + 1] = Math.round(v)));
    const pcm = Buffer.from(stereo.buffer);
    const { samples, source } = decodeWavTo8kMono(rawWav({ tag: 1, channels: 2, rate: 44100, bits: 16 }, pcm));
    expect(source).toMatchObject({ format: 'pcm', channels: 2, sampleRate: 44100, bitsPerSample: 16 });
    expect(samples.length).toBe(4000);
    expect(Math.abs(zeroCrossingHz(samples) - 440)).toBeLessThan(5);
  });
});

describe('tones', () => {
  it('renderTone: length, level, frequencies, fades and cadence', () => {
    const t = renderTone({ frequencies: [440], durationMs: 500 });
    expect(t.length).toBe(4000);
    expect(t[0]).toBe(0);
    expect(Math.max(...t)).toBeLessThanOrEqual(32767 * 0.316 + 0.01) // Float32 rounding;
    expect(Math.max(...t)).toBeGreaterThan(32767 * 0.3);
    expect(Math.abs(zeroCrossingHz(t) - 440)).toBeLessThan(5);
    const dual = renderTone({ frequencies: [950, 1400], durationMs: 400 });
    expect(goertzel(dual, 950)).toBeGreaterThan(0.3);
    expect(goertzel(dual, 1400)).toBeGreaterThan(0.3);
    const cadence = renderTone({ frequencies: [1000], durationMs: 300, onMs: 100, offMs: 50 });
    expect(cadence.subarray(800, 1200).every((v) => v === 0)).toBe(true); // 100..150 ms: off
    expect(Math.max(...cadence.subarray(1200, 2000))).toBeGreaterThan(5000); // 150..250 ms: on again
  });

  it('sine is phase-continuous across calls; a generator without fade has no end of its own', () => {
    expect([...sine(1000, 0, 160), ...sine(1000, 160, 160)]).toEqual(sine(1000, 0, 320));
    expect(sine(1000, 0, 4, 8000)).toEqual([0, 1, 2, 3].map((i) => 8000 * Math.sin((2 * Math.PI * 1000 * i) / 8000)));
    const g = toneGenerator({ frequencies: [500], durationMs: 10 }, { amplitude: 100 });
    expect(Math.abs(g(8000 + 4))).toBeGreaterThan(99); // long after durationMs
  });
});
