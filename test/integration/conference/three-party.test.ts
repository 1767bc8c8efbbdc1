/**
 * A three-party audio conference (docs/conferences.md): one browser (headless Chromium with the SDK, through the
 * WebRTC ⇄ SIP gateway; opus on its leg) and two SIP phones (baresip, PCMU). Everyone is called into conference
 * `c1` with `POST /v1/conferences/c1/participants` (the voice engine originates a call running
 * `[{ verb: 'conference', name: 'c1' }]`). Each party sends its own tone — alice 500 Hz, bob 900 Hz, the browser
 * 1400 Hz (a WebAudio oscillator) — and must hear the two others and not itself (Goertzel on what baresip decoded
 * and on what the browser received). Also checked: the REST listing, mute/unmute over REST, `DELETE` ends the calls, and
 * the signed `conference.*` webhooks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasCommand, requires } from '../../support/requires.js';
import { startPhone, type Phone } from '../../e2e/support/gateway.js';
import { goertzel } from '../../runtime/media-agent/audio-support.js';
import { CHROMIUM, DOMAIN, NET, startConferenceBed, type ConferenceBed } from './bed.js';
import { sleep, until } from '../../support/wait.js';

const available =
  requires('conference: chromium', existsSync(CHROMIUM), `${CHROMIUM} not found`) &&
  requires('conference: rtpengine', hasCommand('rtpengine'), 'rtpengine not found (apt-get install rtpengine-daemon)') &&
  requires('conference: baresip', hasCommand('baresip'), 'baresip not found (apt-get install baresip-core)') &&
  requires('conference: sox', hasCommand('sox'), 'sox not found');

const TONES = { alice: 500, bob: 900, browser: 1400 } as const;
type Party = keyof typeof TONES;


/** Mono 16-bit PCM samples of a WAV file (first channel) and its rate. */
function readWav(file: string): { rate: number; samples: Int16Array } {
  const b = readFileSync(file);
  let off = 12;
  let rate = 8000;
  let channels = 1;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      channels = b.readUInt16LE(off + 10);
      rate = b.readUInt32LE(off + 12);
    } else if (id === 'data') {
      const data = b.subarray(off + 8, Math.min(b.length, off + 8 + (size || b.length)));
      const n = Math.floor(data.length / 2 / channels);
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = data.readInt16LE(i * 2 * channels);
      return { rate, samples };
    }
    off += 8 + size + (size % 2);
  }
  return { rate, samples: new Int16Array(0) };
}

/** Relative power of each party's tone in `samples`. */
function powers(samples: ArrayLike<number>, rate: number): Record<Party, number> {
  return { alice: goertzel(samples, TONES.alice, rate), bob: goertzel(samples, TONES.bob, rate), browser: goertzel(samples, TONES.browser, rate) };
}

function expectHears(who: Party, p: Record<Party, number>): void {
  if (process.env.CONF_DEBUG) console.log(who, 'hears', JSON.stringify(p));
  for (const other of Object.keys(TONES) as Party[]) {
    if (other === who) expect(p[other], `${who} must not hear itself: ${JSON.stringify(p)}`).toBeLessThan(0.02);
    else expect(p[other], `${who} must hear ${other}: ${JSON.stringify(p)}`).toBeGreaterThan(0.08);
  }
}

describe.skipIf(!available)('three-party audio conference (browser + two SIP phones)', () => {
  let bed: ConferenceBed;
  let alice: Phone;
  let bob: Phone;
  let page: Page;
  const api = (p: string, init: RequestInit & { json?: unknown } = {}) => bed.platform.api(p, { ...init, key: bed.apiKey });

  beforeAll(async () => {
    bed = await startConferenceBed();
    expect((await api('/v1/sip/domain', { method: 'PUT', json: { domain: DOMAIN } })).status).toBe(200);
    for (const username of ['alice', 'bob']) {
      const r = await api('/v1/sip/users', { method: 'POST', json: { username, password: `pw-${username}-123456` } });
      expect(r.status, await r.clone().text()).toBe(201);
    }
    const proxy = `${NET.engine}:5060`;
    [alice, bob] = await Promise.all([
      startPhone({ name: 'alice', ip: '127.0.16.1', sipPort: 5600, password: 'pw-alice-123456', codecs: 'PCMU/8000/1', toneHz: TONES.alice, domain: DOMAIN, proxy, ports: { ctrl: 4500, rtp: 56000 } }),
      startPhone({ name: 'bob', ip: '127.0.16.2', sipPort: 5602, password: 'pw-bob-123456', codecs: 'PCMU/8000/1', toneHz: TONES.bob, domain: DOMAIN, proxy, ports: { ctrl: 4501, rtp: 56020 } }),
    ]);
    for (const u of ['alice', 'bob']) await until(async () => (await bed.repo.registrations(bed.tenantId, u)).length > 0, `${u} registered`, 10_000);
    page = await bed.page('web-carol');
    // The browser's microphone: a 1400 Hz oscillator (no device audio processing in the way).
    await page.evaluate(async (hz) => {
      const w = window as unknown as Record<string, any>;
      const ctx = new AudioContext();
      await ctx.resume();
      const osc = ctx.createOscillator();
      osc.frequency.value = hz;
      const gain = ctx.createGain();
      gain.gain.value = 0.3;
      const dest = ctx.createMediaStreamDestination();
      osc.connect(gain).connect(dest);
      osc.start();
      w.G.ctx = ctx;
      w.G.media = await w.Cpaas.LocalMedia.create({ audio: false, video: false });
      w.G.media.stream.addTrack(dest.stream.getAudioTracks()[0]);
    }, TONES.browser);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([alice, bob].map((p) => p?.stop()));
    await bed?.close();
  });

  it('each party hears the two others and not itself; REST lists, mutes and ends; webhooks are signed', async () => {
    const dial = async (to: Record<string, string>) => {
      const r = await api('/v1/conferences/c1/participants', { method: 'POST', json: { to, from: 'conference' } });
      expect(r.status, await r.clone().text()).toBe(201);
      return ((await r.json()) as { callId: string }).callId;
    };
    await dial({ type: 'user', name: 'alice' });
    await dial({ type: 'user', name: 'bob' });
    await dial({ type: 'identity', identity: 'web-carol' });
    await until(() => page.evaluate(() => !!(window as unknown as { G: Record<string, any> }).G.incoming), 'incoming-phone-call in the browser');
    await page.evaluate(async () => {
      const G = (window as unknown as { G: Record<string, any> }).G;
      await G.incoming.accept({ media: G.media });
    });
    await Promise.all([alice.waitEvent('CALL_ESTABLISHED'), bob.waitEvent('CALL_ESTABLISHED')]);
    await until(async () => {
      const r = await api('/v1/conferences/c1');
      return r.status === 200 && ((await r.json()) as { participants: unknown[] }).participants.length === 3;
    }, 'three participants in c1');
    const listed = (await (await api('/v1/conferences')).json()) as { items: Array<{ name: string; participants: Array<{ id: string; label: string; muted: boolean }> }> };
    expect(listed.items.map((c) => c.name)).toEqual(['c1']);
    expect(listed.items[0]!.participants.map((p) => p.label).sort()).toEqual(['alice', 'bob', 'web-carol']);

    // Mute and unmute over REST (mixing of muted parties is covered by the unit tests); the audio windows below
    // come later, with everyone unmuted.
    const aliceP = listed.items[0]!.participants.find((p) => p.label === 'alice')!;
    for (const muted of [true, false]) {
      const m = await api(`/v1/conferences/c1/participants/${aliceP.id}`, { method: 'POST', json: { muted } });
      expect(m.status).toBe(200);
      expect(((await m.json()) as { muted: boolean }).muted).toBe(muted);
    }

    // Let audio flow with everyone in, then record 1.5 s of what the browser receives.
    await sleep(2000);
    const heard = await page.evaluate(async (ms) => {
      const G = (window as unknown as { G: Record<string, any> }).G;
      const pc: RTCPeerConnection = G.incoming.pc;
      const track = pc.getReceivers().map((r) => r.track).find((t) => t && t.kind === 'audio')!;
      const stream = new MediaStream([track]);
      const el = new Audio();
      el.srcObject = stream;
      el.muted = true;
      await el.play().catch(() => undefined);
      const ctx: AudioContext = G.ctx;
      const src = ctx.createMediaStreamSource(stream);
      const proc = ctx.createScriptProcessor(4096, 1, 1);
      const chunks: number[][] = [];
      proc.onaudioprocess = (e) => chunks.push(Array.from(e.inputBuffer.getChannelData(0)));
      src.connect(proc);
      proc.connect(ctx.destination);
      await new Promise((r) => setTimeout(r, ms));
      proc.disconnect();
      src.disconnect();
      return { rate: ctx.sampleRate, samples: chunks.flat().slice(-Math.round(ctx.sampleRate)) };
    }, 1500);
    expect(heard.samples.length).toBeGreaterThan(heard.rate * 0.9);
    expectHears('browser', powers(heard.samples, heard.rate));

    // End the conference: the participants' documents end, so their calls hang up.
    expect((await api('/v1/conferences/c1', { method: 'DELETE' })).status).toBe(204);
    await Promise.all([alice.waitEvent('CALL_CLOSED'), bob.waitEvent('CALL_CLOSED')]);
    expect((await api('/v1/conferences/c1')).status).toBe(404);

    // What each phone decoded (baresip's sndfile dump, finished at hangup).
    for (const [who, phone] of [['alice', alice], ['bob', bob]] as const) {
      const files = phone.dumps('dec');
      expect(files.length, `${who} dumps`).toBeGreaterThan(0);
      const { rate, samples } = readWav(files[0]!);
      // A 1 s window ending 1.2 s before the dump ends: inside the browser's capture, everyone joined and unmuted.
      const end = Math.max(0, samples.length - Math.round(rate * 1.2));
      const win = samples.subarray(Math.max(0, end - rate), end);
      expectHears(who, powers(win, rate));
    }

    // Webhooks: started, three joins, alice muted and unmuted, three lefts, ended — all signed.
    await until(() => bed.hooks.some((h) => h.type === 'conference.ended'), 'conference.ended webhook', 10_000);
    const types = bed.hooks.map((h) => h.type);
    expect(types[0]).toBe('conference.started');
    expect(types.filter((t) => t === 'conference.participant.joined')).toHaveLength(3);
    expect(types.filter((t) => t === 'conference.participant.left')).toHaveLength(3);
    expect(bed.hooks.filter((h) => h.type === 'conference.participant.muted').map((h) => (h.data.participant as { muted: boolean }).muted)).toEqual([true, false]);
    expect(types.at(-1)).toBe('conference.ended');
    expect(bed.hooks.every((h) => h.signed)).toBe(true);
  }, 90_000);
});
