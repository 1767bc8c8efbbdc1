/**
 * End-to-end harness: the real platform (signalling + stand-ins), coturn on loopback, the SDK built fresh, and one
 * Debian Chromium (never a downloaded browser) with fake media devices. Pages are served from the platform's
 * origin (http://127.0.0.1:<port>, a secure context); tests drive the SDK from the demo's SDK console page
 * (/demo/console.html, which loads the script-tag bundle from /sdk/) plus injected helpers.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { hasCommand, requires } from '../../support/requires.js';
import { buildSdk } from '../../../assets/sdk/build.js';
import { startE2eCoturn, type Coturn } from './coturn.js';
import { HARNESS_SCRIPT } from './page-helpers.js';

export const CHROMIUM = '/usr/bin/chromium';

/** True when chromium and coturn are there; under CI a missing one fails the suite (no silent skips). */
export function e2eAvailable(suite: string): boolean {
  return (
    requires(`${suite}: chromium`, existsSync(CHROMIUM), `${CHROMIUM} not found (apt-get install chromium)`) &&
    requires(`${suite}: coturn`, hasCommand('turnserver'), 'turnserver not found (apt-get install coturn)')
  );
}

export interface E2E {
  platform: TestPlatform;
  coturn: Coturn;
  browser: Browser;
  tenantId: string;
  token(identity: string, grants?: Record<string, unknown>): Promise<string>;
  /** Creates a group room through the REST API; returns its id. */
  createRoom(name: string): Promise<string>;
  /** A new browser context + harness page (one "user"). */
  page(name: string): Promise<Page>;
  pages: Page[];
  close(): Promise<void>;
}

export async function startE2E(opts: { platformLog?: boolean } = {}): Promise<E2E> {
  const secret = randomBytes(18).toString('base64url');
  await buildSdk({ types: false });
  const coturn = await startE2eCoturn({ secret });
  const platform = await startTestPlatform({ turnUrls: coturn.urls, turnSecret: secret, staticDir: resolve('assets'), log: !!opts.platformLog });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'],
  });
  const { tenantId, apiKey } = await platform.createTenant('e2e');
  const contexts: BrowserContext[] = [];
  const pages: Page[] = [];
  return {
    platform,
    coturn,
    browser,
    tenantId,
    pages,
    token: (identity, grants = { rooms: ['*'] }) => platform.mintToken(tenantId, identity, grants),
    async createRoom(name) {
      const res = await platform.api('/v1/rooms', { method: 'POST', key: apiKey, json: { name, type: 'group' } });
      if (res.status !== 201 && res.status !== 200) throw new Error(`create room: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    },
    async page(name) {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      contexts.push(ctx);
      const page = await ctx.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || process.env.E2E_DEBUG) console.log(`[${name}] ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => console.log(`[${name}] pageerror: ${e.message}`));
      // A real page from the platform: a page fulfilled by Playwright counts as a public address space, and Chromium's
      // local-network-access checks would then block its WebSocket to 127.0.0.1.
      await page.goto(`${platform.baseUrl}/demo/console.html`);
      await page.addScriptTag({ content: HARNESS_SCRIPT });
      pages.push(page);
      return page;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await platform.stop().catch(() => undefined);
      await coturn.stop();
    },
  };
}

/** The numbers the tests assert on, from one peer connection's getStats (FACTS §8.2). */
export interface PcStats {
  state: string;
  local: string | null;
  remote: string | null;
  framesDecoded: number;
  videoPackets: number;
  audioPackets: number;
}

declare global {
  interface Window {
    Cpaas: any;
    E2E: any;
  }
}

/** Polls a page until `fn` is truthy. */
export async function until<T, A = undefined>(page: Page, fn: (arg: A) => T | Promise<T>, timeout = 20_000, arg?: A): Promise<void> {
  // page.evaluate awaits a returned promise (waitForFunction would take the promise itself as truthy)
  const end = Date.now() + timeout;
  for (;;) {
    if (await (page.evaluate as (f: unknown, a: unknown) => Promise<unknown>)(fn, arg)) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${fn.toString().slice(0, 120)}`);
    await sleep(100);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
