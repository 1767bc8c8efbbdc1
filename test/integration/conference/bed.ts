/**
 * Conference test bed on loopback 127.0.16.0/24 (docs/conferences.md): rtpengine (userspace, ng 127.0.16.9:22400,
 * media 49000–49999), the SIP engine on 127.0.16.3:5060 with the SBC app in-process (gateway + voice engine +
 * conferences; RtpEndpoints on 127.0.16.5:50000–50999, control API 127.0.16.3:28020), the platform (signalling,
 * stand-ins) with the SBC control URL, a webhook receiver on 127.0.16.6:28030, baresip phones (127.0.16.1/.2, SIP
 * 5600/5602, ctrl_tcp 4500/4501, RTP 56000–56039) and one Chromium (rtpengine reached directly, no TURN).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import pino from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startSipEngine, type SipEngine } from '../../../runtime/sip-engine/index.js';
import { startDaemon, type Daemon } from '../../../runtime/local/daemon.js';
import { systemClock } from '../../../runtime/core/clock.js';
import { createSipRepository } from '../../../runtime/sbc/repository.js';
import { buildSbcApp, connectSrf, sipHostFromHostports, type SbcApp, type SbcAppConfig } from '../../../runtime/sbc/app.js';
import { httpNotifier } from '../../../runtime/sbc/gateway/notifier.js';
import { ngPing } from '../../../runtime/sbc/media/ng-ping.js';
import { conferenceWebhookSink } from '../../../runtime/sbc/voice/conference/events.js';
import { WebhookSender, verifyWebhook } from '../../../runtime/core/webhooks.js';
import type { SipRepository } from '../../../runtime/core/storage/sip-types.js';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { buildSdk } from '../../../assets/sdk/build.js';
import type Srf from 'drachtio-srf';

export const NET = { engine: '127.0.16.3', rtp: '127.0.16.9', ngPort: 22400, endpoints: '127.0.16.5', hooks: '127.0.16.6', controlPort: 28020, hookPort: 28030 };
export const CHROMIUM = '/usr/bin/chromium';
export const DOMAIN = 'conf.sip.localhost';

export interface ConferenceBed {
  platform: TestPlatform;
  sbc: SbcApp;
  repo: SipRepository;
  browser: Browser;
  tenantId: string;
  apiKey: string;
  /** conference.* webhooks received (signature checked). */
  hooks: Array<{ type: string; data: Record<string, unknown>; signed: boolean }>;
  page(identity: string): Promise<Page>;
  close(): Promise<void>;
}

export async function startConferenceBed(): Promise<ConferenceBed> {
  const log = pino({ level: process.env.CONF_TEST_LOG ?? 'silent' });
  const secret = randomBytes(24).toString('base64url');
  await buildSdk({ types: false });
  const rtpengine: Daemon = await startDaemon({
    name: 'rtpengine',
    command: 'rtpengine',
    args: ['--config-file=none', '--table=-1', `--interface=${NET.rtp}`, `--listen-ng=${NET.rtp}:${NET.ngPort}`,
      '--port-min=49000', '--port-max=49999', '--foreground', '--log-stderr', '--log-level=5', '--delete-delay=0'],
    ready: () => ngPing(NET.rtp, NET.ngPort),
  });
  const engine: SipEngine = await startSipEngine({
    sip: [{ transport: 'udp', host: NET.engine, port: 5060 }],
    admin: { host: NET.engine, port: 0, secret: 'conf-test-secret' },
    log: pino({ level: process.env.SIP_ENGINE_LOG ?? 'silent' }),
  });
  const { srf, hostports } = await connectSrf({ host: NET.engine, port: engine.adminPort, secret: 'conf-test-secret' });
  const platform = await startTestPlatform({
    staticDir: path.resolve('assets'),
    overrides: { sbcControlUrl: `http://${NET.engine}:${NET.controlPort}`, gateway: { secret: { value: secret } } },
  });
  // Webhook receiver for conference.* events.
  const hooks: ConferenceBed['hooks'] = [];
  let webhookSecret = '';
  const hookServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const e = JSON.parse(body || '{}') as { type: string; data: Record<string, unknown> };
      hooks.push({ type: e.type, data: e.data, signed: verifyWebhook(webhookSecret, req.headers['x-cpaas-timestamp'] as string, body, req.headers['x-cpaas-signature'] as string) });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hookServer.listen(NET.hookPort, NET.hooks, r));
  const tenant = await platform.services.tenants.create({ name: 'conference', webhookUrl: `http://${NET.hooks}:${NET.hookPort}/events` });
  webhookSecret = tenant.webhookSecret;
  const key = await platform.services.apiKeys.create(tenant.id, 'test');
  // The SBC shares the platform's table (SIP users created through REST).
  const repo = createSipRepository({ doc: platform.aws.doc, tableName: platform.config.tableName, clock: systemClock });
  const config: SbcAppConfig = {
    instanceId: 'sbc-conf-test',
    rtpengine: { ngPort: NET.ngPort, mode: 'static', fallback: [{ id: 'rtp-1', host: NET.rtp, port: NET.ngPort }], localAddress: NET.engine, timeoutMs: 1500, refreshSeconds: 5 },
    control: { host: NET.engine, port: NET.controlPort },
    limits: { maxConcurrentCalls: 100, maxCallsPerTenant: 100, ringTimeoutSeconds: 20, maxCallSeconds: 0, gatewayTimeoutSeconds: 3 },
    registrar: { minExpires: 30, maxExpires: 3600, defaultExpires: 600, maxContacts: 3, nonceTtlSeconds: 120 },
    health: { optionsIntervalSeconds: 0, failuresToDown: 1 },
  } as SbcAppConfig;
  const webhooks = new WebhookSender({ log, maxAttempts: 2 });
  const sbc = await buildSbcApp({
    config, srf: srf as Srf, localHost: sipHostFromHostports(hostports), repo, log, clock: systemClock, nonceSecret: 'conf-nonce-secret',
    gateway: { secret, ringTimeoutSeconds: 15, transcode: 'prefer-opus', allowExternalSipUris: false, notifier: httpNotifier({ url: platform.baseUrl, secret, log }) },
    voice: {
      rtp: { host: NET.endpoints, minPort: 50000, maxPort: 50999 },
      webhookSecret: (t) => platform.services.tenants.webhookSecret(t),
    },
    conferences: { events: conferenceWebhookSink({ tenants: platform.services.tenants, webhooks, log }) },
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required'],
  });
  return {
    platform, sbc, repo, browser, tenantId: tenant.id, apiKey: key.token, hooks,
    async page(identity) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || process.env.E2E_DEBUG) console.log(`[${identity}] ${m.type()}: ${m.text()}`);
      });
      await page.goto(`${platform.baseUrl}/demo/console.html`);
      const token = await platform.mintToken(tenant.id, identity, { dialOut: true });
      await page.evaluate(async ({ t }) => {
        const w = window as unknown as Record<string, any>;
        w.G = { incoming: null, samples: null };
        w.G.client = await w.Cpaas.connect({ token: t, qualityIntervalMs: 0 });
        w.G.client.on('incoming-phone-call', (c: any) => (w.G.incoming = c));
      }, { t: token });
      return page;
    },
    async close() {
      await browser.close().catch(() => undefined);
      await sbc.close().catch(() => undefined);
      webhooks.close();
      srf.disconnect();
      await engine.close();
      await rtpengine.stop();
      hookServer.closeAllConnections();
      await new Promise<void>((r) => hookServer.close(() => r()));
      await platform.stop().catch(() => undefined);
    },
  };
}
