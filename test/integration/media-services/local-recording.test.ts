/**
 * Client-side room recording from a real browser (Debian Chromium, fake microphone): the SDK's
 * `room.startLocalRecording()` mixes what the page sends/hears with Web Audio, MediaRecorder encodes it, and
 * `stopLocalRecording()` uploads it through the presigned PUT to s3rver and completes it over REST. Also the SDK error
 * without the `record` grant. The SDK is bundled from source into the page (assets/sdk/dist is left alone).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { requires } from '../../support/requires.js';
import { ensureClientUploadCors } from '../../../runtime/core/storage/recordings.js';

const CHROMIUM = '/usr/bin/chromium';
const available = requires('media-services local recording: chromium', existsSync(CHROMIUM), `${CHROMIUM} not found (apt-get install chromium)`);

describe.skipIf(!available)('SDK client-side room recording (Chromium → presigned PUT → REST)', () => {
  let platform: TestPlatform;
  let browser: Browser;
  let sdk: string;
  let tenantId: string;
  let apiKey: string;
  let roomId: string;

  beforeAll(async () => {
    const out = await build({
      entryPoints: [resolve('assets/sdk/src/index.ts')], bundle: true, write: false, format: 'iife', globalName: 'Cpaas',
      target: ['chrome100'], define: { __SDK_VERSION__: '"test"' }, logLevel: 'error',
    });
    sdk = out.outputFiles[0]!.text;
    platform = await startTestPlatform();
    await ensureClientUploadCors(platform.services.recordingFiles.s3, platform.services.recordingFiles.bucket, [platform.baseUrl]);
    ({ tenantId, apiKey } = await platform.createTenant('local-rec'));
    const room = await platform.api('/v1/rooms', { method: 'POST', key: apiKey, json: { name: 'p2p', type: 'p2p' } });
    roomId = ((await room.json()) as { id: string }).id;
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  async function recordInPage(grants: Record<string, unknown>, ms: number): Promise<{ ok: boolean; result?: { recordingId: string; sizeBytes: number; durationSeconds: number }; error?: { code: string; message: string } }> {
    const token = await platform.mintToken(tenantId, 'alice', grants);
    const page = await (await browser.newContext()).newPage();
    try {
      await page.goto(`${platform.baseUrl}/healthz`); // a page of the platform's origin (secure context, same-origin REST)
      await page.addScriptTag({ content: sdk });
      return await page.evaluate(async ([token, roomId, ms]) => {
        const C = (window as unknown as { Cpaas: any }).Cpaas;
        const client = await C.connect({ token, qualityIntervalMs: 0 });
        const media = await C.LocalMedia.create({ audio: true, video: false });
        const room = await client.joinRoom(roomId, { media });
        try {
          room.startLocalRecording();
          await new Promise((r) => setTimeout(r, ms));
          return { ok: true, result: await room.stopLocalRecording() };
        } catch (e) {
          return { ok: false, error: { code: (e as { code: string }).code, message: String((e as Error).message) } };
        } finally {
          await room.leave();
          await client.disconnect();
        }
      }, [token, roomId, ms] as const);
    } finally {
      await page.close();
    }
  }

  it('records 2 s of the fake microphone into a webm/opus file stored as a client recording', async () => {
    const res = await recordInPage({ rooms: [roomId], record: true }, 2000);
    expect(res.ok, JSON.stringify(res.error)).toBe(true);
    expect(res.result!.sizeBytes).toBeGreaterThan(2000);
    expect(res.result!.durationSeconds).toBeGreaterThan(1.5);
    const rec = (await (await platform.api(`/v1/recordings/${res.result!.recordingId}`, { key: apiKey })).json()) as Record<string, unknown>;
    expect(rec).toMatchObject({ source: 'client', roomId, identity: 'alice', format: 'webm', contentType: 'audio/webm', sizeBytes: res.result!.sizeBytes });
    const { url } = (await (await platform.api(`/v1/recordings/${res.result!.recordingId}/url`, { key: apiKey })).json()) as { url: string };
    const file = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(file.length).toBe(res.result!.sizeBytes);
    expect(file.subarray(0, 4).toString('hex')).toBe('1a45dfa3'); // EBML (WebM)
    expect(file.includes(Buffer.from('OpusHead'))).toBe(true);
  }, 60_000);

  it('fails with NOT_AUTHORIZED without the record grant (nothing stored)', async () => {
    const res = await recordInPage({ rooms: [roomId] }, 300);
    expect(res).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORIZED' } });
  }, 60_000);
});
