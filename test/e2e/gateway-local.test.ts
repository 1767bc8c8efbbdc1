/**
 * `npm start` with the gateway wired on both sides (docs/gateway.md § npm start): the local platform on loopback
 * 127.0.8.20 (HTTP) / 127.0.8.21 (SIP, rtpengine ng 22341, media 34300–34599), a baresip phone registered with the
 * local SBC as a SIP user of the `local` tenant, and the demo's call page in Chromium using only the public SDK:
 *   - the page's dial pad dials the phone: media both ways, a DTMF key reaches the phone, hang up
 *   - the phone calls a browser identity: the page's incoming phone call panel accepts, media flows
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startLocalPlatform, type LocalPlatform } from '../../runtime/local/platform.js';
import { LOCAL_TENANT_ID } from '../../runtime/local/local-routes.js';
import { freePort } from '../../runtime/local/daemon.js';
import { silentLogger } from '../../runtime/core/logging.js';
import { buildSdk } from '../../assets/sdk/build.js';
import { hasCommand, requires } from '../support/requires.js';
import { CHROMIUM, startPhone, type Phone } from './support/gateway.js';
import { until } from '../support/wait.js';

const available =
  requires('gateway-local e2e: chromium', existsSync(CHROMIUM), `${CHROMIUM} not found`) &&
  requires('gateway-local e2e: rtpengine', hasCommand('rtpengine'), 'rtpengine not found (apt-get install rtpengine-daemon)') &&
  requires('gateway-local e2e: baresip', hasCommand('baresip'), 'baresip not found (apt-get install baresip-core)') &&
  requires('gateway-local e2e: sox', hasCommand('sox'), 'sox not found');

const HTTP_HOST = '127.0.8.20';
const SIP_HOST = '127.0.8.21';


/** Audio stats of the demo page's current phone call (`window.demo.phone`). */
function phoneStats(page: Page) {
  return page.evaluate(async () => {
    const phone = (window as unknown as { demo?: { phone?: any } }).demo?.phone;
    if (!phone) return null;
    const report: RTCStatsReport = await phone.pc.getStats();
    let rx = 0;
    let tx = 0;
    let level = 0;
    report.forEach((x: any) => {
      if (x.type === 'inbound-rtp' && x.kind === 'audio') {
        rx = x.packetsReceived ?? 0;
        level = x.audioLevel ?? 0;
      }
      if (x.type === 'outbound-rtp' && x.kind === 'audio') tx = x.packetsSent ?? 0;
    });
    return { state: phone.state as string, rx, tx, level };
  });
}

describe.skipIf(!available)('npm start: demo call page ⇄ SIP phone through the local SBC gateway', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cpaas-gwlocal-'));
  let platform: LocalPlatform;
  let browser: Browser;
  let dave: Phone;
  let domain: string;

  beforeAll(async () => {
    await buildSdk({ types: false });
    platform = await startLocalPlatform({
      dataDir, rootDir: resolve('.'), host: HTTP_HOST, port: 0,
      turn: { enabled: false, port: 0, minPort: 0, maxPort: 0 },
      sip: { host: SIP_HOST, port: 5060, rtpengine: { ngPort: 22341, httpPort: 22342, minPort: 34300, maxPort: 34599 }, controlPort: await freePort(SIP_HOST) },
      log: silentLogger,
    });
    expect(platform.components.find((c) => c.name.startsWith('WebRTC'))).toMatchObject({ running: true });
    // A SIP user of the `local` tenant (the demo's tenant) and one that rings the browser identity web-dave.
    const key = await platform.app.services.apiKeys.create(LOCAL_TENANT_ID, 'gateway-local test');
    const api = (p: string, init: { method?: string; json?: unknown } = {}) =>
      fetch(`${platform.baseUrl}${p}`, { method: init.method ?? 'GET', headers: { authorization: `Bearer ${key.token}`, 'content-type': 'application/json' }, ...(init.json ? { body: JSON.stringify(init.json) } : {}) });
    domain = ((await (await api('/v1/sip/domain')).json()) as { domain: string }).domain;
    for (const [username, extra] of [['dave', {}], ['webdave', { identity: 'web-dave' }]] as const) {
      const r = await api('/v1/sip/users', { method: 'POST', json: { username, password: `pw-${username}-123456`, ...extra } });
      expect(r.status, await r.clone().text()).toBe(201);
    }
    dave = await startPhone({ name: 'dave', ip: '127.0.8.22', password: 'pw-dave-123456', codecs: 'opus/48000/2,PCMU/8000/1', toneHz: 550, domain, proxy: `${SIP_HOST}:5060`, ports: { ctrl: 4490, rtp: 7260 } });
    await until(async () => ((await (await api('/v1/sip/users/dave/registrations')).json()) as { items: unknown[] }).items.length > 0, 'dave registered with the local SBC', 10_000);
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required', '--disable-gpu'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await dave?.stop();
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function demoPage(): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (e) => console.error(`[demo] ${e.message}`));
    await page.goto(`${platform.baseUrl}/demo/call.html?identity=web-dave&auto=1`);
    await page.waitForSelector('#phone:not([hidden])');
    return page;
  }

  it('the demo dial pad calls the phone: media both ways, DTMF, hang up', async () => {
    const page = await demoPage();
    await page.fill('#phone-to', 'dave');
    await page.click('#phone-call');
    await dave.waitEvent('CALL_ESTABLISHED');
    await until(async () => {
      const s = await phoneStats(page);
      return !!s && s.state === 'active' && s.rx > 50 && s.level > 0 && s.tx > 50;
    }, 'audio both ways at the demo page');
    await page.click('#phone-pad button[data-digit="5"]');
    await until(() => dave.dtmf().includes('5'), 'DTMF 5 at the phone', 5_000);
    await page.click('#phone-hangup');
    await dave.waitEvent('CALL_CLOSED');
    await page.waitForSelector('#phone-dial:not([hidden])');
    await page.context().close();
  }, 40_000);

  it('the phone calls a browser identity: the demo accepts, media flows', async () => {
    const page = await demoPage();
    dave.events.length = 0;
    await dave.command('dial', `sip:webdave@${domain}`);
    await page.waitForSelector('#phone-incoming:not([hidden])', { timeout: 10_000 });
    await page.click('#phone-accept');
    await dave.waitEvent('CALL_ESTABLISHED');
    await until(async () => {
      const s = await phoneStats(page);
      return !!s && s.rx > 50 && s.level > 0 && s.tx > 50;
    }, 'audio both ways on the inbound phone call');
    await dave.command('hangup');
    await page.waitForSelector('#phone-dial:not([hidden])');
    await page.context().close();
  }, 30_000);
});
