import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { DigestAuthenticator, computeHa1, md5, parseAuthorization } from '../../../runtime/sbc/auth/digest.js';
import { formatForTrunk, toE164, userOf } from '../../../runtime/sbc/routing/numbers.js';
import { applyHeaderRules, passHeaders } from '../../../runtime/sbc/routing/headers.js';
import { rankCandidates } from '../../../runtime/sbc/routing/lcr.js';
import { shouldFailover } from '../../../runtime/sbc/calls/dialer.js';
import { parseDtmfInfo, hasTelephoneEvent } from '../../../runtime/sbc/calls/dtmf.js';
import { parseContacts } from '../../../runtime/sbc/registrar/registrar.js';
import { qualityFromNg, mosEma } from '../../../runtime/sbc/media/quality.js';
import { MediaNodePool } from '../../../runtime/sbc/media/node-pool.js';
import { pingOk } from '../../../runtime/sbc/routing/health.js';
import { sbcEmf, createSbcMetrics } from '../../../runtime/sbc/control/metrics.js';
import type { GatewayHealth, MediaNode, Route, Trunk } from '../../../runtime/core/storage/sip-types.js';
import { bestFailure, forkGroups } from '../../../runtime/sbc/calls/call-session.js'; // sbc-core
import { dtmfSource } from '../../../runtime/sbc/calls/bridge.js';
import { parseDtmfLog } from '../../../runtime/sbc/media/dtmf-events.js';
import { MediaWatchdog } from '../../../runtime/sbc/gateway/watchdog.js';

const clockAt = (ms: number) => ({ now: () => ms });

describe('digest (RFC 2617/7616 MD5, HA1 only)', () => {
  const realm = 'acme.sip.test';
  const ha1 = computeHa1('alice', realm, 'pw');
  const respond = (nonce: string, method = 'REGISTER', uri = 'sip:acme.sip.test', pass = 'pw') => {
    const h1 = computeHa1('alice', realm, pass);
    const response = md5(`${h1}:${nonce}:00000001:abc:auth:${md5(`${method}:${uri}`)}`);
    return parseAuthorization(`Digest username="alice", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", qop=auth, nc=00000001, cnonce="abc", algorithm=MD5`)!;
  };
  it('accepts the right password, refuses a wrong one, and reports stale nonces', () => {
    const t0 = 1_800_000_000_000;
    const auth = new DigestAuthenticator({ secret: 's', nonceTtlSeconds: 60, clock: clockAt(t0) });
    const nonce = /nonce="([^"]+)"/.exec(auth.challenge(realm))![1]!;
    expect(auth.verify(respond(nonce), 'REGISTER', ha1)).toBe('ok');
    expect(auth.verify(respond(nonce, 'REGISTER', 'sip:acme.sip.test', 'bad'), 'REGISTER', ha1)).toBe('invalid');
    expect(auth.verify(respond(nonce), 'INVITE', ha1)).toBe('invalid'); // method is part of HA2
    const later = new DigestAuthenticator({ secret: 's', nonceTtlSeconds: 60, clock: clockAt(t0 + 120_000) });
    expect(later.verify(respond(nonce), 'REGISTER', ha1)).toBe('stale');
    const other = new DigestAuthenticator({ secret: 'other', nonceTtlSeconds: 60, clock: clockAt(t0) });
    expect(other.verify(respond(nonce), 'REGISTER', ha1)).toBe('invalid'); // forged nonce
    expect(auth.challenge(realm, true)).toMatch(/stale=true/);
  });
  it('parses Authorization headers with quoted and token values', () => {
    expect(parseAuthorization('Basic abc')).toBeUndefined();
    expect(parseAuthorization('Digest username="a"')).toBeUndefined();
  });
});

describe('numbers and headers', () => {
  it('normalizes to E.164 and formats per trunk', () => {
    expect(userOf('"X" <sip:+1 (555) 010-0000@host;user=phone>;tag=1')).toBe('+15550100000');
    expect(toE164('0044207', undefined)).toBe('+44207');
    expect(toE164('02079460000', '44')).toBe('+442079460000');
    expect(toE164('5550100', '1')).toBe('+15550100');
    expect(toE164('alice')).toBeUndefined();
    expect(formatForTrunk('+442079460000', { numberFormat: 'national', countryCode: '44' })).toBe('02079460000');
    expect(formatForTrunk('+15550100', { numberFormat: 'e164-no-plus' })).toBe('15550100');
    expect(formatForTrunk('15550100', { numberFormat: 'e164' })).toBe('+15550100');
  });
  it('copies only allowed headers and applies trunk rules, never touching routing headers', () => {
    const src: Record<string, string> = { 'Session-Expires': '1800', 'X-Internal': 'secret', Subject: 'hi' };
    const base = passHeaders((h) => src[h]);
    expect(base).toEqual({ 'Session-Expires': '1800', Subject: 'hi' });
    const out = applyHeaderRules(base, [
      { action: 'remove', header: 'subject' },
      { action: 'rename', header: 'Session-Expires', newName: 'X-SE' },
      { action: 'add', header: 'X-Account', value: '42' },
      { action: 'add', header: 'Via', value: 'SIP/2.0/UDP 10.0.0.1' },
    ]);
    expect(out).toEqual({ 'X-SE': '1800', 'X-Account': '42' });
  });
});

describe('least-cost routing', () => {
  const trunk = (id: string, gws: Array<[string, number, number]>): Trunk => ({
    id, tenantId: 't', name: id, enabled: true, inboundCidrs: [], gateways: gws.map(([gid, cost, priority]) => ({ id: gid, host: `${gid}.example`, port: 5060, transport: 'udp', priority, cost })),
    numberFormat: 'e164', headerRules: [], createdAt: '',
  });
  const route = (prefix: string, trunkId: string, priority = 1): Route => ({ id: `${prefix}-${trunkId}`, tenantId: 't', prefix, trunkId, priority, createdAt: '' });
  const trunks = new Map([['cheap', trunk('cheap', [['c1', 1, 1], ['c2', 1, 2]])], ['dear', trunk('dear', [['d1', 5, 1]])], ['uk', trunk('uk', [['u1', 9, 1]])]]);
  const h = (gatewayId: string, trunkId: string, extra: Partial<GatewayHealth>): GatewayHealth => ({ tenantId: 't', trunkId, gatewayId, status: 'up', lastCheckedAt: '', consecutiveFailures: 0, calls: 1, ...extra });
  it('prefers the longest prefix, then cost, then MOS, then priority; skips gateways that are down', () => {
    const routes = [route('', 'cheap'), route('', 'dear'), route('44', 'uk')];
    expect(rankCandidates('15551234', routes, trunks, []).map((c) => c.gateway.id)).toEqual(['c1', 'c2', 'd1']);
    expect(rankCandidates('442071234', routes, trunks, []).map((c) => c.gateway.id)).toEqual(['u1', 'c1', 'c2', 'd1']);
    // Equal cost: the better measured MOS goes first.
    expect(rankCandidates('1555', routes, trunks, [h('c1', 'cheap', { mosAverage: 3.1 }), h('c2', 'cheap', { mosAverage: 4.3 })]).map((c) => c.gateway.id)).toEqual(['c2', 'c1', 'd1']);
    expect(rankCandidates('1555', routes, trunks, [h('c1', 'cheap', { status: 'down' })]).map((c) => c.gateway.id)).toEqual(['c2', 'd1']);
  });
  it('fails over only on timeouts and 5xx', () => {
    expect([408, 500, 503, 504].every(shouldFailover)).toBe(true);
    expect([404, 486, 487, 480, 603, 600].some(shouldFailover)).toBe(false);
    expect(pingOk(200) && pingOk(404) && pingOk(501)).toBe(true);
    expect(pingOk(408) || pingOk(503)).toBe(false);
  });
});

describe('registrar contacts, DTMF, quality, EMF', () => {
  it('parses Contact lists, wildcard and per-contact expires', () => {
    expect(parseContacts('*', 600)).toBe('*');
    const c = parseContacts('<sip:a@1.2.3.4:5060>;expires=60, "B, x" <sip:b@h>;+sip.instance="<urn:uuid:1>", sip:c@h', 600) as Array<{ uri: string; expires: number; instance?: string }>;
    expect(c.map((x) => [x.uri, x.expires])).toEqual([['sip:a@1.2.3.4:5060', 60], ['sip:b@h', 600], ['sip:c@h', 600]]);
    expect(c[1]!.instance).toBe('<urn:uuid:1>');
  });
  it('reads INFO DTMF bodies', () => {
    expect(parseDtmfInfo('application/dtmf-relay', 'Signal=#\r\nDuration=250\r\n')).toEqual({ digit: '#', durationMs: 250 });
    expect(parseDtmfInfo('application/dtmf', '7')).toEqual({ digit: '7', durationMs: 160 });
    expect(parseDtmfInfo('text/plain', 'Signal=1')).toBeUndefined();
    expect(hasTelephoneEvent('a=rtpmap:101 telephone-event/8000')).toBe(true);
  });
  it('takes MOS from rtpengine RTCP stats (worst direction) and counts packets per tag', () => {
    const q = qualityFromNg({
      result: 'ok',
      totals: { RTP: { packets: 300 } },
      tags: { 'a-leg': { medias: [{ streams: [{ flags: ['RTP'], stats: { packets: 150 } }, { flags: ['RTCP'], stats: { packets: 3 } }] }] } },
      SSRC: { 1: { 'average MOS': { MOS: 43, jitter: 2, 'packet loss': 0, 'round-trip time': 1000 } }, 2: { 'average MOS': { MOS: 39, jitter: 4, 'packet loss': 1 } } },
    });
    expect(q).toMatchObject({ mos: 3.9, packetLossPct: 0.5, jitterMs: 3, rttMs: 1, totalPackets: 300, packets: { 'a-leg': 150 } });
    expect(qualityFromNg({ result: 'ok', SSRC: {} }).mos).toBeUndefined();
    expect(mosEma(undefined, 4)).toBe(4);
    expect(mosEma(4, 3)).toBe(3.8);
  });
  it('emits CallsStarted/CallsFailed deltas in EMF (namespace CPaaS, service=sbc)', () => {
    const m = createSbcMetrics();
    const prev = { started: 0, failed: 0 };
    m.callsStarted.inc(undefined, 5);
    m.callsFailed.inc();
    const doc = JSON.parse(sbcEmf(m, 0, prev)[0]!);
    expect(doc).toMatchObject({ service: 'sbc', CallsStarted: 5, CallsFailed: 1, _aws: { CloudWatchMetrics: [{ Namespace: 'CPaaS', Dimensions: [['service']] }] } });
    expect(JSON.parse(sbcEmf(m, 0, prev)[0]!).CallsStarted).toBe(0);
    expect(m.registry.render()).toMatch(/^calls_started_total 5$/m);
    // voice application errors: summed over reasons, as a delta (the VoiceAppErrors alarm)
    m.registry.counter('cpaas_voice_app_errors_total', '').inc({ reason: 'timeout' }, 2);
    m.registry.counter('cpaas_voice_app_errors_total', '').inc({ reason: 'invalid-document' });
    expect(JSON.parse(sbcEmf(m, 0, prev)[0]!).VoiceAppErrors).toBe(3);
    expect(JSON.parse(sbcEmf(m, 0, prev)[0]!).VoiceAppErrors).toBe(0);
  });
});

describe('media node pool', () => {
  it('picks the least-loaded live node and stops using one whose heartbeat expired', async () => {
    let now = 1_800_000_000_000;
    const node = (id: string, active: number, expiresIn: number): MediaNode => ({ id, ngHost: '127.0.3.9', ngPort: 22300 + Number(id.slice(-1)), activeSessions: active, capacity: 100, lastHeartbeat: '', expiresAt: Math.floor(now / 1000) + expiresIn });
    let nodes = [node('n1', 50, 10), node('n2', 10, 10)];
    const pool = new MediaNodePool({ repo: { mediaNodes: async () => nodes }, mode: 'registry', fallback: [{ id: 'static', host: '127.0.3.9', port: 22309 }], localAddress: '127.0.3.3', timeoutMs: 500, refreshMs: 60_000, clock: { now: () => now }, log: pino({ level: 'silent' }) });
    await pool.refresh();
    expect(pool.pick().id).toBe('n2');
    // Our own placements count until the next heartbeat.
    pool.pick().inFlight += 45;
    expect(pool.pick().id).toBe('n1');
    // n1 goes silent: its entry expires; n2 is used even though it is busier.
    nodes = [node('n1', 50, -1), node('n2', 55, 10)];
    await pool.refresh();
    expect(pool.pick().id).toBe('n2');
    // Nothing alive in the registry → the static fallback.
    now += 60_000;
    expect(pool.pick().id).toBe('static');
    expect(pool.status().find((s) => s.id === 'n2')!.live).toBe(false);
    await pool.close();
  });
});

// --- sbc-core: forking, RFC 2833 → INFO, vanished-browser watchdog ---
describe('forking, DTMF log, media watchdog', () => {
  const t = (username: string | undefined, kind: 'device' | 'gateway' = 'device') => ({ kind, uri: `sip:${username ?? 'gw'}@x`, fromUser: 'a', toUser: 'b', toHost: 'x', headers: {}, label: 'l', ...(username ? { username } : {}) });
  it('groups a user\'s bindings for parallel forking, gateways stay sequential', () => {
    expect(forkGroups([t('alice'), t('alice'), t(undefined, 'gateway'), t(undefined, 'gateway')]).map((g) => g.length)).toEqual([2, 1, 1]);
    expect(forkGroups([t('alice'), t('bob')]).map((g) => g.length)).toEqual([1, 1]);
  });
  it('picks the best final response of a fork', () => {
    const f = (status: number, timeout = false) => ({ status, reason: String(status), timeout });
    expect(bestFailure([f(486), f(486)]).status).toBe(486);
    expect(bestFailure([f(503), f(486)]).status).toBe(486);
    expect(bestFailure([f(480), f(404)]).status).toBe(404);
    expect(bestFailure([f(486), f(603)]).status).toBe(603);
    expect(bestFailure([f(408, true), f(480)])).toMatchObject({ status: 480, timeout: false });
    expect(bestFailure([f(408, true), f(408, true)])).toMatchObject({ status: 408, timeout: true });
  });
  it('parses rtpengine DTMF log datagrams and finds the sending leg', () => {
    const e = parseDtmfLog('{"callid":"ca_1","source_tag":"a-leg","tags":["b-leg","a-leg"],"type":"DTMF","timestamp":1795619732,"source_ip":"127.0.11.1","event":11,"duration":120,"volume":10}');
    expect(e).toMatchObject({ callId: 'ca_1', sourceTag: 'a-leg', digit: '#', durationMs: 120, sourceIp: '127.0.11.1' });
    expect(parseDtmfLog('{"callid":"x","event":16}')).toBeUndefined(); // flash
    expect(parseDtmfLog('not json')).toBeUndefined();
    const legs = { a: { remote: { sdp: 'c=IN IP4 10.0.0.1\r\n' } }, b: { remote: { sdp: 'c=IN IP4 10.0.0.2\r\n' } } };
    expect(dtmfSource(e!, legs, { a: 'a-leg', b: 'b-leg' })).toBe('a');
    expect(dtmfSource({ ...e!, sourceTag: 't1' }, legs, { a: 'a-leg', b: 't1' })).toBe('b');
    expect(dtmfSource({ ...e!, sourceTag: '?', sourceIp: '10.0.0.2' }, legs, { a: 'a-leg', b: 'b-leg' })).toBe('b');
  });
  it('hangs up a gateway call whose browser sends no media for the timeout, not one that is on hold', async () => {
    let now = 0;
    const log = pino({ level: 'silent' });
    const w = new MediaWatchdog({ intervalMs: 0, timeoutMs: 30_000, clock: { now: () => now }, log });
    const packets = { live: 0, dead: 0, held: 0 };
    const ended: string[] = [];
    const watch = (id: keyof typeof packets, paused = false) => w.watch({
      id, browserTag: 'browser', paused: () => paused,
      query: async () => ({ packets: { browser: packets[id], sip: 100 }, totalPackets: packets[id] + 100 }),
      onTimeout: () => ended.push(id),
    });
    watch('live');
    watch('dead');
    watch('held', true);
    for (let s = 0; s <= 40; s += 5) {
      now = s * 1000;
      packets.live += 250;
      if (s < 10) packets.dead += 250; // the browser vanished at 10 s
      await w.sweep();
    }
    expect(ended).toEqual(['dead']); // 30 s after its last packet, once
    expect(w.watched).toBe(2);
    expect(w.timeouts).toBe(1);
    w.stop();
  });
});
// --- end sbc-core ---
