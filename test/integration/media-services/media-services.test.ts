/**
 * Media services through the local platform (docs/recordings.md): REST → signalling → SBC control API → rtpengine.
 * A sipp carrier (127.0.13.40, plays a 440 Hz PCMU tone) calls a number routed to a second trunk whose callee is a
 * sipp UAS (127.0.13.41) answering with media at a Node UDP socket (127.0.13.42, sends 880 Hz, records what it gets).
 * On one call: recording start (consent tone) / pause / resume / stop over REST, play of a media-library file, stop
 * of a playing tone, DTMF injection; the resulting WAV has 440 Hz and 880 Hz channels and silence while paused.
 * A second call through a PCMA-only trunk is transcoded. Media library and client-upload REST round trips.
 * Loopback 127.0.13.30 (HTTP) / .31 (SIP, rtpengine ng 22372, media 39000–39299), sipp -cp 9300–9301, -mp 54000.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPlatform, type LocalPlatform } from '../../../runtime/local/platform.js';
import { LOCAL_TENANT_ID } from '../../../runtime/local/local-routes.js';
import { freePort } from '../../../runtime/local/daemon.js';
import { silentLogger } from '../../../runtime/core/logging.js';
import { readWav } from '../../../runtime/media-agent/recordings/pcap-to-wav.js';
import { goertzel, rms, zeroCrossingHz } from '../../runtime/media-agent/audio-support.js';
import { hasCommand, requires } from '../../support/requires.js';
import { sleep, until } from '../../support/wait.js';
import { CalleeMedia, running, sipp, tonePcap } from './support.js';

const available =
  requires('media-services: rtpengine', hasCommand('rtpengine'), 'rtpengine not found (apt-get install rtpengine-daemon)') &&
  requires('media-services: sipp', hasCommand('sipp'), 'sipp not found (apt-get install sip-tester)');

const HTTP_HOST = '127.0.13.30';
const SIP_HOST = '127.0.13.31';
const UAC_IP = '127.0.13.40';
const UAS_IP = '127.0.13.41';
const MEDIA_IP = '127.0.13.42';
const NUMBER = '+15550100';

/** A 16 kHz stereo 16-bit WAV of `hz` (the library normalizes it to 8 kHz mono). */
function wav16kStereo(hz: number, ms: number): Buffer {
  const n = (16 * ms) | 0;
  const buf = Buffer.alloc(44 + n * 4);
  buf.write('RIFF', 0, 'ascii'); buf.writeUInt32LE(36 + n * 4, 4); buf.write('WAVEfmt ', 8, 'ascii');
  buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(2, 22); buf.writeUInt32LE(16000, 24);
  buf.writeUInt32LE(64000, 28); buf.writeUInt16LE(4, 32); buf.writeUInt16LE(16, 34); buf.write('data', 36, 'ascii'); buf.writeUInt32LE(n * 4, 40);
  for (let i = 0; i < n; i++) {
    const v = Math.round(10000 * Math.sin((2 * Math.PI * hz * i) / 16000));
    buf.writeInt16LE(v, 44 + i * 4); buf.writeInt16LE(v, 46 + i * 4);
  }
  return buf;
}

describe.skipIf(!available)('media services over REST on live SIP calls (local platform, rtpengine, sipp)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cpaas-ms-'));
  let platform: LocalPlatform;
  let apiKey: string;
  let trunkOut: string;
  let api: (p: string, init?: { method?: string; json?: unknown; body?: Buffer; type?: string; token?: string }) => Promise<Response>;

  beforeAll(async () => {
    const controlPort = await freePort(SIP_HOST);
    platform = await startLocalPlatform({
      dataDir, rootDir: resolve('.'), host: HTTP_HOST, port: 0,
      turn: { enabled: false, port: 0, minPort: 0, maxPort: 0 },
      sip: { host: SIP_HOST, port: 5060, rtpengine: { ngPort: 22372, httpPort: 22373, minPort: 39000, maxPort: 39299 }, controlPort, recordTenants: [] },
      log: silentLogger,
    });
    expect(platform.components.find((c) => c.name === 'recordings')).toMatchObject({ running: true });
    apiKey = (await platform.app.services.apiKeys.create(LOCAL_TENANT_ID, 'media-services test')).token;
    api = (p, init = {}) =>
      fetch(`${platform.baseUrl}${p}`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${init.token ?? apiKey}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : init.body ? { 'content-type': init.type ?? 'audio/wav' } : {}) },
        ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : init.body ? { body: new Uint8Array(init.body) } : {}),
      });
    const tin = await api('/v1/trunks', { method: 'POST', json: { name: 'carrier-in', inboundCidrs: [`${UAC_IP}/32`], gateways: [{ host: UAC_IP, port: 5060 }] } });
    expect(tin.status, await tin.clone().text()).toBe(201);
    const tout = await api('/v1/trunks', { method: 'POST', json: { name: 'carrier-out', gateways: [{ host: UAS_IP, port: 5060 }] } });
    expect(tout.status).toBe(201);
    trunkOut = ((await tout.json()) as { id: string }).id;
    expect((await api(`/v1/numbers/${encodeURIComponent(NUMBER)}`, { method: 'PUT', json: { destination: { type: 'trunk', trunkId: trunkOut } } })).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    for (const s of running) s.kill();
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Starts a carrier call UAC → SBC → UAS(+Node media); resolves once it is answered, with the platform call id. */
  async function startCall(o: { holdMs: number; uacCodec: 'PCMU' | 'PCMA'; answer: 'PCMU' | 'PCMA' | 'G722'; cp: number }) {
    const media = await CalleeMedia.open(MEDIA_IP, o.answer === 'PCMU' ? 'mulaw' : o.answer === 'PCMA' ? 'alaw' : 'g722');
    const uas = sipp('uas-media.xml', ['-i', UAS_IP, '-p', '5060', '-m', '1'], {
      MEDIA_IP, MEDIA_PORT: String(media.port), ANSWER_PT: { PCMU: '0', PCMA: '8', G722: '9' }[o.answer], ANSWER_CODEC: o.answer,
    }, o.cp + 1);
    await sleep(300);
    const pt = o.uacCodec === 'PCMU' ? '0' : '8';
    const uac = sipp('uac-tone.xml', [`${SIP_HOST}:5060`, '-i', UAC_IP, '-p', '5060', '-mp', '54000', '-m', '1', '-timeout', '40s'], {
      TO: NUMBER, FROM: '+15550199', HOLD_MS: String(o.holdMs), PTS: pt, RTPMAPS: `a=rtpmap:${pt} ${o.uacCodec}/8000`,
    }, o.cp, tonePcap(Math.ceil(o.holdMs / 1000) + 1));
    const callId = await until(async () => {
      const items = ((await (await api('/v1/calls?limit=10')).json()) as { items: Array<{ id: string; state: string }> }).items;
      return items.find((c) => c.state === 'answered' || c.state === 'active')?.id;
    }, 'the answered call in /v1/calls', 10_000);
    await until(() => media.got.length > 5, 'RTP at the callee', 5_000);
    return { callId, media, uac, uas };
  }

  it('media library: upload (normalized), list, get, reject non-WAV', async () => {
    const put = await api('/v1/media/beep1k', { method: 'PUT', body: wav16kStereo(1000, 800) });
    expect(put.status, await put.clone().text()).toBe(200);
    expect(await put.json()).toMatchObject({ name: 'beep1k', durationMs: 800, original: 'pcm16/16000/2', sizeBytes: 44 + 6400 * 2 });
    expect(((await (await api('/v1/media')).json()) as { items: Array<{ name: string }> }).items.map((i) => i.name)).toContain('beep1k');
    expect(await (await api('/v1/media/beep1k')).json()).toMatchObject({ name: 'beep1k', durationMs: 800 });
    expect((await api('/v1/media/junk', { method: 'PUT', body: Buffer.from('not a wav at all, sorry') })).status).toBe(400);
    expect((await api('/v1/media/missing')).status).toBe(404);
    const tmp = await api('/v1/media/tmp-one', { method: 'PUT', body: wav16kStereo(500, 100) });
    expect(tmp.status).toBe(200);
    expect((await api('/v1/media/tmp-one', { method: 'DELETE' })).status).toBe(204);
    expect((await api('/v1/media/tmp-one')).status).toBe(404);
  });

  it('recording start (consent tone) / pause / resume / stop, playback, stop of playback, DTMF on a live call', async () => {
    const { callId, media, uac, uas } = await startCall({ holdMs: 10_000, uacCodec: 'PCMU', answer: 'PCMU', cp: 9300 });
    expect((await api('/v1/calls/ca_missing/recording', { method: 'POST', json: { action: 'start' } })).status).toBe(404);
    expect((await api(`/v1/calls/${callId}/recording`, { method: 'POST', json: { action: 'pause' } })).status).toBe(409);

    const t0 = Date.now();
    const start = await api(`/v1/calls/${callId}/recording`, { method: 'POST', json: { action: 'start', announce: true } });
    expect(start.status, await start.clone().text()).toBe(200);
    expect(await start.json()).toMatchObject({ callId, recording: true, state: 'recording', announced: true });
    await sleep(1500);
    // The consent tone (two 1400 Hz beeps) reached the callee.
    expect(media.dominant(t0, t0 + 700, [440, 1400])).toBe(1400);

    const pauseAt = Date.now();
    expect(await (await api(`/v1/calls/${callId}/recording`, { method: 'POST', json: { action: 'pause' } })).json()).toMatchObject({ state: 'paused' });
    await sleep(1500);
    const resumeAt = Date.now();
    expect(await (await api(`/v1/calls/${callId}/recording`, { method: 'POST', json: { action: 'resume' } })).json()).toMatchObject({ state: 'recording' });
    await sleep(800);

    // A media library file into the callee's ear.
    const playAt = Date.now();
    const play = await api(`/v1/calls/${callId}/play`, { method: 'POST', json: { source: { media: 'beep1k' }, legs: 'callee' } });
    expect(play.status, await play.clone().text()).toBe(200);
    expect(await play.json()).toMatchObject({ callId, legs: 'callee' });
    await sleep(1000);
    expect(media.dominant(playAt + 100, playAt + 700, [440, 1000])).toBe(1000);

    // A long tone, stopped.
    expect((await api(`/v1/calls/${callId}/play`, { method: 'POST', json: { source: { tone: { frequencies: [2000], durationMs: 5000 } }, legs: 'both' } })).status).toBe(200);
    await sleep(300);
    const stopped = await api(`/v1/calls/${callId}/play`, { method: 'DELETE' });
    expect(await stopped.json()).toMatchObject({ stopped: true });
    const afterStop = Date.now() + 300;
    await sleep(900);
    expect(media.dominant(afterStop, afterStop + 500, [440, 2000])).toBe(440);

    // DTMF toward the callee: RFC 4733 events 1 and # (11).
    const dtmfAt = Date.now();
    const dtmf = await api(`/v1/calls/${callId}/dtmf`, { method: 'POST', json: { digits: '1#' } });
    expect(dtmf.status, await dtmf.clone().text()).toBe(200);
    await sleep(600);
    const events = new Set(media.got.filter((r) => r.at >= dtmfAt && r.pt === 101).map((r) => r.payload[0]));
    expect([...events].sort((a, b) => a! - b!)).toEqual([1, 11]);

    const stopAt = Date.now();
    expect(await (await api(`/v1/calls/${callId}/recording`, { method: 'POST', json: { action: 'stop' } })).json()).toMatchObject({ state: 'stopped', recording: false });
    expect((await api(`/v1/calls/${callId}/recording`, { method: 'POST', json: { action: 'start' } })).status).toBe(409);

    // The recording: 440 Hz (caller) and 880 Hz (callee) channels, silence while paused.
    const rec = await until(async () => ((await (await api(`/v1/recordings?callId=${callId}`)).json()) as { items: Array<{ id: string; startedAt: string }> }).items[0], 'the recording', 20_000);
    const { url } = (await (await api(`/v1/recordings/${rec.id}/url`)).json()) as { url: string };
    const wav = readWav(Buffer.from(await (await fetch(url)).arrayBuffer()));
    expect(wav.channels).toBe(2);
    const origin = Date.parse(rec.startedAt);
    const at = (ms: number) => Math.max(0, Math.round(((ms - origin) * 8000) / 1000));
    const hz = wav.data.map((ch) => zeroCrossingHz(ch.subarray(at(t0 + 300), at(pauseAt - 200))));
    expect(hz.map((f) => Math.round(f / 10) * 10).sort((x, y) => x - y), JSON.stringify(hz)).toSatisfy((f: number[]) => Math.abs(f[0]! - 440) < 40 && Math.abs(f[1]! - 880) < 40);
    for (const ch of wav.data) {
      expect(rms(ch, at(t0 + 300), at(pauseAt - 200))).toBeGreaterThan(1000);
      expect(rms(ch, at(pauseAt + 250), at(resumeAt - 250))).toBeLessThan(50);
      expect(rms(ch, at(resumeAt + 250), at(Math.min(stopAt, resumeAt + 700)))).toBeGreaterThan(1000);
    }
    expect(wav.data[0]!.length / 8000).toBeLessThan((stopAt - origin) / 1000 + 0.5);

    const [u] = await Promise.all([uac.done, uas.done]); // the caller hangs up by itself (a killed sipp would stall the SBC's BYE at shutdown)
    expect(u.code, u.output.slice(-2000)).toBe(0);
    media.close();
  }, 60_000);

  it('transcodes a PCMU-only caller toward a PCMA-only trunk (per call)', async () => {
    expect((await api(`/v1/trunks/${trunkOut}`, { method: 'PATCH', json: { codecs: ['PCMA'] } })).status).toBe(200);
    const { media, uac, uas } = await startCall({ holdMs: 2500, uacCodec: 'PCMU', answer: 'PCMA', cp: 9302 });
    await sleep(800);
    const pts = new Set(media.got.map((r) => r.pt));
    expect(pts.has(8)).toBe(true);
    expect(pts.has(0)).toBe(false);
    const s = media.samples(Date.now() - 600, Date.now());
    expect(goertzel(s, 440)).toBeGreaterThan(goertzel(s, 880) * 10); // the caller's PCMU tone arrived as PCMA
    const [u, a] = await Promise.all([uac.done, uas.done]);
    expect(u.code, u.output.slice(-2000)).toBe(0);
    // The INVITE the carrier got offers PCMA (+ telephone-event) only.
    const invite = /INVITE sip:[\s\S]*?\r?\n\r?\n[\s\S]*?m=audio [^\r\n]*/.exec(a.messages)?.[0] ?? '';
    expect(/m=audio \d+ RTP\/AVP ([0-9 ]+)/.exec(invite)?.[1]?.trim().split(' ').filter((p) => p !== '101')).toEqual(['8']);
    media.close();
    expect((await api(`/v1/trunks/${trunkOut}`, { method: 'PATCH', json: { codecs: null } })).status).toBe(200);
  }, 40_000);

  it('transcodes a PCMU-only caller toward a G.722 trunk ("G.722 where asked")', async () => {
    expect((await api(`/v1/trunks/${trunkOut}`, { method: 'PATCH', json: { codecs: ['G722'] } })).status).toBe(200);
    const { media, uac, uas } = await startCall({ holdMs: 2000, uacCodec: 'PCMU', answer: 'G722', cp: 9304 });
    await sleep(600);
    const pts = new Set(media.got.map((r) => r.pt));
    expect([...pts].filter((p) => p !== 101)).toEqual([9]);
    expect(media.got.filter((r) => r.pt === 9).every((r) => r.payload.length === 160)).toBe(true);
    const [u, a] = await Promise.all([uac.done, uas.done]);
    expect(u.code, u.output.slice(-2000)).toBe(0);
    const invite = /INVITE sip:[\s\S]*?\r?\n\r?\n[\s\S]*?m=audio [^\r\n]*/.exec(a.messages)?.[0] ?? '';
    expect(/m=audio \d+ RTP\/AVP ([0-9 ]+)/.exec(invite)?.[1]?.trim().split(' ').filter((p) => p !== '101')).toEqual(['9']);
    media.close();
    expect((await api(`/v1/trunks/${trunkOut}`, { method: 'PATCH', json: { codecs: null } })).status).toBe(200);
  }, 40_000);

  it('client-side room recording: presigned PUT to S3, completion checks the object; the token grant is required', async () => {
    // A tenant with a webhook receiver: completion sends recording.completed (source: client).
    const hooks: Array<{ type: string; data: { recordingId: string; source?: string } }> = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        hooks.push(JSON.parse(body) as (typeof hooks)[number]);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.13.43', () => r()));
    const services = platform.app.services;
    const tenant = await services.tenants.create({ name: 'hooks', webhookUrl: `http://127.0.13.43:${(receiver.address() as AddressInfo).port}/hook` });
    const key = (await services.apiKeys.create(tenant.id, 'client uploads')).token;
    const tapi = (p: string, init: Parameters<typeof api>[1] = {}) => api(p, { ...init, token: init.token ?? key });
    const room = (await (await tapi('/v1/rooms', { method: 'POST', json: { name: 'p2p-rec', type: 'p2p' } })).json()) as { id: string };
    const mint = async (record: boolean) =>
      ((await (await tapi('/v1/tokens', { method: 'POST', json: { identity: 'alice', grants: { rooms: [room.id], record } } })).json()) as { token: string }).token;
    const denied = await api(`/v1/rooms/${room.id}/recordings/uploads`, { method: 'POST', json: { contentType: 'audio/webm' }, token: await mint(false) });
    expect(denied.status).toBe(403);
    const token = await mint(true);
    const t = await api(`/v1/rooms/${room.id}/recordings/uploads`, { method: 'POST', json: { contentType: 'audio/webm' }, token });
    expect(t.status, await t.clone().text()).toBe(201);
    const ticket = (await t.json()) as { recordingId: string; uploadUrl: string; expiresAt: string };
    expect(Date.parse(ticket.expiresAt) - Date.now()).toBeLessThanOrEqual(300_000);
    const early = await api(`/v1/rooms/${room.id}/recordings/uploads/${ticket.recordingId}/complete`, { method: 'POST', json: {}, token });
    expect(early.status).toBe(409);
    const file = Buffer.from('\x1aE\xdf\xa3 pretend webm '.repeat(200));
    const put = await fetch(ticket.uploadUrl, { method: 'PUT', headers: { 'content-type': 'audio/webm' }, body: new Uint8Array(file) });
    expect(put.status).toBe(200);
    const done = await api(`/v1/rooms/${room.id}/recordings/uploads/${ticket.recordingId}/complete`, { method: 'POST', json: { durationSeconds: 3 }, token });
    expect(done.status, await done.clone().text()).toBe(200);
    const { createHash } = await import('node:crypto');
    expect(await done.json()).toMatchObject({ id: ticket.recordingId, source: 'client', roomId: room.id, identity: 'alice', format: 'webm', sizeBytes: file.length, sha256: createHash('sha256').update(file).digest('hex') });
    const listed = ((await (await tapi(`/v1/recordings?callId=${room.id}`)).json()) as { items: Array<{ id: string }> }).items;
    expect(listed.map((r) => r.id)).toEqual([ticket.recordingId]);
    const { url } = (await (await tapi(`/v1/recordings/${ticket.recordingId}/url`)).json()) as { url: string };
    expect(Buffer.from(await (await fetch(url)).arrayBuffer()).equals(file)).toBe(true);
    const hook = await until(() => hooks[0], 'recording.completed', 5_000);
    expect(hook).toMatchObject({ type: 'recording.completed', data: { recordingId: ticket.recordingId, source: 'client' } });
    // another tenant's key does not see it
    expect((await api(`/v1/recordings/${ticket.recordingId}`)).status).toBe(404);
    await new Promise<void>((r) => receiver.close(() => r()));
  }, 30_000);
});
