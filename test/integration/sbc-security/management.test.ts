/**
 * Security management end to end on 127.0.7.0/24 (the bed) + 127.0.12.1 (receivers): the REST API (a real signalling
 * process on the bed's table) changes lists and policies that the running SBC obeys at the next SIP request;
 * `security.alert` webhooks verified by a receiver; admin bans over REST through the SBC control API; shared bans
 * between two firewalls over dynalite; lawful interception (REST target → media fork to a UDP collector, signed
 * events, audit, nothing for the non-targeted concurrent call); per-call capture to one pcap (INVITE + RTP).
 */
import dgram from 'node:dgram';
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, requires } from '../../support/requires.js';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { verifyWebhook, WebhookSender } from '../../../runtime/core/webhooks.js';
import { BanStore, LiRepository } from '../../../runtime/core/storage/security.js';
import { TenantRepository } from '../../../runtime/core/storage/tenants.js';
import { createSecurityAlertNotifier } from '../../../runtime/sbc/security/alerts.js';
import { SipFirewall, createSecurityMetrics } from '../../../runtime/sbc/security/firewall.js';
import { SecurityConfig } from '../../../runtime/sbc/security/config.js';
import { readPcap } from '../../../runtime/sbc/capture/capture.js';
import { MetricsRegistry } from '../../../runtime/core/metrics.js';
import { systemClock } from '../../../runtime/core/clock.js';
import { Value } from 'typebox/value';
import { CARRIER_IP, DOMAIN, SBC, TENANT, UAS_IP, metric, sipp, startBed, type Bed } from './bed.js';

const run = requires('sipp', hasCommand('sipp'), 'sipp (Debian sip-tester) not installed')
  && requires('rtpengine', hasCommand('rtpengine'), 'rtpengine (Debian rtpengine-daemon) not installed');

const RX = '127.0.12.1';
const LI_SECRET = 'li-test-secret-0123456789';

const until = async (cond: () => boolean | Promise<boolean>, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

interface Received { path: string; headers: http.IncomingHttpHeaders; body: string }

async function receiver(port: number): Promise<{ got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, RX, () => r()));
  return { got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe.runIf(run)('SBC security management (REST, alerts, shared bans, interception, capture)', () => {
  let bed: Bed;
  let platform: TestPlatform;
  let tenantKey: string;
  let webhookSecret: string;
  let hooks: Awaited<ReturnType<typeof receiver>>;
  let liEvents: Awaited<ReturnType<typeof receiver>>;
  const collector: Array<{ port: number; data: Buffer }> = [];
  const sockets: dgram.Socket[] = [];
  const webhooks = new WebhookSender({ log: pino({ level: 'silent' }), maxAttempts: 2 });
  const api = (p: string, init: RequestInit & { key?: string; json?: unknown } = {}) => platform.api(p, { key: tenantKey, ...init });

  beforeAll(async () => {
    hooks = await receiver(25080);
    liEvents = await receiver(25081);
    for (const port of [25100, 25102]) {
      const s = dgram.createSocket('udp4');
      s.on('message', (data) => collector.push({ port, data }));
      await new Promise<void>((r) => s.bind(port, RX, () => r()));
      sockets.push(s);
    }
    bed = await startBed({
      banSeconds: 30, listCacheSeconds: 1, authFailuresPerSource: 10, emergencyNumbers: ['911'],
      rates: { INVITE: { perSecond: 50, burst: 100 }, REGISTER: { perSecond: 50, burst: 100 }, OPTIONS: { perSecond: 5, burst: 10 }, other: { perSecond: 50, burst: 100 } },
    }, ({ db, alerts }) => {
      const metrics = new MetricsRegistry();
      const notifier = createSecurityAlertNotifier({
        tenants: new TenantRepository(db), webhooks, log: pino({ level: 'silent' }), metrics,
        tenantByDomain: (d) => bed.repo.tenantByDomain(d),
      });
      notifierMetrics = metrics;
      return {
        onSecurityAlert: (a) => { alerts.push(a); notifier.alert(a); },
        onSecurityBan: (e) => notifier.ban(e),
        lawfulInterception: { source: new LiRepository(db), secret: LI_SECRET, cacheSeconds: 0.5 },
        capture: { dir: mkdtempSync(path.join(tmpdir(), 'sbc-capture-')), host: RX },
      };
    });
    platform = await startTestPlatform({ standIns: bed.standIns, overrides: { tableName: bed.tableName, sbcControlUrl: bed.controlUrl } });
    const t = await platform.services.tenants.create({ name: 'sec', id: TENANT, webhookUrl: `http://${RX}:25080/hooks` });
    webhookSecret = t.webhookSecret;
    tenantKey = (await platform.services.apiKeys.create(TENANT, 'test')).token;
  }, 90_000);

  afterAll(async () => {
    webhooks.close();
    await platform?.stop();
    await bed?.close();
    await hooks?.close();
    await liEvents?.close();
    for (const s of sockets) s.close();
  });
  let notifierMetrics: MetricsRegistry;

  it('lists and policy changed over REST are obeyed by the next SIP request (no restart); admin-only global lists', async () => {
    let res = await api('/v1/security/lists', { method: 'PUT', json: { allowCidrs: [], blockCidrs: [], blockCallers: [], blockCallees: ['+15550001'] } });
    expect(res.status, await res.clone().text()).toBe(200);
    const t0 = Date.now();
    // the next INVITEs: refused as soon as the SBC's 1 s cache has expired
    let r = await sipp('sbc:uac-fail.xml', [SBC, '-i', CARRIER_IP, '-p', '5061', '-m', '1', '-timeout', '10s'], { FROM: '+12125550100', TO: '+15550001', STATUS: '403' }).done;
    if (r.code !== 0) {
      await new Promise((w) => setTimeout(w, 1100 - (Date.now() - t0)));
      r = await sipp('sbc:uac-fail.xml', [SBC, '-i', CARRIER_IP, '-p', '5061', '-m', '1', '-timeout', '10s'], { FROM: '+12125550100', TO: '+15550001', STATUS: '403' }).done;
    }
    expect(r.code, r.output).toBe(0);
    expect(r.messages).toMatch(/Reason: SIP;cause=403;text="called number blocked"/);
    console.log(`FIGURE rest-lists: PUT /v1/security/lists → SIP 403 after ${Date.now() - t0} ms (listCacheSeconds 1)`);
    expect((await (await api('/v1/security/lists')).json() as { blockCallees: string[] }).blockCallees).toEqual(['15550001']);
    res = await api('/v1/security/lists', { method: 'PUT', json: { allowCidrs: [], blockCidrs: [], blockCallers: [], blockCallees: [] } });
    expect(res.status).toBe(200);

    // global lists: admin key only
    expect((await api('/v1/admin/security/lists', { method: 'PUT', json: { allowCidrs: [], blockCidrs: [], blockCallers: ['+12125550166'], blockCallees: [] } })).status).toBe(403);
    res = await platform.api('/v1/admin/security/lists', { key: platform.adminKey, method: 'PUT', json: { allowCidrs: [], blockCidrs: [], blockCallers: ['+12125550166'], blockCallees: [] } });
    expect(res.status).toBe(200);
    await new Promise((w) => setTimeout(w, 1100));
    r = await sipp('sbc:uac-fail.xml', [SBC, '-i', CARRIER_IP, '-p', '5061', '-m', '1', '-timeout', '10s'], { FROM: '+12125550166', TO: '+15550001', STATUS: '403' }).done;
    expect(r.code, r.output).toBe(0);
    expect(r.messages).toMatch(/text="caller number blocked"/);
    await platform.api('/v1/admin/security/lists', { key: platform.adminKey, method: 'PUT', json: { allowCidrs: [], blockCidrs: [], blockCallers: [], blockCallees: [] } });

    // policy: validation and round trip
    expect((await api('/v1/security/policy', { method: 'PUT', json: { allowedPrefixes: ['abc'], blockedPrefixes: [], usualPrefixes: [] } })).status).toBe(400);
    res = await api('/v1/security/policy', { method: 'PUT', json: { allowedPrefixes: [], blockedPrefixes: ['+1900'], usualPrefixes: [], alertCallsPerMinute: 1 } });
    expect(res.status).toBe(200);
    expect(await (await api('/v1/security/policy')).json()).toMatchObject({ blockedPrefixes: ['1900'], alertCallsPerMinute: 1 });
  }, 60_000);

  it('security.alert webhooks (calls-per-minute spike, ban) arrive signed; admin lists and lifts bans over REST', async () => {
    await new Promise((w) => setTimeout(w, 1100)); // policy alertCallsPerMinute 1 from the previous test
    const uas = sipp('sbc:uas-answer.xml', ['-i', UAS_IP, '-p', '5062', '-m', '2', '-timeout', '20s']);
    await new Promise((w) => setTimeout(w, 300));
    const uac = await sipp('sbc:uac-call.xml', [SBC, '-i', CARRIER_IP, '-p', '5061', '-m', '2', '-r', '5', '-timeout', '15s'], { FROM: '+12125550100', TO: '+15550001', HOLD_MS: '100' }).done;
    expect(uac.code, uac.output).toBe(0);
    await uas.done;
    await until(() => hooks.got.some((h) => h.body.includes('"calls-per-minute"')), 10_000, 'alert webhook');
    const alert = hooks.got.find((h) => h.body.includes('"calls-per-minute"'))!;
    expect(verifyWebhook(webhookSecret, alert.headers['x-cpaas-timestamp'] as string, alert.body, alert.headers['x-cpaas-signature'] as string)).toBe(true);
    expect(verifyWebhook('wrong-secret', alert.headers['x-cpaas-timestamp'] as string, alert.body, alert.headers['x-cpaas-signature'] as string)).toBe(false);
    expect(JSON.parse(alert.body)).toMatchObject({ type: 'security.alert', tenantId: TENANT, data: { kind: 'calls-per-minute', threshold: 1 } });
    expect(notifierMetrics.render()).toMatch(/security_alert_webhooks_total\{kind="calls-per-minute",result="delivered"\} 1/);
    expect(await metric(bed.controlUrl, 'security_alerts_total{kind="calls-per-minute"}')).toBeGreaterThan(0);
    await api('/v1/security/policy', { method: 'PUT', json: { allowedPrefixes: [], blockedPrefixes: [], usualPrefixes: [] } });

    // a source brute-forcing the tenant's domain is banned → a `ban` alert for that tenant
    for (let i = 0; i < 10; i++) bed.sbc.security.firewall.authFailure('127.0.7.30', `${DOMAIN}|alice`);
    await until(() => hooks.got.some((h) => h.body.includes('"ban"')), 10_000, 'ban webhook');
    const ban = JSON.parse(hooks.got.find((h) => h.body.includes('"ban"'))!.body) as { data: Record<string, unknown> };
    expect(ban.data).toMatchObject({ kind: 'ban', source: '127.0.7.30', reason: 'auth-failures', domain: DOMAIN });

    // admin: list and lift bans through the SBC control API
    expect((await api('/v1/admin/security/bans')).status).toBe(403);
    let res = await platform.api('/v1/admin/security/bans', { key: platform.adminKey });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { items: Array<{ source: string }> }).items.map((b) => b.source)).toContain('127.0.7.30');
    res = await platform.api('/v1/admin/security/bans', { key: platform.adminKey, method: 'POST', json: { source: '127.0.7.31', seconds: 60 } });
    expect(res.status).toBe(200);
    expect(bed.sbc.security.firewall.isBanned('127.0.7.31')).toBe(true);
    for (const s of ['127.0.7.30', '127.0.7.31']) {
      res = await platform.api(`/v1/admin/security/bans/${s}`, { key: platform.adminKey, method: 'DELETE' });
      expect(res.status).toBe(204);
      expect(bed.sbc.security.firewall.isBanned(s)).toBe(false);
    }
  }, 60_000);

  it('shared bans: a ban decided by one firewall is enforced by another instance within its poll period', async () => {
    const mk = (instanceId: string) => new SipFirewall({
      config: Value.Default(SecurityConfig, {}) as SecurityConfig, clock: systemClock, log: pino({ level: 'silent' }),
      metrics: createSecurityMetrics(new MetricsRegistry()), shared: { store: new BanStore(bed.db), instanceId, pollMs: 200 },
    });
    const a = mk('sbc-a');
    const b = mk('sbc-b');
    try {
      const t0 = Date.now();
      a.ban('198.51.100.7', 'flood', 5);
      await until(() => b.isBanned('198.51.100.7'), 5000, 'shared ban');
      const adoptMs = Date.now() - t0;
      expect(b.listBans()).toEqual([expect.objectContaining({ source: '198.51.100.7', reason: 'flood', sharedFrom: 'sbc-a' })]);
      const t1 = Date.now();
      a.unban('198.51.100.7');
      await until(() => !b.isBanned('198.51.100.7'), 5000, 'shared unban');
      console.log(`FIGURE shared-bans: adopted by the second instance after ${adoptMs} ms, lifted after ${Date.now() - t1} ms (poll 200 ms, dynalite)`);
      // an expired ban disappears from the store (TTL attribute, filtered on read)
      a.ban('198.51.100.8', 'flood', 1);
      await until(() => b.isBanned('198.51.100.8'), 5000, 'second shared ban');
      await until(() => !b.isBanned('198.51.100.8'), 5000, 'expiry');
      expect((await new BanStore(bed.db).list()).map((x) => x.source)).not.toContain('198.51.100.8');
    } finally {
      a.close();
      b.close();
    }
  }, 30_000);

  it('lawful interception: the targeted call’s media from both parties reaches the collector, a concurrent call’s does not; signed events; audited; invisible to tenants', async () => {
    const now = Date.now();
    const target = { match: { kind: 'number', value: '+12125550100' }, validFrom: new Date(now - 60_000).toISOString(), validUntil: new Date(now + 3_600_000).toISOString(),
      collection: { media: { host: RX, port: 25100 }, eventsUrl: `http://${RX}:25081/li` }, reference: 'case-42' };
    expect((await api('/v1/admin/li/targets', { method: 'POST', json: target })).status).toBe(403);
    expect((await api('/v1/admin/li/targets')).status).toBe(403);
    let res = await platform.api('/v1/admin/li/targets', { key: platform.adminKey, method: 'POST', json: target });
    expect(res.status, await res.clone().text()).toBe(201);
    const created = (await res.json()) as { id: string };
    await new Promise((w) => setTimeout(w, 700)); // the SBC's target cache (0.5 s)

    collector.length = 0;
    const uas = sipp('sbc:uas-answer.xml', ['-i', UAS_IP, '-p', '5062', '-m', '2', '-timeout', '30s', '-rtp_echo']);
    await new Promise((w) => setTimeout(w, 300));
    const targeted = sipp('sbc:uac-call.xml', [SBC, '-i', CARRIER_IP, '-p', '5061', '-m', '1', '-timeout', '20s'], { FROM: '+12125550100', TO: '+15550001', HOLD_MS: '3500' }, { packets: 175, fill: 0xaa });
    const other = sipp('sbc:uac-call.xml', [SBC, '-i', CARRIER_IP, '-p', '5063', '-m', '1', '-timeout', '20s'], { FROM: '+12125550199', TO: '+15550001', HOLD_MS: '3500' }, { packets: 175, fill: 0x55 });
    const [t, o] = await Promise.all([targeted.done, other.done]);
    await uas.done;
    expect(t.code, t.output).toBe(0);
    expect(o.code, o.output).toBe(0);
    await new Promise((w) => setTimeout(w, 300));
    const payload = (d: Buffer) => d[12 + 5];
    const count = (port: number, fill: number) => collector.filter((p) => p.port === port && p.data.length === 172 && payload(p.data) === fill).length;
    console.log(`FIGURE li: collector got ${count(25100, 0xaa)} caller + ${count(25102, 0xaa)} callee packets of the targeted call, ${count(25100, 0x55) + count(25102, 0x55)} of the other call`);
    expect(count(25100, 0xaa)).toBeGreaterThan(20);
    expect(count(25102, 0xaa)).toBeGreaterThan(20);
    expect(count(25100, 0x55) + count(25102, 0x55)).toBe(0);
    // the parties saw the SBC's normal SDP (no collector address anywhere in their messages)
    expect(t.messages).not.toContain('127.0.12.1');

    await until(() => liEvents.got.filter((e) => e.body.includes('"end"')).length >= 1, 10_000, 'LI end event');
    const events = liEvents.got.map((e) => {
      expect(verifyWebhook(LI_SECRET, e.headers['x-cpaas-timestamp'] as string, e.body, e.headers['x-cpaas-signature'] as string)).toBe(true);
      return JSON.parse(e.body) as { type: string; data: { event: string; targetId: string; from: string; to: string } };
    });
    expect(events.map((e) => e.data.event)).toEqual(['start', 'answer', 'end']);
    expect(events.every((e) => e.type === 'li.call' && e.data.targetId === created.id && e.data.from.includes('12125550100') && e.data.to.includes('15550001'))).toBe(true);

    res = await platform.api(`/v1/admin/li/targets/${created.id}`, { key: platform.adminKey, method: 'DELETE' });
    expect(res.status).toBe(204);
    const audit = (await (await platform.api('/v1/admin/li/audit', { key: platform.adminKey })).json()) as { items: Array<{ action: string; targetId: string }> };
    expect(audit.items.filter((a) => a.targetId === created.id).map((a) => a.action)).toEqual(['create', 'delete']);
    // tenant views: nothing about the interception in the call records
    const calls = await api('/v1/calls?limit=100');
    expect(await calls.text()).not.toMatch(/li_|interception|25100/);
  }, 60_000);

  it('per-call capture: one pcap with the INVITE and both parties’ RTP, downloadable once the call ends', async () => {
    const uas = sipp('sbc:uas-answer.xml', ['-i', UAS_IP, '-p', '5062', '-m', '1', '-timeout', '30s', '-rtp_echo']);
    await new Promise((w) => setTimeout(w, 300));
    const call = sipp('sbc:uac-call.xml', [SBC, '-i', CARRIER_IP, '-p', '5061', '-m', '1', '-timeout', '20s'], { FROM: '+12125550177', TO: '+15550001', HOLD_MS: '3000' }, { packets: 150 });
    await until(() => bed.sbc.activeCalls().some((c) => c.answeredAt !== undefined), 10_000, 'answered call');
    const id = bed.sbc.activeCalls()[0]!.info.id;
    expect((await api(`/v1/calls/nope_${id}/capture`, { method: 'POST', json: { action: 'start' } })).status).toBe(404);
    const res = await api(`/v1/calls/${id}/capture`, { method: 'POST', json: { action: 'start' } });
    expect(res.status, await res.clone().text()).toBe(200);
    const r = await call.done;
    await uas.done;
    expect(r.code, r.output).toBe(0);
    let file: { pcap: string; packets: number; sha256: string } | undefined;
    await until(async () => {
      const g = await api(`/v1/calls/${id}/capture`);
      if (g.status !== 200) return false;
      file = (await g.json()) as typeof file;
      return true;
    }, 10_000, 'capture file');
    const packets = readPcap(Buffer.from(file!.pcap, 'base64'));
    const sip = packets.filter((p) => /^(?:[A-Z]+ sip:|SIP\/2\.0 )/.test(p.data.toString('latin1', 0, 16)));
    const rtp = packets.filter((p) => p.data[0] === 0x80 && p.data.length === 172);
    console.log(`FIGURE capture: ${packets.length} packets (${sip.length} SIP, ${rtp.length} RTP), ${Buffer.from(file!.pcap, 'base64').length} bytes`);
    expect(sip.some((p) => p.data.toString().startsWith('INVITE sip:'))).toBe(true);
    expect(sip.some((p) => p.data.toString().startsWith('BYE '))).toBe(true);
    expect(new Set(rtp.map((p) => p.dst[1])).size).toBe(2); // both parties
    expect(rtp.length).toBeGreaterThan(40);
  }, 60_000);
});
