/**
 * Consent announcement of policy recordings (docs/recordings.md § Consent announcement): a call recorded from its
 * first offer because its tenant is in `recording.tenants`, with the tenant also in `announceTenants`, plays the
 * consent tone (two 1400 Hz beeps) to both parties once answered — no REST call involved — and is recorded.
 * A sipp carrier (127.0.23.40, plays 440 Hz PCMU) calls a number routed to a second trunk whose callee is a sipp UAS
 * (127.0.23.41) answering with media at a Node UDP socket (127.0.23.42) that records what it receives.
 * Loopback 127.0.23.30 (HTTP 30400) / .31 (SIP, control 30401, rtpengine ng 22470, media 60200–60899, voice RTP
 * 60900–60999), sipp -cp 9700–9701, -mp 60000.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPlatform, type LocalPlatform } from '../../../runtime/local/platform.js';
import { LOCAL_TENANT_ID } from '../../../runtime/local/local-routes.js';
import { silentLogger } from '../../../runtime/core/logging.js';
import { hasCommand, requires } from '../../support/requires.js';
import { sleep, until } from '../../support/wait.js';
import { CalleeMedia, running, sipp, tonePcap } from './support.js';

const available =
  requires('consent-policy: rtpengine', hasCommand('rtpengine'), 'rtpengine not found (apt-get install rtpengine-daemon)') &&
  requires('consent-policy: sipp', hasCommand('sipp'), 'sipp not found (apt-get install sip-tester)');

const HTTP_HOST = '127.0.23.30';
const SIP_HOST = '127.0.23.31';
const UAC_IP = '127.0.23.40';
const UAS_IP = '127.0.23.41';
const MEDIA_IP = '127.0.23.42';
const NUMBER = '+15550230';

describe.skipIf(!available)('consent tone on policy-recorded calls (local platform, rtpengine, sipp)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cpaas-consent-'));
  let platform: LocalPlatform;
  let api: (p: string, init?: { method?: string; json?: unknown }) => Promise<Response>;

  beforeAll(async () => {
    platform = await startLocalPlatform({
      dataDir, rootDir: resolve('.'), host: HTTP_HOST, port: 30400,
      turn: { enabled: false, port: 0, minPort: 0, maxPort: 0 },
      sip: {
        host: SIP_HOST, port: 5060, rtpengine: { ngPort: 22470, httpPort: 22471, minPort: 60200, maxPort: 60899 }, controlPort: 30401,
        recordTenants: [LOCAL_TENANT_ID], announceTenants: [LOCAL_TENANT_ID], voiceRtp: { minPort: 60900, maxPort: 60999 },
      },
      log: silentLogger,
    });
    const apiKey = (await platform.app.services.apiKeys.create(LOCAL_TENANT_ID, 'consent test')).token;
    api = (p, init = {}) =>
      fetch(`${platform.baseUrl}${p}`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${apiKey}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
      });
    expect((await api('/v1/trunks', { method: 'POST', json: { name: 'carrier-in', inboundCidrs: [`${UAC_IP}/32`], gateways: [{ host: UAC_IP, port: 5060 }] } })).status).toBe(201);
    const tout = await api('/v1/trunks', { method: 'POST', json: { name: 'carrier-out', gateways: [{ host: UAS_IP, port: 5060 }] } });
    expect(tout.status).toBe(201);
    const trunkId = ((await tout.json()) as { id: string }).id;
    expect((await api(`/v1/numbers/${encodeURIComponent(NUMBER)}`, { method: 'PUT', json: { destination: { type: 'trunk', trunkId } } })).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    for (const s of running) s.kill();
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the callee hears the 1400 Hz consent tone after answer, without any REST call, and the call is recorded', async () => {
    const media = await CalleeMedia.open(MEDIA_IP);
    const uas = sipp('uas-media.xml', ['-i', UAS_IP, '-p', '5060', '-m', '1'], { MEDIA_IP, MEDIA_PORT: String(media.port), ANSWER_PT: '0', ANSWER_CODEC: 'PCMU' }, 9701);
    await sleep(300);
    const uac = sipp('uac-tone.xml', [`${SIP_HOST}:5060`, '-i', UAC_IP, '-p', '5060', '-mp', '60000', '-m', '1', '-timeout', '30s'], {
      TO: NUMBER, FROM: '+15550299', HOLD_MS: '3500', PTS: '0', RTPMAPS: 'a=rtpmap:0 PCMU/8000',
    }, 9700, tonePcap(5));
    const callId = await until(async () => {
      const items = ((await (await api('/v1/calls?limit=10')).json()) as { items: Array<{ id: string; state: string }> }).items;
      return items.find((c) => c.state === 'answered' || c.state === 'active')?.id;
    }, 'the answered call in /v1/calls', 10_000);
    const answeredAt = await until(() => media.got[0]?.at, 'RTP at the callee', 5_000);
    const [u] = await Promise.all([uac.done, uas.done]); // the caller hangs up by itself after 3.5 s
    expect(u.code, u.output.slice(-2000)).toBe(0);

    // The two 200 ms beeps (≈ 20 packets), after the default 1 s delay, once.
    const tone = media.consentPackets().map((at) => at - answeredAt);
    expect(tone.length, JSON.stringify(tone)).toBeGreaterThanOrEqual(15);
    expect(tone.length, JSON.stringify(tone)).toBeLessThanOrEqual(35);
    expect(Math.min(...tone)).toBeGreaterThanOrEqual(800);
    expect(Math.max(...tone) - Math.min(...tone)).toBeLessThan(1200);
    media.close();

    // Recorded by the policy: the recording of this call reaches the REST listing.
    const rec = await until(async () => ((await (await api(`/v1/recordings?callId=${callId}`)).json()) as { items: Array<{ id: string; callId: string }> }).items[0], 'the recording', 15_000);
    expect(rec.callId).toBe(callId);
  }, 45_000);
});
