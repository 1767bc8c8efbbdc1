import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import { requires } from '../../support/requires.js';
import { zeroCrossingHz, goertzel } from '../../runtime/media-agent/audio-support.js';
import type { Frame, VoicemailDeposit } from '../../../runtime/sbc/voice/contracts.js';
import type { CallStatusEvent } from '../../../runtime/core/protocol/voice.js';
import { decodeWav } from '../../../runtime/sbc/voice/media/sources.js';
import { ToneSource } from '../../../runtime/sbc/voice/media/sources.js';
import {
  ENGINE_IP, TAIL_SEND_BYE, TAIL_WAIT_BYE, TENANT, UAC_IP, UAS_IP, closePeers, haveRtpengine, haveSipp, peer, seedVoice, sipp, startVoiceBed, until, waitForBound, type VoiceBed,
} from './harness.js';

const run = requires('sipp', haveSipp, 'sipp (Debian sip-tester) not installed')
  && requires('rtpengine', haveRtpengine, 'rtpengine (Debian rtpengine-daemon) not installed');
const SBC = `${ENGINE_IP}:5060`;

const deposits: Array<VoicemailDeposit & { pcm: Int16Array }> = [];
const sink = {
  deposit(d: VoicemailDeposit) {
    deposits.push({ ...d, pcm: decodeWav(readFileSync(d.wavPath)) });
    rmSync(d.wavPath, { force: true });
    return Promise.resolve({ messageId: `vm-${deposits.length}` });
  },
  settings: (_t: string, m: VoicemailDeposit['mailbox']) => Promise.resolve({ enabled: m.id === 'dave', ringTimeoutSeconds: 2 }),
};

/** Collects frames with their arrival time. */
function listen(ep: { onFrame(cb: (f: Frame) => void): () => void }): { frames: Frame[]; samples(): number[] } {
  const frames: Frame[] = [];
  ep.onFrame((f) => frames.push(f));
  return { frames, samples: () => frames.flatMap((f) => Array.from(f)) };
}

/** The dominant frequency among candidates in a window of samples. */
const loudest = (s: number[], cands: number[]) => cands.map((hz) => [hz, goertzel(s, hz)] as const).sort((a, b) => b[1] - a[1])[0]![0];

describe.runIf(run)('programmable voice: sipp phones ⇄ SBC (rtpengine ⇄ RtpEndpoint) ⇄ application', () => {
  let bed: VoiceBed;
  let numberSeq = 100;
  const number = async (destination: { type: 'application'; url: string } | { type: 'sip-user'; username: string }) => {
    const e164 = `+1555000${numberSeq++}`;
    await bed.repo.putNumber({ tenantId: TENANT, e164, destination });
    return e164;
  };
  const uac = async (to: string, o: { tail: string; play?: string; media?: { ip: string; port: number } }) =>
    sipp('uac.xml', [SBC, '-i', UAC_IP, '-p', '5061', '-m', '1', '-timeout', '30s'], {
      TO: to, FROM: '+12125550100', TAIL: o.tail, PLAY: o.play ?? '',
      MIP: o.media?.ip ?? '[media_ip]', MPORT: o.media ? String(o.media.port) : '[media_port]',
    });
  const uas = async (port: number, media: { ip: string; port: number }, waitMs = 20000, ringMs = 300) => {
    const s = sipp('uas.xml', ['-i', UAS_IP, '-p', String(port), '-m', '1', '-timeout', '30s'], { MIP: media.ip, MPORT: String(media.port), WAIT_MS: String(waitMs), RING_MS: String(ringMs) });
    await waitForBound('udp', UAS_IP, port);
    return s;
  };

  beforeAll(async () => {
    bed = await startVoiceBed({ voicemail: sink, recordDir: '/tmp/cpaas-voice-test-rec' });
    await seedVoice(bed.repo);
  }, 30_000);
  afterEach(() => closePeers());
  afterAll(async () => {
    await bed?.close();
  });

  it('inbound call to an application: signed hook, play a tone, gather RFC 4733 digits, actionHook, hangup', async () => {
    const { app } = bed;
    app.routes.set('/ivr', [
      { verb: 'play', source: { tone: { frequencies: [1200], durationMs: 600 } } },
      { verb: 'gather', numDigits: 2, timeoutSeconds: 5, actionHook: `${app.url}/digits` },
    ]);
    app.routes.set('/digits', [{ verb: 'pause', seconds: 0.2 }, { verb: 'hangup' }]);
    const to = await number({ type: 'application', url: `${app.url}/ivr` });
    const phone = await peer(UAC_IP);
    const heard = listen(phone);
    const caller = await uac(to, { tail: TAIL_WAIT_BYE(), media: { ip: UAC_IP, port: phone.port } });
    await until(() => heard.frames.length >= 10, 8000, 'the tone');
    await until(() => heard.frames.length >= 30, 4000, 'more tone');
    await new Promise((r) => setTimeout(r, 300)); // the gather starts when the tone ends
    await phone.sendDtmf('4', 80);
    await phone.sendDtmf('2', 80);
    const r = await caller.done;
    expect(r.code, r.output).toBe(0);
    const first = app.requests.find((q) => q.path === '/ivr')!;
    expect(first.signed).toBe(true);
    expect(first.body).toMatchObject({ event: 'call.incoming', tenantId: TENANT, direction: 'inbound', from: '+12125550100', to });
    const digits = app.requests.find((q) => q.path === '/digits')!;
    expect(digits.signed).toBe(true);
    expect(digits.body).toMatchObject({ event: 'verb.result', verb: 'gather', result: { digits: '42', reason: 'numDigits' } });
    const tone = heard.samples().slice(800, 4000);
    expect(Math.abs(zeroCrossingHz(tone) - 1200)).toBeLessThan(30);
  }, 30_000);

  it('gather collects the RFC 2833 digit sipp plays from its pcap (dtmf_2833_1.pcap)', async () => {
    const { app } = bed;
    let got: unknown;
    app.routes.set('/pcap', [{ verb: 'gather', numDigits: 1, timeoutSeconds: 8, actionHook: `${app.url}/pcap-result` }]);
    app.routes.set('/pcap-result', (b: Record<string, unknown>) => {
      got = b.result;
      return [{ verb: 'hangup' }];
    });
    const to = await number({ type: 'application', url: `${app.url}/pcap` });
    const caller = await uac(to, { tail: TAIL_WAIT_BYE(), play: '<nop><action><exec play_pcap_audio="pcap/dtmf_2833_1.pcap"/></action></nop>' });
    const r = await caller.done;
    expect(r.code, r.output).toBe(0);
    expect(got).toEqual({ digits: '1', reason: 'numDigits' });
  }, 30_000);

  it('dial bridges two phones: media flows both ways; the dial result goes to the actionHook', async () => {
    const { app } = bed;
    let dialResult: unknown;
    // A short beep first: the test peers (unlike phones) only send once they heard something (address latching).
    app.routes.set('/dial', [{ verb: 'play', source: { tone: { frequencies: [300], durationMs: 100 } } }, { verb: 'dial', targets: [{ type: 'sip', uri: `sip:bob@${UAS_IP}:5071` }], timeoutSeconds: 10, actionHook: `${app.url}/dialed` }]);
    app.routes.set('/dialed', (b: Record<string, unknown>) => {
      dialResult = b.result;
      return '';
    });
    const to = await number({ type: 'application', url: `${app.url}/dial` });
    const a = await peer(UAC_IP);
    const b = await peer(UAS_IP);
    const aHeard = listen(a);
    const bHeard = listen(b);
    const callee = await uas(5071, { ip: UAS_IP, port: b.port });
    // The callee's media only starts once rtpengine sends to it: prime both sides with a short silence burst.
    const caller = await uac(to, { tail: TAIL_SEND_BYE(3500), media: { ip: UAC_IP, port: a.port } });
    const primeA = setInterval(() => a.send(new Int16Array(160)), 20);
    const primeB = setInterval(() => b.send(new Int16Array(160)), 20);
    await until(() => aHeard.frames.length > 5 && bHeard.frames.length > 5, 10_000, 'media both ways');
    clearInterval(primeA);
    clearInterval(primeB);
    aHeard.frames.length = 0;
    bHeard.frames.length = 0;
    await Promise.all([a.play(new ToneSource({ frequencies: [500], durationMs: 800 })), b.play(new ToneSource({ frequencies: [900], durationMs: 800 }))]);
    const [rc, rs] = await Promise.all([caller.done, callee.done]);
    expect(rc.code, rc.output).toBe(0);
    expect(rs.code, rs.output).toBe(0);
    expect(loudest(bHeard.samples().slice(400, 4000), [500, 900])).toBe(500);
    expect(loudest(aHeard.samples().slice(400, 4000), [500, 900])).toBe(900);
    await until(() => dialResult !== undefined, 3000, 'dial result');
    expect(dialResult).toMatchObject({ dialStatus: 'answered' });
  }, 40_000);

  it('dial: a busy target gives dialStatus busy; simultaneous dialing bridges the one that answers', async () => {
    const { app } = bed;
    const results: unknown[] = [];
    app.routes.set('/busy', [
      { verb: 'dial', targets: [{ type: 'sip', uri: `sip:busy@${UAS_IP}:5073` }], timeoutSeconds: 10 },
      { verb: 'dial', mode: 'simultaneous', targets: [{ type: 'sip', uri: `sip:busy2@${UAS_IP}:5074` }, { type: 'sip', uri: `sip:ok@${UAS_IP}:5075` }], timeoutSeconds: 10, actionHook: `${app.url}/busy-done` },
    ]);
    app.routes.set('/busy-done', (b: Record<string, unknown>) => {
      results.push((b.variables as Record<string, unknown>).dial, b.result);
      return [{ verb: 'hangup' }];
    });
    const to = await number({ type: 'application', url: `${app.url}/busy` });
    const b = await peer(UAS_IP);
    const busy = sipp('uas-busy.xml', ['-i', UAS_IP, '-p', '5073', '-m', '1', '-timeout', '30s'], { RING_MS: '200' });
    const busy2 = sipp('uas-busy.xml', ['-i', UAS_IP, '-p', '5074', '-m', '1', '-timeout', '30s'], { RING_MS: '100' });
    await waitForBound('udp', UAS_IP, 5073);
    await waitForBound('udp', UAS_IP, 5074);
    const ok = await uas(5075, { ip: UAS_IP, port: b.port }, 20000, 600);
    const phone = await peer(UAC_IP);
    const caller = await uac(to, { tail: TAIL_SEND_BYE(2500), media: { ip: UAC_IP, port: phone.port } });
    const [rc, r1, r2, r3] = await Promise.all([caller.done, busy.done, busy2.done, ok.done]);
    for (const r of [rc, r1, r2, r3]) expect(r.code, r.output).toBe(0);
    await until(() => results.length === 2, 3000, 'the dial results');
    expect(results[0]).toMatchObject({ dialStatus: 'busy', sipStatus: 486 });
    expect(results[1]).toMatchObject({ dialStatus: 'answered' });
  }, 30_000);

  it('record stores a voicemail message (WAV through the VoicemailSink); redirect fetches the next document', async () => {
    const { app } = bed;
    app.routes.set('/vm', [{ verb: 'redirect', url: `${app.url}/vm2` }]);
    app.routes.set('/vm2', [{ verb: 'record', maxLengthSeconds: 2, beep: true, voicemail: { mailbox: 'carol', kind: 'sip-user' }, actionHook: `${app.url}/recorded` }]);
    app.routes.set('/recorded', [{ verb: 'hangup' }]);
    const to = await number({ type: 'application', url: `${app.url}/vm` });
    const phone = await peer(UAC_IP);
    const heard = listen(phone);
    const before = deposits.length;
    const caller = await uac(to, { tail: TAIL_WAIT_BYE(), media: { ip: UAC_IP, port: phone.port } });
    await until(() => heard.frames.length > 3, 8000, 'the beep');
    await phone.play(new ToneSource({ frequencies: [700], durationMs: 2500 }));
    const r = await caller.done;
    expect(r.code, r.output).toBe(0);
    expect(app.requests.some((q) => q.path === '/vm2' && q.body.event === 'call.redirect')).toBe(true);
    expect(deposits.length).toBe(before + 1);
    const d = deposits.at(-1)!;
    expect(d.mailbox).toEqual({ kind: 'sip-user', id: 'carol' });
    expect(d.durationMs).toBeGreaterThan(1500);
    expect(Math.abs(zeroCrossingHz(Array.from(d.pcm.subarray(2000, 10000))) - 700)).toBeLessThan(25);
    const rec = app.requests.find((q) => q.path === '/recorded')!;
    expect(rec.body.result).toMatchObject({ voicemailId: `vm-${before + 1}`, reason: 'maxLength' });
  }, 30_000);

  for (const kind of ['invalid document', 'webhook timeout'] as const) {
    it(`${kind}: error tone and BYE within a bounded time, counted by reason`, async () => {
      const { app } = bed;
      const p = kind === 'invalid document' ? '/bad' : '/slow';
      app.routes.set(p, kind === 'invalid document' ? [{ verb: 'dance' }] : 'hang');
      const reason = kind === 'invalid document' ? 'invalid-document' : 'timeout';
      const errors = () => bed.sbc.metrics.registry.counter('cpaas_voice_app_errors_total', '').get({ reason });
      const before = errors();
      const to = await number({ type: 'application', url: `${app.url}${p}` });
      const phone = await peer(UAC_IP);
      const heard = listen(phone);
      const t0 = Date.now();
      const caller = await uac(to, { tail: TAIL_WAIT_BYE(15000), media: { ip: UAC_IP, port: phone.port } });
      const r = await caller.done;
      expect(r.code, r.output).toBe(0);
      expect(Date.now() - t0).toBeLessThan(kind === 'invalid document' ? 4000 : 9000);
      expect(errors()).toBe(before + 1);
      const s = heard.samples();
      expect(goertzel(s.slice(0, 1600), 950) + goertzel(s.slice(0, 1600), 1400)).toBeGreaterThan(0.5);
    }, 30_000);
  }

  it('originate reaches a sipp UAS, runs the inline document, status events in order', async () => {
    const events: CallStatusEvent[] = [];
    const off = bed.sbc.voice!.onStatus((e) => events.push(e));
    const phone = await peer(UAS_IP);
    const heard = listen(phone);
    const callee = await uas(5072, { ip: UAS_IP, port: phone.port }, 20000, 500);
    const view = await bed.sbc.voice!.originate({
      tenantId: TENANT, to: { type: 'sip', uri: `sip:carol@${UAS_IP}:5072` }, from: '+15550001',
      application: { document: [{ verb: 'play', source: { tone: { frequencies: [1000], durationMs: 800 } } }, { verb: 'hangup' }] },
      ringTimeoutSeconds: 10, tag: { campaign: 'spring' },
    });
    expect(view.status).toBe('initiated');
    expect(bed.sbc.voice!.get(TENANT, view.callId)?.callId).toBe(view.callId);
    expect(bed.sbc.voice!.get('other-tenant', view.callId)).toBeUndefined();
    const r = await callee.done;
    expect(r.code, r.output).toBe(0);
    await until(() => events.some((e) => e.callId === view.callId && e.status === 'completed'), 5000, 'completed');
    off();
    const mine = events.filter((e) => e.callId === view.callId);
    expect(mine.map((e) => e.status)).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    expect(mine.map((e) => e.sequence)).toEqual([1, 2, 3, 4]);
    expect(Math.abs(zeroCrossingHz(heard.samples().slice(800, 4800)) - 1000)).toBeLessThan(25);
  }, 30_000);

  it('an unanswered call to a user with voicemail leaves a message', async () => {
    await bed.repo.createUser({ tenantId: TENANT, username: 'dave', domain: 'acme.voice.test', password: 'dave-password-1', enabled: true });
    const to = await number({ type: 'sip-user', username: 'dave' });
    const phone = await peer(UAC_IP);
    const heard = listen(phone);
    const before = deposits.length;
    const caller = await uac(to, { tail: TAIL_SEND_BYE(3000), media: { ip: UAC_IP, port: phone.port } });
    await until(() => heard.frames.length > 3, 8000, 'the greeting');
    await phone.play(new ToneSource({ frequencies: [600], durationMs: 1800 }));
    const r = await caller.done;
    expect(r.code, r.output).toBe(0);
    await until(() => deposits.length > before, 5000, 'the deposit');
    const d = deposits.at(-1)!;
    expect(d.mailbox).toEqual({ kind: 'sip-user', id: 'dave' });
    expect(d.from).toBe('+12125550100');
    expect(loudest(Array.from(d.pcm.subarray(1600, 8000)), [440, 600, 1000])).toBe(600);
  }, 30_000);
});
