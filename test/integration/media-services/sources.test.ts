/**
 * resolvePlaySource (runtime/sbc/media-services/sources.ts): tones, URLs (HTTP server on 127.0.13.10, size limit,
 * private-address guard), WAV normalization (44.1 kHz stereo / A-law → 8 kHz mono) and the media library through s3rver.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav } from '../../../runtime/media-agent/recordings/pcap-to-wav.js';
import { encodeWav, parseWav, renderTone } from '../../../runtime/sbc/media-services/wav.js';
import { isPrivateAddress, resolvePlaySource } from '../../../runtime/sbc/media-services/sources.js';
import { goertzel, linearToAlaw } from '../../runtime/media-agent/audio-support.js';

const HOST = '127.0.13.10';
const dir = mkdtempSync(join(tmpdir(), 'cpaas-src-'));
const deps = { tmpDir: join(dir, 'tmp'), cacheDir: join(dir, 'cache'), allowPrivateUrls: true, maxUrlBytes: 200_000 };

/** A 44.1 kHz stereo 16-bit WAV with `hz` on both channels. */
function stereo44k(hz: number, ms: number): Buffer {
  const n = Math.round((44100 * ms) / 1000);
  const buf = Buffer.alloc(44 + n * 4);
  buf.write('RIFF', 0, 'ascii'); buf.writeUInt32LE(36 + n * 4, 4); buf.write('WAVEfmt ', 8, 'ascii');
  buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(2, 22); buf.writeUInt32LE(44100, 24);
  buf.writeUInt32LE(44100 * 4, 28); buf.writeUInt16LE(4, 32); buf.writeUInt16LE(16, 34); buf.write('data', 36, 'ascii'); buf.writeUInt32LE(n * 4, 40);
  for (let i = 0; i < n; i++) {
    const s = Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / 44100));
    buf.writeInt16LE(s, 44 + i * 4); buf.writeInt16LE(s, 46 + i * 4);
  }
  return buf;
}

function alaw8k(hz: number, ms: number): Buffer {
  const n = (8 * ms);
  const buf = Buffer.alloc(44 + n);
  buf.write('RIFF', 0, 'ascii'); buf.writeUInt32LE(36 + n, 4); buf.write('WAVEfmt ', 8, 'ascii');
  buf.writeUInt32LE(16, 16); buf.writeUInt16LE(6, 20); buf.writeUInt16LE(1, 22); buf.writeUInt32LE(8000, 24);
  buf.writeUInt32LE(8000, 28); buf.writeUInt16LE(1, 32); buf.writeUInt16LE(8, 34); buf.write('data', 36, 'ascii'); buf.writeUInt32LE(n, 40);
  for (let i = 0; i < n; i++) buf[44 + i] = linearToAlaw(Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / 8000)));
  return buf;
}

describe('play sources', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/a.wav') return res.end(stereo44k(1000, 500));
      if (req.url === '/alaw.wav') return res.end(alaw8k(600, 300));
      if (req.url === '/big.wav') return res.end(Buffer.alloc(300_000));
      if (req.url === '/text') return res.end('hello');
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, HOST, () => r()));
    base = `http://${HOST}:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('renders a dual tone with cadence into an 8 kHz mono WAV and cleans it up', async () => {
    const r = await resolvePlaySource({ tone: { frequencies: [350, 440], durationMs: 1000, onMs: 200, offMs: 300 } }, { tenantId: 't1', deps });
    const wav = readWav(readFileSync(r.path));
    expect(wav).toMatchObject({ channels: 1, sampleRate: 8000 });
    expect(wav.data[0]!.length).toBe(8000);
    const on = wav.data[0]!.subarray(100, 1500);
    expect(goertzel(on, 350)).toBeGreaterThan(goertzel(on, 1000) * 20);
    expect(goertzel(on, 440)).toBeGreaterThan(goertzel(on, 1000) * 20);
    expect(Math.max(...wav.data[0]!.subarray(1700, 3900).map(Math.abs))).toBe(0); // off part of the cadence
    r.cleanup();
    expect(existsSync(r.path)).toBe(false);
  });

  it('applies loop', async () => {
    const r = await resolvePlaySource({ tone: { frequencies: [440], durationMs: 200 }, loop: 3 }, { tenantId: 't1', deps });
    expect(r.durationMs).toBe(600);
    r.cleanup();
  });

  it('fetches and normalizes URLs (44.1 kHz stereo PCM, A-law)', async () => {
    const r = await resolvePlaySource({ url: `${base}/a.wav` }, { tenantId: 't1', deps });
    const wav = readWav(readFileSync(r.path));
    expect(wav).toMatchObject({ channels: 1, sampleRate: 8000 });
    expect(Math.abs(wav.data[0]!.length - 4000)).toBeLessThan(5);
    expect(goertzel(wav.data[0]!, 1000)).toBeGreaterThan(goertzel(wav.data[0]!, 600) * 20);
    r.cleanup();
    const a = await resolvePlaySource({ url: `${base}/alaw.wav` }, { tenantId: 't1', deps });
    const p = parseWav(readFileSync(a.path));
    expect(goertzel(p.mono, 600)).toBeGreaterThan(goertzel(p.mono, 1000) * 20);
    a.cleanup();
  });

  it('refuses bad sources', async () => {
    await expect(resolvePlaySource({ url: `${base}/big.wav` }, { tenantId: 't1', deps })).rejects.toMatchObject({ code: 'INVALID_PAYLOAD' });
    await expect(resolvePlaySource({ url: `${base}/text` }, { tenantId: 't1', deps })).rejects.toMatchObject({ code: 'INVALID_PAYLOAD' });
    await expect(resolvePlaySource({ url: `${base}/missing` }, { tenantId: 't1', deps })).rejects.toMatchObject({ code: 'INVALID_PAYLOAD' });
    await expect(resolvePlaySource({ url: `${base}/a.wav` }, { tenantId: 't1', deps: { ...deps, allowPrivateUrls: false } })).rejects.toThrow(/private or loopback/);
    await expect(resolvePlaySource({}, { tenantId: 't1', deps })).rejects.toMatchObject({ code: 'INVALID_PAYLOAD' });
    await expect(resolvePlaySource({ media: 'x' }, { tenantId: 't1', deps })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(['127.0.0.1', '10.1.2.3', '169.254.169.254', '172.20.0.1', '192.168.1.1', '::1', 'fd00::1'].every(isPrivateAddress)).toBe(true);
    expect(['8.8.8.8', '172.32.0.1', '2001:db8::1'].some(isPrivateAddress)).toBe(false);
  });

  it('encodeWav/parseWav round trip', () => {
    const s = renderTone({ frequencies: [700], durationMs: 100 });
    const p = parseWav(encodeWav(s));
    expect(p).toMatchObject({ format: 'pcm', channels: 1, sampleRate: 8000 });
    expect(p.mono.length).toBe(800);
  });
});
