import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RtpEndpoint, RtpPortPool } from '../../../runtime/sbc/voice/media/rtp-endpoint.js';
import { LoopSource, SequenceSource, SilenceSource, ToneSource, decodeWav, encodeWav, resample, wavFileSource } from '../../../runtime/sbc/voice/media/sources.js';
import { WavRecorder } from '../../../runtime/sbc/voice/media/recorder.js';
import { decodeG711, encodeG711 } from '../../../runtime/sbc/voice/media/g711.js';
import { parseAudioSdp } from '../../../runtime/sbc/voice/media/sdp.js';
import { goertzel, linearToAlaw, linearToMulaw, zeroCrossingHz } from '../media-agent/audio-support.js';
import type { Frame } from '../../../runtime/sbc/voice/contracts.js';

const pool = new RtpPortPool('127.0.15.1', 48000, 48099);
const open: RtpEndpoint[] = [];
afterEach(() => {
  for (const e of open.splice(0)) e.close();
});
async function pair(codecs?: string): Promise<[RtpEndpoint, RtpEndpoint]> {
  const a = await RtpEndpoint.create(pool);
  const b = await RtpEndpoint.create(pool);
  open.push(a, b);
  let offer = a.offer();
  if (codecs === 'pcma') offer = offer.replace('RTP/AVP 0 8 101', 'RTP/AVP 8 101').replace('a=rtpmap:0 PCMU/8000\r\n', '');
  a.accept(b.answer(offer));
  return [a, b];
}
const collect = (ep: RtpEndpoint): Frame[] => {
  const frames: Frame[] = [];
  ep.onFrame((f) => frames.push(f));
  return frames;
};
const flat = (frames: Frame[]) => frames.flatMap((f) => Array.from(f));

describe('G.711', () => {
  it('matches the reference encoders and round-trips', () => {
    const pcm = Int16Array.from({ length: 4000 }, (_, i) => Math.round(Math.sin(i / 7) * 20000));
    const u = encodeG711(pcm, 'pcmu');
    const a = encodeG711(pcm, 'pcma');
    for (let i = 0; i < pcm.length; i += 37) {
      expect(u[i]).toBe(linearToMulaw(pcm[i]! & ~3));
      expect(a[i]).toBe(linearToAlaw(pcm[i]! & ~3));
    }
    const back = decodeG711(u, 'pcmu');
    for (let i = 0; i < pcm.length; i++) expect(Math.abs(back[i]! - pcm[i]!)).toBeLessThan(Math.abs(pcm[i]!) * 0.07 + 40);
  });
});

describe('RtpEndpoint', () => {
  it('negotiates PCMU + telephone-event, PCMA when PCMU is absent', async () => {
    const [a, b] = await pair();
    expect(a.codec).toBe('pcmu');
    expect(b.codec).toBe('pcmu');
    const sdp = parseAudioSdp(b.answer(a.offer()));
    expect(sdp.pts).toEqual([0, 101]);
    expect(sdp.telephoneEventPt).toBe(101);
    const [c, d] = await pair('pcma');
    expect(d.codec).toBe('pcma');
    expect(c.codec).toBe('pcma');
  });

  for (const law of ['pcmu', 'pcma'] as const) {
    it(`plays a tone paced at 20 ms and the far end hears its frequency (${law})`, async () => {
      const [a, b] = await pair(law === 'pcma' ? 'pcma' : undefined);
      const frames = collect(b);
      const t0 = Date.now();
      const r = await a.play(new ToneSource({ frequencies: [697], durationMs: 500 }));
      const took = Date.now() - t0;
      expect(r).toBe('done');
      expect(took).toBeGreaterThan(440);
      expect(took).toBeLessThan(900);
      await new Promise((res) => setTimeout(res, 60));
      expect(frames.length).toBeGreaterThanOrEqual(24);
      const samples = flat(frames);
      expect(Math.abs(zeroCrossingHz(samples) - 697)).toBeLessThan(15);
      expect(a.stats().packetsOut).toBe(25);
      expect(b.stats().packetsIn).toBe(25);
    });
  }

  it('two-frequency tone and cadence', async () => {
    const [a, b] = await pair();
    const frames = collect(b);
    await a.play(new ToneSource({ frequencies: [770, 1336], durationMs: 400, onMs: 100, offMs: 100 }));
    await new Promise((res) => setTimeout(res, 50));
    const s = flat(frames);
    expect(goertzel(s.slice(0, 800), 770)).toBeGreaterThan(goertzel(s.slice(0, 800), 1000) * 10);
    expect(goertzel(s.slice(0, 800), 1336)).toBeGreaterThan(goertzel(s.slice(0, 800), 1000) * 10);
    const quiet = s.slice(850, 1550);
    expect(Math.max(...quiet.map(Math.abs))).toBeLessThan(50);
  });

  it('stop() ends a play with "stopped", a new play replaces the old one', async () => {
    const [a] = await pair();
    const p1 = a.play(new LoopSource(() => new ToneSource({ frequencies: [440], durationMs: 100 }), Infinity));
    await new Promise((res) => setTimeout(res, 60));
    const p2 = a.play(new SilenceSource(60));
    expect(await p1).toBe('stopped');
    expect(await p2).toBe('done');
    const p3 = a.play(new SilenceSource(1000));
    a.stop();
    expect(await p3).toBe('stopped');
  });

  it('sends and receives RFC 4733 digits once each', async () => {
    const [a, b] = await pair();
    const got: string[] = [];
    b.onDtmf((d) => got.push(d));
    for (const d of ['1', '#', '*', '9', '1']) await a.sendDtmf(d, 60);
    await new Promise((res) => setTimeout(res, 50));
    expect(got).toEqual(['1', '#', '*', '9', '1']);
  });

  it('latches the remote address from the first packet', async () => {
    const a = await RtpEndpoint.create(pool);
    const b = await RtpEndpoint.create(pool, { latch: true });
    open.push(a, b);
    b.answer(a.offer().replace(/m=audio \d+/, 'm=audio 0'));
    a.accept(b.answer(a.offer()).replace(/m=audio \d+/, `m=audio ${b.port}`));
    const frames = collect(a);
    a.send(new Int16Array(160));
    await new Promise((res) => setTimeout(res, 30));
    b.send(new Int16Array(160).fill(1000));
    await new Promise((res) => setTimeout(res, 30));
    expect(frames.length).toBe(1);
  });
});

describe('sources and recorder', () => {
  it('reads PCM16 at 16 kHz stereo and G.711 WAVs, resampled to 8 kHz mono', () => {
    const pcm16k = Int16Array.from({ length: 16000 }, (_, i) => Math.round(Math.sin((2 * Math.PI * 500 * i) / 16000) * 10000));
    const stereo = new Int16Array(32000);
    for (let i = 0; i < 16000; i++) stereo[2 * i] = stereo[2 * i + 1] = pcm16k[i]!;
    const wav = encodeWav(stereo, 16000);
    wav.writeUInt16LE(2, 22); // channels
    wav.writeUInt32LE(16000 * 4, 28);
    wav.writeUInt16LE(4, 32);
    const out = decodeWav(wav);
    expect(out.length).toBe(8000);
    expect(Math.abs(zeroCrossingHz(Array.from(out)) - 500)).toBeLessThan(10);
    const pcm8k = resample(pcm16k, 16000, 8000);
    const ulaw = encodeG711(pcm8k, 'pcmu');
    const g = Buffer.from(encodeWav(new Int16Array(0)));
    g.writeUInt16LE(7, 20);
    g.writeUInt16LE(8, 34);
    g.writeUInt32LE(ulaw.length, 40);
    const back = decodeWav(Buffer.concat([g, ulaw]));
    expect(back.length).toBe(8000);
    expect(Math.abs(zeroCrossingHz(Array.from(back)) - 500)).toBeLessThan(10);
  });

  it('records frames to a WAV with silence detection', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'voice-rec-'));
    try {
      const rec = new WavRecorder();
      const src = new SequenceSource([new ToneSource({ frequencies: [440], durationMs: 400 }), new SilenceSource(300)]);
      let silence = 0;
      for (let f = src.read(); f; f = src.read()) silence = rec.push(f);
      expect(silence).toBe(300);
      expect(rec.voiced).toBe(true);
      rec.trim(silence);
      expect(rec.durationMs).toBe(400);
      await rec.save(path.join(dir, 'r.wav'));
      const s = wavFileSource(path.join(dir, 'r.wav'));
      let n = 0;
      while (s.read()) n++;
      expect(n).toBe(20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
