/**
 * Recording through the SBC on the local platform (docs/recordings.md § SBC): `npm start`'s rtpengine runs with pcap
 * recording, the SBC arms the offer (`'record call': 'yes'` + tenant/call/parties metadata) for a tenant recorded by
 * default, and the media agent's pipeline turns the pcap into a WAV in s3rver, readable through `GET /v1/recordings`.
 * A second call is recorded on demand through the SBC control API (`POST /v1/calls/{id}/recording`).
 * Loopback 127.0.8.30 (HTTP) / 127.0.8.31 (SIP, rtpengine ng 22343, media 34600–34899), baresip phones on
 * 127.0.8.32/33 (PCMU, 440 Hz and 880 Hz; ctrl 4492/4493, RTP 7280–7299).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPlatform, type LocalPlatform } from '../../../runtime/local/platform.js';
import { LOCAL_TENANT_ID } from '../../../runtime/local/local-routes.js';
import { freePort } from '../../../runtime/local/daemon.js';
import { silentLogger } from '../../../runtime/core/logging.js';
import { readWav } from '../../../runtime/media-agent/recordings/pcap-to-wav.js';
import { zeroCrossingHz } from '../../runtime/media-agent/audio-support.js';
import { GATEWAY_SECRET_HEADER } from '../../../runtime/sbc/gateway/notifier.js';
import { hasCommand, requires } from '../../support/requires.js';
import { startPhone, type Phone } from '../../e2e/support/gateway.js';
import { sleep, until } from '../../support/wait.js';

const available =
  requires('sbc-recording: rtpengine', hasCommand('rtpengine'), 'rtpengine not found (apt-get install rtpengine-daemon)') &&
  requires('sbc-recording: baresip', hasCommand('baresip'), 'baresip not found (apt-get install baresip-core)') &&
  requires('sbc-recording: sox', hasCommand('sox'), 'sox not found');

const HTTP_HOST = '127.0.8.30';
const SIP_HOST = '127.0.8.31';


interface Rec { id: string; callId: string; durationMs?: number; channels?: number }

describe.skipIf(!available)('recording through the SBC (local platform, rtpengine pcap → media agent → s3rver → REST)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cpaas-sbcrec-'));
  let platform: LocalPlatform;
  let controlPort: number;
  let a: Phone;
  let b: Phone;
  let domain: string;
  let api: (p: string, init?: { method?: string; json?: unknown }) => Promise<Response>;

  let apiKey: string;
  const start = (recordTenants: string[]) =>
    startLocalPlatform({
      dataDir, rootDir: resolve('.'), host: HTTP_HOST, port: 0,
      turn: { enabled: false, port: 0, minPort: 0, maxPort: 0 },
      sip: { host: SIP_HOST, port: 5060, rtpengine: { ngPort: 22343, httpPort: 22344, minPort: 34600, maxPort: 34899 }, controlPort, recordTenants },
      log: silentLogger,
    });

  beforeAll(async () => {
    controlPort = await freePort(SIP_HOST);
    platform = await start([LOCAL_TENANT_ID]);
    expect(platform.components.find((c) => c.name === 'recordings')).toMatchObject({ running: true });
    apiKey = (await platform.app.services.apiKeys.create(LOCAL_TENANT_ID, 'sbc-recording test')).token;
    api = (p, init = {}) =>
      fetch(`${platform.baseUrl}${p}`, { method: init.method ?? 'GET', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, ...(init.json ? { body: JSON.stringify(init.json) } : {}) });
    domain = ((await (await api('/v1/sip/domain')).json()) as { domain: string }).domain;
    for (const u of ['reca', 'recb']) expect((await api('/v1/sip/users', { method: 'POST', json: { username: u, password: `pw-${u}-123456` } })).status).toBe(201);
    [a, b] = await Promise.all([
      startPhone({ name: 'reca', ip: '127.0.8.32', password: 'pw-reca-123456', codecs: 'PCMU/8000/1', toneHz: 440, domain, proxy: `${SIP_HOST}:5060`, ports: { ctrl: 4492, rtp: 7280, rtpCount: 10 } }),
      startPhone({ name: 'recb', ip: '127.0.8.33', password: 'pw-recb-123456', codecs: 'PCMU/8000/1', toneHz: 880, domain, proxy: `${SIP_HOST}:5060`, ports: { ctrl: 4493, rtp: 7290, rtpCount: 10 } }),
    ]);
    for (const u of ['reca', 'recb']) await until(async () => ((await (await api(`/v1/sip/users/${u}/registrations`)).json()) as { items: unknown[] }).items.length > 0, `${u} registered`, 10_000);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** a calls b, talks for `ms` (running `during` once established), a hangs up; returns the call id. */
  async function call(ms: number, during?: (callId: string) => Promise<void>): Promise<string> {
    a.events.length = 0;
    b.events.length = 0;
    await a.command('dial', `sip:recb@${domain}`);
    await a.waitEvent('CALL_ESTABLISHED');
    const callId = await until(async () => {
      const items = ((await (await api('/v1/calls?limit=10')).json()) as { items: Array<{ id: string; state: string }> }).items;
      return items.find((c) => c.state === 'answered' || c.state === 'active')?.id;
    }, 'the answered call in /v1/calls', 5_000);
    await during?.(callId);
    await sleep(ms);
    await a.command('hangup');
    await a.waitEvent('CALL_CLOSED');
    return callId;
  }

  async function recordingOf(callId: string): Promise<{ rec: Rec; hz: number[] }> {
    const rec = await until(async () => ((await (await api(`/v1/recordings?callId=${callId}`)).json()) as { items: Rec[] }).items[0], `recording of ${callId}`, 20_000);
    const { url } = (await (await api(`/v1/recordings/${rec.id}/url`)).json()) as { url: string };
    const wav = readWav(Buffer.from(await (await fetch(url)).arrayBuffer()));
    expect(wav.channels).toBe(2);
    // Zero-crossing frequency of the loudest 500 ms of each channel (one channel per party; hold/stop gaps are silence).
    const hz = wav.data.map((ch) => {
      let best = { e: -1, at: 0 };
      for (let at = 0; at + 4000 <= ch.length; at += 800) {
        let e = 0;
        for (let i = at; i < at + 4000; i++) e += ch[i]! * ch[i]!;
        if (e > best.e) best = { e, at };
      }
      return zeroCrossingHz(ch.subarray(best.at, best.at + 4000));
    });
    return { rec, hz };
  }

  it('a call of a tenant recorded by default ends up as a stereo WAV with both parties', async () => {
    const callId = await call(2500);
    const { rec, hz } = await recordingOf(callId);
    expect(rec.callId).toBe(callId);
    expect(hz.map((f) => Math.round(f / 10) * 10).sort((x, y) => x - y), JSON.stringify(hz)).toSatisfy((f: number[]) => Math.abs(f[0]! - 440) < 40 && Math.abs(f[1]! - 880) < 40);
  }, 40_000);

  it('without a default, the control API starts recording of a live call (secret + tenant checked)', async () => {
    // Restart on the same data dir (users, registrations and the API key persist) with no tenant recorded by default.
    await platform.stop();
    platform = await start([]);
    const control = (callId: string, body: unknown, secret = platform.secrets.gatewaySecret) =>
      fetch(`http://${SIP_HOST}:${controlPort}/v1/calls/${callId}/recording`, { method: 'POST', headers: { 'content-type': 'application/json', [GATEWAY_SECRET_HEADER]: secret }, body: JSON.stringify(body) });
    const callId = await call(2000, async (id) => {
      expect((await control(id, { tenantId: LOCAL_TENANT_ID, action: 'stop' }, 'wrong')).status).toBe(401);
      expect((await control(id, { tenantId: 'someone-else', action: 'stop' })).status).toBe(404);
      expect((await control('ca_missing', { tenantId: LOCAL_TENANT_ID, action: 'start' })).status).toBe(404);
      expect((await control(id, { tenantId: LOCAL_TENANT_ID, action: 'start' })).status).toBe(200);
    });
    const { hz } = await recordingOf(callId);
    expect(hz.map((f) => Math.round(f / 10) * 10).sort((x, y) => x - y), JSON.stringify(hz)).toSatisfy((f: number[]) => Math.abs(f[0]! - 440) < 40 && Math.abs(f[1]! - 880) < 40);
  }, 40_000);
});
