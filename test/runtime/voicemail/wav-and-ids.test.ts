import { describe, expect, it } from 'vitest';
import { encodeWav, toGreetingWav, wavInfo } from '../../../runtime/core/voicemail/wav.js';
import { parseMailbox, voicemailIdFor, voicemailS3Key, greetingS3Key } from '../../../runtime/core/storage/voicemail.js';

function pcmWav(rate: number, channels: number, bits: 8 | 16, seconds: number, freq = 440): Buffer {
  const frames = Math.round(rate * seconds);
  const bytes = bits / 8;
  const buf = Buffer.alloc(44 + frames * channels * bytes);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(buf.length - 8, 4);
  buf.write('WAVEfmt ', 8, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(channels, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * channels * bytes, 28);
  buf.writeUInt16LE(channels * bytes, 32);
  buf.writeUInt16LE(bits, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(frames * channels * bytes, 40);
  for (let f = 0; f < frames; f++) {
    const v = Math.sin((2 * Math.PI * freq * f) / rate);
    for (let c = 0; c < channels; c++) {
      const at = 44 + (f * channels + c) * bytes;
      if (bits === 16) buf.writeInt16LE(Math.round(v * 10000), at);
      else buf.writeUInt8(Math.round(128 + v * 100), at);
    }
  }
  return buf;
}

/** Dominant frequency by zero crossings (good enough for a pure tone). */
function zeroCrossingHz(wav: Buffer): number {
  const info = wavInfo(wav);
  let crossings = 0;
  let prev = wav.readInt16LE(44);
  for (let i = 1; i < info.frames; i++) {
    const v = wav.readInt16LE(44 + i * 2);
    if ((prev < 0 && v >= 0) || (prev >= 0 && v < 0)) crossings++;
    prev = v;
  }
  return crossings / 2 / (info.frames / info.sampleRate);
}

describe('greeting WAV conversion', () => {
  it('keeps a conforming 8 kHz mono 16-bit file as is', () => {
    const wav = encodeWav(new Int16Array(8000).map((_, i) => Math.round(1000 * Math.sin(i / 3))));
    const out = toGreetingWav(wav);
    expect(out.wav).toBe(wav);
    expect(out.durationMs).toBe(1000);
  });

  it.each([
    [16000, 2, 16],
    [44100, 1, 16],
    [11025, 2, 8],
  ] as const)('converts %i Hz, %i channels, %i-bit to 8 kHz mono 16-bit, keeping the tone', (rate, channels, bits) => {
    const out = toGreetingWav(pcmWav(rate, channels, bits, 1.5, 440));
    expect(wavInfo(out.wav)).toMatchObject({ sampleRate: 8000, channels: 1, bitsPerSample: 16, dataOffset: 44 });
    expect(out.durationMs).toBe(1500);
    expect(Math.abs(zeroCrossingHz(out.wav) - 440)).toBeLessThan(10);
  });

  it('rejects what is not a PCM WAV, with a reason', () => {
    expect(() => toGreetingWav(Buffer.from('hello world, not a wav'))).toThrow(/not a RIFF\/WAVE/);
    const float = pcmWav(8000, 1, 16, 0.1);
    float.writeUInt16LE(3, 20);
    expect(() => toGreetingWav(float)).toThrow(/not PCM/);
    expect(() => toGreetingWav(pcmWav(8000, 1, 16, 0))).toThrow(/no audio/);
  });
});

describe('voicemail ids and keys', () => {
  const box = { kind: 'identity' as const, id: 'alice' };
  it('ids are deterministic per deposit and sort by time', () => {
    const a = voicemailIdFor('t1', box, 'ca_1', Date.UTC(2026, 0, 1));
    expect(voicemailIdFor('t1', box, 'ca_1', Date.UTC(2026, 0, 1))).toBe(a);
    expect(voicemailIdFor('t1', box, 'ca_2', Date.UTC(2026, 0, 1))).not.toBe(a);
    expect(voicemailIdFor('t1', { kind: 'sip-user', id: 'alice' }, 'ca_1', Date.UTC(2026, 0, 1))).not.toBe(a);
    const later = voicemailIdFor('t1', box, 'ca_0', Date.UTC(2026, 0, 1, 0, 0, 1));
    expect(later > a).toBe(true);
    expect(a).toMatch(/^vm_[a-z0-9]{21}$/);
  });

  it('S3 keys carry tenant, kind and the URI-encoded mailbox', () => {
    expect(voicemailS3Key('t1', box, 'vm_x')).toBe('voicemail/t1/identity/alice/vm_x.wav');
    expect(voicemailS3Key('t1', { kind: 'sip-user', id: 'bob@example.com' }, 'vm_x')).toBe('voicemail/t1/sip-user/bob%40example.com/vm_x.wav');
    expect(greetingS3Key('t1', box)).toBe('voicemail/t1/identity/alice/greeting.wav');
  });

  it('parses mailbox query values', () => {
    expect(parseMailbox('identity:alice')).toEqual({ kind: 'identity', id: 'alice' });
    expect(parseMailbox('sip-user:1001')).toEqual({ kind: 'sip-user', id: '1001' });
    expect(parseMailbox('sip-user:a:b')).toEqual({ kind: 'sip-user', id: 'a:b' });
    expect(parseMailbox('phone:1')).toBeUndefined();
    expect(parseMailbox('identity:')).toBeUndefined();
    expect(parseMailbox('alice')).toBeUndefined();
  });
});
