/**
 * WebRTC ⇄ SIP gateway, real everything (docs/gateway.md): headless Chromium running the SDK, signalling, the SBC
 * with rtpengine, and baresip phones registered as SIP users of the tenant.
 *   (a) the browser dials alice (opus + PCMU): media both ways, hold/resume, hangup → CDR ended
 *   (b) bob's phone dials a browser identity: incoming-phone-call → accept → media both ways → bob hangs up
 *   (c) the browser dials carol (PCMU only): browser leg opus, phone PCMU (rtpengine transcodes), audio both ways,
 *       DTMF digits reach the phone
 *   (d) carol (PCMU only) dials a browser identity: browser leg opus, audio both ways
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasCommand, requires } from '../support/requires.js';
import { analyseWav, CHROMIUM, DOMAIN, startGatewayBed, startPhone, type GatewayBed, type Phone } from './support/gateway.js';
import { sleep, until as poll } from '../support/wait.js';

const available =
  requires('gateway e2e: chromium', existsSync(CHROMIUM), `${CHROMIUM} not found`) &&
  requires('gateway e2e: rtpengine', hasCommand('rtpengine'), 'rtpengine not found (apt-get install rtpengine-daemon)') &&
  requires('gateway e2e: baresip', hasCommand('baresip'), 'baresip not found (apt-get install baresip-core)') &&
  requires('gateway e2e: sox', hasCommand('sox'), 'sox not found');

let lastSeen: unknown;
/** `until` whose timeout message shows the last stats an assertion stored in `lastSeen`. */
const until = (fn: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<true> => {
  lastSeen = undefined;
  return poll(async () => (await fn()) || undefined, () => `${what} (last: ${JSON.stringify(lastSeen)})`, timeoutMs);
};

/** Inbound audio stats of the page's current phone call. */
function audioStats(page: Page, which: 'call' | 'incoming' = 'call') {
  return page.evaluate(async (w) => {
    const G = (window as unknown as { G: Record<string, any> }).G;
    const call = G[w];
    if (!call) return null;
    const report: RTCStatsReport = await call.pc.getStats();
    const all = new Map<string, any>();
    report.forEach((x: any) => all.set(x.id, x));
    const inb = [...all.values()].find((x) => x.type === 'inbound-rtp' && x.kind === 'audio');
    const out = [...all.values()].find((x) => x.type === 'outbound-rtp' && x.kind === 'audio');
    return {
      state: call.state as string,
      pc: call.pc.connectionState as string,
      packetsReceived: (inb?.packetsReceived ?? 0) as number,
      audioLevel: (inb?.audioLevel ?? 0) as number,
      energy: (inb?.totalAudioEnergy ?? 0) as number,
      packetsSent: (out?.packetsSent ?? 0) as number,
      codec: (all.get(inb?.codecId)?.mimeType ?? '') as string,
      debug: (window as any).GW_DEBUG ? { ...inb } : undefined,
    };
  }, which);
}

describe.skipIf(!available)('WebRTC ⇄ SIP gateway (Chromium ⇄ SBC/rtpengine ⇄ baresip)', () => {
  let bed: GatewayBed;
  let alice: Phone;
  let bob: Phone;
  let carol: Phone;
  const api = (p: string, init: RequestInit & { json?: unknown } = {}) => bed.platform.api(p, { ...init, key: bed.apiKey });

  beforeAll(async () => {
    bed = await startGatewayBed();
    expect((await api('/v1/sip/domain', { method: 'PUT', json: { domain: DOMAIN } })).status).toBe(200);
    for (const [username, extra] of [['alice', {}], ['bob', {}], ['carol', {}], ['webbob', { identity: 'web-bob' }]] as const) {
      const r = await api('/v1/sip/users', { method: 'POST', json: { username, password: `pw-${username}-123456`, ...extra } });
      expect(r.status, await r.clone().text()).toBe(201);
    }
    [alice, bob, carol] = await Promise.all([
      startPhone({ name: 'alice', ip: '127.0.8.1', password: 'pw-alice-123456', codecs: 'opus/48000/2,PCMU/8000/1', toneHz: 440 }),
      startPhone({ name: 'bob', ip: '127.0.8.2', password: 'pw-bob-123456', codecs: 'opus/48000/2,PCMU/8000/1', toneHz: 660 }),
      startPhone({ name: 'carol', ip: '127.0.8.4', password: 'pw-carol-123456', codecs: 'PCMU/8000/1', toneHz: 880 }),
    ]);
    // REGISTER can finish before ctrl_tcp is connected: ask the registrar instead of waiting for REGISTER_OK.
    for (const u of ['alice', 'bob', 'carol']) await until(async () => (await bed.repo.registrations(bed.tenantId, u)).length > 0, `${u} registered`, 10_000);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([alice, bob, carol].map((p) => p?.stop()));
    await bed?.close();
  });

  it('(a) the browser dials a SIP phone: media both ways, hold/resume, hangup ends the SIP call', async () => {
    const page = await bed.page('web-alice');
    const callId = await page.evaluate(async () => {
      const G = (window as unknown as { G: Record<string, any> }).G;
      const call = await G.client.dial('alice', { media: G.media });
      G.call = call;
      call.on('ringing', () => G.events.push('ringing'));
      call.on('answered', () => G.events.push('answered'));
      call.on('connected', () => G.events.push('connected'));
      call.on('error', (e: Error) => console.error('phone call error', e.message));
      call.on('state', (st: string) => console.log('phone call state', st));
      call.on('ended', (reason: string, sipStatus?: number) => (G.ended = { reason, sipStatus }));
      return call.id as string;
    });
    expect(callId).toMatch(/^ca/);
    await alice.waitEvent('CALL_ESTABLISHED');
    await until(async () => (await audioStats(page))?.state === 'active', 'browser call active');
    await until(async () => {
      const s = (lastSeen = await audioStats(page));
      return !!s && s.packetsReceived > 100 && s.audioLevel > 0;
    }, 'phone audio at the browser');
    const s1 = (await audioStats(page))!;
    expect(s1.codec).toBe('audio/opus'); // alice has opus: passthrough
    expect(s1.packetsSent).toBeGreaterThan(50);
    await page.evaluate(() => (window as unknown as { G: Record<string, any> }).G.call.sendDtmf('19'));
    await until(() => alice.dtmf() === '19', 'DTMF 19 at alice', 5_000);

    // hold / resume (re-INVITE sendonly / sendrecv toward the phone)
    await page.evaluate(() => (window as unknown as { G: Record<string, any> }).G.call.hold());
    await sleep(300);
    await page.evaluate(() => (window as unknown as { G: Record<string, any> }).G.call.resume());
    const before = (await audioStats(page))!.packetsReceived;
    await until(async () => (await audioStats(page))!.packetsReceived > before + 25, 'audio after resume');

    await sleep(1000);
    await page.evaluate(() => (window as unknown as { G: Record<string, any> }).G.call.hangup());
    await alice.waitEvent('CALL_CLOSED');
    // The browser's fake audio (a beep) reached the phone; the phone's 440 Hz tone went the other way.
    const dec = alice.dumps('dec').map(analyseWav);
    expect(dec.some((d) => d.peakRms > 300), JSON.stringify(dec)).toBe(true);
    const enc = alice.dumps('enc').map(analyseWav);
    expect(enc.some((d) => Math.abs(d.hz - 440) < 40), JSON.stringify(enc)).toBe(true);
    // CDR: the gateway call ended
    await until(async () => {
      const r = await api(`/v1/calls/${callId}`);
      return r.status === 200 && ((await r.json()) as { state: string }).state === 'ended';
    }, 'CDR ended', 5_000);
    const cdr = (await (await api(`/v1/calls/${callId}`)).json()) as { kind: string; endReason: string };
    expect(cdr.kind).toBe('gateway');
    expect(cdr.endReason).toBe('local-hangup');
    await page.context().close();
  }, 40_000);

  it('(b) a SIP phone dials a browser identity that answers; the phone hangs up', async () => {
    const page = await bed.page('web-bob');
    await bob.command('dial', `sip:webbob@${DOMAIN}`);
    await until(() => page.evaluate(() => !!(window as unknown as { G: Record<string, any> }).G.incoming), 'incoming-phone-call');
    await page.evaluate(async () => {
      const G = (window as unknown as { G: Record<string, any> }).G;
      G.incoming.on('ended', (reason: string) => (G.ended = { reason }));
      await G.incoming.accept({ media: G.media });
    });
    await bob.waitEvent('CALL_ESTABLISHED');
    await until(async () => {
      const s = await audioStats(page, 'incoming');
      return !!s && s.packetsReceived > 100 && s.audioLevel > 0 && s.packetsSent > 50;
    }, 'media both ways at the browser');
    const s = (await audioStats(page, 'incoming'))!;
    expect(s.codec).toBe('audio/opus');
    // DTMF toward the SIP caller (rtpengine injects it on the caller's leg).
    await page.evaluate(() => (window as unknown as { G: Record<string, any> }).G.incoming.sendDtmf('7*'));
    await until(() => bob.dtmf() === '7*', 'DTMF 7* at bob', 5_000);
    await bob.command('hangup');
    await until(() => page.evaluate(() => !!(window as unknown as { G: Record<string, any> }).G.ended), 'ended at the browser');
    expect(await page.evaluate(() => (window as unknown as { G: Record<string, any> }).G.ended.reason)).toBe('remote-hangup');
    const dec = bob.dumps('dec').map(analyseWav);
    expect(dec.some((d) => d.peakRms > 300), JSON.stringify(dec)).toBe(true);
    await page.context().close();
  }, 30_000);

  it('(c) a PCMU-only phone: opus ⇄ PCMU transcoded, audio both ways, DTMF reaches the phone', async () => {
    const page = await bed.page('web-carol');
    await page.evaluate(async () => {
      const G = (window as unknown as { G: Record<string, any> }).G;
      G.call = await G.client.dial('carol', { media: G.media });
      G.call.on('ended', (reason: string) => (G.ended = { reason }));
    });
    await carol.waitEvent('CALL_ESTABLISHED');
    await until(async () => {
      const st = (lastSeen = await audioStats(page));
      return !!st && st.packetsReceived > 100 && st.audioLevel > 0;
    }, 'transcoded audio at the browser');
    // Transcoded: the browser leg runs opus (G.711 kept from rtpengine's view of the browser offer), the phone PCMU.
    expect((await audioStats(page))!.codec).toBe('audio/opus');
    // DTMF: RFC 2833 injected by rtpengine (inject-DTMF on offer and answer) reaches the phone.
    await page.evaluate(() => (window as unknown as { G: Record<string, any> }).G.call.sendDtmf('5#'));
    await until(() => carol.dtmf() === '5#', 'DTMF 5# at carol', 5_000);
    await page.evaluate(() => (window as unknown as { G: Record<string, any> }).G.call.hangup());
    await carol.waitEvent('CALL_CLOSED');
    const dec = carol.dumps('dec').map(analyseWav);
    expect(dec.some((d) => d.peakRms > 300), JSON.stringify(dec)).toBe(true);
    const enc = carol.dumps('enc').map(analyseWav);
    expect(enc.some((d) => Math.abs(d.hz - 880) < 60), JSON.stringify(enc)).toBe(true);
    await page.context().close();
  }, 30_000);
  it('(d) a PCMU-only phone dials a browser identity: the browser leg is opus, audio both ways', async () => {
    const page = await bed.page('web-bob');
    carol.events.length = 0;
    await carol.command('dial', `sip:webbob@${DOMAIN}`);
    await until(() => page.evaluate(() => !!(window as unknown as { G: Record<string, any> }).G.incoming), 'incoming-phone-call');
    await page.evaluate(async () => {
      const G = (window as unknown as { G: Record<string, any> }).G;
      await G.incoming.accept({ media: G.media });
    });
    await carol.waitEvent('CALL_ESTABLISHED');
    await until(async () => {
      const st = (lastSeen = await audioStats(page, 'incoming'));
      return !!st && st.packetsReceived > 100 && st.audioLevel > 0 && st.packetsSent > 50;
    }, 'transcoded audio both ways at the browser');
    expect((await audioStats(page, 'incoming'))!.codec).toBe('audio/opus');
    await carol.command('hangup');
    await carol.waitEvent('CALL_CLOSED');
    await page.context().close();
  }, 30_000);
});
