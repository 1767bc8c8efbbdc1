/**
 * The demo's voicemail inbox in Debian's Chromium: a message deposited through the real sink appears live
 * (`voicemail:new`), plays in an <audio> element from its presigned URL (decoded duration = the WAV's), is marked
 * read by playing, toggles back to unread, and is deleted (S3 + metadata). Stand-ins on 127.0.14.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startStandIns, type StandIns } from '../../runtime/local/stand-ins.js';
import { silentLogger } from '../../runtime/core/logging.js';
import { createVoicemailSink, encodeWav, type VoicemailService } from '../../runtime/core/voicemail/index.js';
import { buildSdk } from '../../assets/sdk/build.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { CHROMIUM, e2eAvailable } from './support/harness.js';

const HOST = '127.0.14.1';
const SECRET = randomBytes(16).toString('hex');

describe.runIf(e2eAvailable('voicemail inbox'))('the demo voicemail inbox (Chromium)', () => {
  let standIns: StandIns;
  let p: TestPlatform;
  let sink: VoicemailService;
  let browser: Browser;
  let work: string;
  const errors: string[] = [];

  beforeAll(async () => {
    await buildSdk({ types: false });
    work = mkdtempSync(join(tmpdir(), 'cpaas-vm-e2e-'));
    standIns = await startStandIns({ host: HOST, buckets: ['cpaas-recordings'] });
    p = await startTestPlatform({ standIns, staticDir: resolve('assets'), overrides: { gateway: { secret: { value: SECRET } } } });
    sink = createVoicemailSink({ doc: p.aws.doc, tableName: p.config.tableName, s3: p.aws.s3, bucket: 'cpaas-recordings', log: silentLogger, cacheDir: join(work, 'cache'), signalling: { url: p.baseUrl, secret: SECRET } });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--disable-gpu', '--autoplay-policy=no-user-gesture-required'] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await p?.stop();
    await standIns?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('lists, plays, marks read/unread and deletes; new messages appear live', async () => {
    const { tenantId } = await p.createTenant('vm e2e');
    const token = await p.mintToken(tenantId, 'alice');
    const tone = new Int16Array(8000 * 2).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
    const deposit = async (n: number) => {
      const wavPath = join(work, `m${n}.wav`);
      writeFileSync(wavPath, encodeWav(tone));
      return (await sink.deposit({ tenantId, mailbox: { kind: 'identity', id: 'alice' }, callId: `ca_e2e${n}`, from: `+1555000000${n}`, wavPath, durationMs: 2000, receivedAt: new Date(Date.now() - 60_000 + n).toISOString() })).messageId;
    };
    const first = await deposit(1);

    const page: Page = await (await browser.newContext()).newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    // A failed resource shows as a console error without its URL: check responses instead (config.json is optional).
    page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && errors.push(m.text()));
    page.on('response', (r) => r.status() >= 400 && !r.url().endsWith('/config.json') && errors.push(`${r.status()} ${r.url()}`));
    await page.goto(`${p.baseUrl}/demo/voicemail.html?identity=alice&token=${encodeURIComponent(token)}&auto=1`);
    await page.waitForSelector(`li[data-id="${first}"]`, { timeout: 20_000 });

    const second = await deposit(2); // arrives live through voicemail:new
    await page.waitForSelector(`li[data-id="${second}"].unread`, { timeout: 10_000 });
    expect(await page.$$eval('#messages li', (lis) => lis.map((li) => li.getAttribute('data-id')))).toEqual([second, first]);

    await page.click(`li[data-id="${first}"] button.play`);
    await expect.poll(() => page.$eval(`li[data-id="${first}"] audio`, (a) => (a as HTMLAudioElement).duration), { timeout: 10_000 }).toBeCloseTo(2, 1);
    await page.waitForSelector(`li[data-id="${first}"].read`);
    expect((await sink.repo.get(tenantId, first))?.read).toBe(true);

    await page.click(`li[data-id="${first}"] button.toggle-read`);
    await page.waitForSelector(`li[data-id="${first}"].unread`);
    await page.click(`li[data-id="${second}"] button.delete`);
    await page.waitForSelector(`li[data-id="${second}"]`, { state: 'detached' });
    expect(await sink.repo.get(tenantId, second)).toBeUndefined();
    expect((await sink.repo.get(tenantId, first))?.read).toBe(false);
    expect(errors).toEqual([]);
  }, 60_000);
});
