/**
 * The gateway's vanished-browser watchdog end to end: the browser dials a baresip phone, media flows, then the
 * page's RTCPeerConnection is closed without any hangup (the socket stays connected, so only the media stops).
 * The SBC must BYE the phone (Reason: browser media timeout) and close the call record as media-timeout.
 * Same test bed and loopback plan as gateway.test.ts (127.0.8.0/24); the watchdog runs with 3 s / 0.5 s here.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, requires } from '../support/requires.js';
import { CHROMIUM, DOMAIN, startGatewayBed, startPhone, type GatewayBed, type Phone } from './support/gateway.js';
import { until } from '../support/wait.js';

const available =
  requires('gateway watchdog e2e: chromium', existsSync(CHROMIUM), `${CHROMIUM} not found`) &&
  requires('gateway watchdog e2e: rtpengine', hasCommand('rtpengine'), 'rtpengine not found (apt-get install rtpengine-daemon)') &&
  requires('gateway watchdog e2e: baresip', hasCommand('baresip'), 'baresip not found (apt-get install baresip-core)');


describe.skipIf(!available)('gateway: a vanished browser does not leave the SIP leg up', () => {
  let bed: GatewayBed;
  let alice: Phone;
  const api = (p: string, init: RequestInit & { json?: unknown } = {}) => bed.platform.api(p, { ...init, key: bed.apiKey });

  beforeAll(async () => {
    bed = await startGatewayBed();
    bed.sbc.gateway!.watchdog!.configure({ intervalMs: 500, timeoutMs: 3000 });
    expect((await api('/v1/sip/domain', { method: 'PUT', json: { domain: DOMAIN } })).status).toBe(200);
    const r = await api('/v1/sip/users', { method: 'POST', json: { username: 'alice', password: 'pw-alice-123456' } });
    expect(r.status, await r.clone().text()).toBe(201);
    alice = await startPhone({ name: 'alice', ip: '127.0.8.1', password: 'pw-alice-123456', codecs: 'opus/48000/2,PCMU/8000/1', toneHz: 440 });
    await until(async () => (await bed.repo.registrations(bed.tenantId, 'alice')).length > 0, 'alice registered', 10_000);
  }, 90_000);

  afterAll(async () => {
    await alice?.stop();
    await bed?.close();
  });

  it('hangs up the SIP leg with a reason and closes the call record when the browser media stops', async () => {
    const page = await bed.page('web-alice');
    const callId = await page.evaluate(async () => {
      const G = (window as unknown as { G: Record<string, any> }).G;
      G.call = await G.client.dial('alice', { media: G.media });
      return G.call.id as string;
    });
    await alice.waitEvent('CALL_ESTABLISHED');
    await until(async () => {
      const q = await bed.sbc.gateway!.recordable(callId)?.media.query();
      return (q?.packets.browser ?? 0) > 50;
    }, 'browser RTP at rtpengine');
    const t0 = Date.now();
    // The tab "vanishes" for the media path only: no hangup, no socket disconnect.
    await page.evaluate(() => (window as unknown as { G: Record<string, any> }).G.call.pc.close());
    await alice.waitEvent('CALL_CLOSED');
    const took = Date.now() - t0;
    expect(took).toBeGreaterThan(2000); // not before the timeout …
    expect(took).toBeLessThan(10_000); // … and not much after it
    expect(bed.sbc.gateway!.watchdog!.timeouts).toBe(1);
    await until(async () => {
      const res = await api(`/v1/calls/${callId}`);
      return res.status === 200 && ((await res.json()) as { state: string }).state === 'ended';
    }, 'call record ended', 5_000);
    const cdr = (await (await api(`/v1/calls/${callId}`)).json()) as { endReason: string; endedBy?: string };
    expect(cdr.endReason).toBe('media-timeout');
    await page.context().close();
  }, 60_000);
});
