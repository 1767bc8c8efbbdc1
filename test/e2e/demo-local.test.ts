/**
 * The newcomer's path: `npm start` (the local platform, started here in-process on an ephemeral port), the demo's
 * home page hands out tokens from the local helper, and two people meet in a room created by name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startLocalPlatform, type LocalPlatform } from '../../runtime/local/platform.js';
import { silentLogger } from '../../runtime/core/logging.js';
import { buildSdk } from '../../assets/sdk/build.js';
import { CHROMIUM, e2eAvailable } from './support/harness.js';

describe.runIf(e2eAvailable('demo on the local platform'))('the demo on the local platform (npm start)', () => {
  let platform: LocalPlatform;
  let browser: Browser;
  const errors: string[] = [];

  beforeAll(async () => {
    await buildSdk({ types: false });
    platform = await startLocalPlatform({
      dataDir: mkdtempSync(join(tmpdir(), 'cpaas-demo-')),
      rootDir: resolve('.'),
      host: '127.0.0.1',
      port: 0,
      turn: { enabled: false, port: 0, minPort: 0, maxPort: 0 },
      sip: { enabled: false },
      log: silentLogger,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--disable-gpu'] });
  });
  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  const enter = async (identity: string): Promise<Page> => {
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (e) => errors.push(`${identity}: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && errors.push(`${identity}: ${m.text()}`));
    await page.goto(`${platform.baseUrl}/`);
    expect(page.url()).toBe(`${platform.baseUrl}/demo/`);
    await page.fill('input[name=identity]', identity);
    await page.fill('input[name=room]', 'standup');
    await page.click('#join button');
    await page.click('#links a[href^="room.html"]');
    await page.click('text=Join room');
    return page;
  };

  it('two people get tokens from the home page and see each other in a room created by name', async () => {
    const alice = await enter('alice');
    const bob = await enter('bob');
    for (const page of [alice, bob]) {
      await page.waitForFunction(() => document.querySelectorAll('video').length >= 2, undefined, { timeout: 20_000 });
      await expect.poll(() => page.evaluate(() => [...document.querySelectorAll('video')].filter((v) => v.readyState >= 2 && v.videoWidth > 0).length), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    }
    expect(errors).toEqual([]);
  });
});
