/**
 * Play sources resolved on the media node (docs/recordings.md § Playback on AWS): the SBC's control API
 * (`POST /v1/calls/{id}/play`, mountCallMediaServices with `resolveOn: 'media-node'`) asks the media agent's
 * play-source endpoint (runtime/media-agent/play-sources.ts, in process) found through the media-node registry entry
 * (`playSourcesUrl`), and has a REAL rtpengine play the returned path: the tone and a media-library file (s3rver)
 * arrive as PCMU at the party's UDP socket with the right frequency; stop → DELETE removes the agent's file; errors
 * (unknown file, bad secret, node without endpoint) and the TTL sweep.
 *
 * Loopback 127.0.20.1 (HTTP 30101–30112), rtpengine 127.0.20.2 (ng 22430, media 61000–61099), parties 127.0.20.3:62000/62002.
 */
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeG711 } from '../../../runtime/core/audio/g711.js';
import { encodeWav } from '../../../runtime/core/audio/wav.js';
import { renderTone } from '../../../runtime/core/audio/tone.js';
import { MediaLibrary } from '../../../runtime/core/storage/media-library.js';
import { startStandIns, type StandIns } from '../../../runtime/local/stand-ins.js';
import type { Daemon } from '../../../runtime/local/daemon.js';
import { startPlaySourceServer, type PlaySourceServer } from '../../../runtime/media-agent/play-sources.js';
import { ControlServer } from '../../../runtime/sbc/control/server.js';
import { MediaSession, RtpEngineNode } from '../../../runtime/sbc/media/rtpengine.js';
import { mountCallMediaServices } from '../../../runtime/sbc/media-services/index.js';
import { PlaySourceResolver } from '../../../runtime/sbc/media-services/remote.js';
import { RecordingPolicy, type RecordableCall } from '../../../runtime/sbc/recording/recording.js';
import { goertzel, rtpPacket } from '../../runtime/media-agent/audio-support.js';
import { haveRtpengine, startRtpengine, testLogger } from '../sbc/harness.js';
import { requires } from '../../support/requires.js';
import { until } from '../../support/wait.js';

const HTTP = '127.0.20.1';
const RTP = '127.0.20.2';
const PARTY = '127.0.20.3';
const SECRET = 'play-sources-test-secret-0123456789';
const TENANT = 'tn-remote';
const BUCKET = 'cpaas-recordings';
const available = requires('media-services remote play: rtpengine', haveRtpengine, 'rtpengine not found (apt-get install rtpengine-daemon)');

const sdp = (port: number) => [
  'v=0', `o=- 1 1 IN IP4 ${PARTY}`, 's=-', `c=IN IP4 ${PARTY}`, 't=0 0', `m=audio ${port} RTP/AVP 0 101`,
  'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', '',
].join('\r\n');
const portOf = (s: string) => Number(/m=audio (\d+)/.exec(s)?.[1]);

/** A party: UDP socket collecting the PCMU payloads it receives. */
async function party(port: number): Promise<{ sock: Socket; samples: () => Int16Array; reset(): void; packets: () => number }> {
  const sock = createSocket('udp4');
  let got: Buffer[] = [];
  sock.on('message', (m) => {
    if (m.length > 12 && (m[1]! & 0x7f) === 0) got.push(m.subarray(12 + 4 * (m[0]! & 0x0f)));
  });
  await new Promise<void>((r) => sock.bind(port, PARTY, () => r()));
  return {
    sock,
    samples: () => decodeG711(Buffer.concat(got), 'pcmu'),
    reset: () => void (got = []),
    packets: () => got.length,
  };
}


describe.skipIf(!available)('play sources resolved by the media agent (real rtpengine, s3rver)', () => {
  const log = testLogger();
  const dir = mkdtempSync(join(tmpdir(), 'cpaas-remote-play-'));
  const agentTmp = join(dir, 'agent-tmp');
  const agentCache = join(dir, 'agent-cache');
  let standIns: StandIns;
  let rtpengine: Daemon;
  let node: RtpEngineNode;
  let agent: PlaySourceServer;
  let control: ControlServer;
  let controlUrl: string;
  let media: MediaSession;
  let a: Awaited<ReturnType<typeof party>>;
  let b: Awaited<ReturnType<typeof party>>;
  let s3: S3Client;
  let feeder: NodeJS.Timeout;
  const calls = new Map<string, RecordableCall>();
  let registry: Array<{ id: string; playSourcesUrl?: string }> = [];

  beforeAll(async () => {
    standIns = await startStandIns({ host: HTTP, ports: { dynamodb: 30101, s3: 30102, ses: 30103 }, dir: join(dir, 'stand-ins'), buckets: [BUCKET] });
    s3 = new S3Client({ region: 'us-east-1', endpoint: standIns.endpoints.s3, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const library = new MediaLibrary(s3, BUCKET);
    await library.put(TENANT, 'greeting', encodeWav(renderTone({ frequencies: [700], durationMs: 800 })), { durationMs: 800, original: 'greeting.wav' });

    rtpengine = await startRtpengine({ ip: RTP, ngPort: 22430, minPort: 61000, maxPort: 61099 });
    node = await RtpEngineNode.connect({ id: 'media-1', target: { host: RTP, port: 22430 }, localAddress: HTTP, timeoutMs: 3_000, log });
    agent = await startPlaySourceServer({ host: HTTP, port: 30110, secret: SECRET, deps: { tmpDir: agentTmp, cacheDir: agentCache, library }, log });
    registry = [{ id: 'media-1', playSourcesUrl: agent.url }, { id: 'media-old' }];

    control = new ControlServer(log);
    mountCallMediaServices(control, {
      find: (id) => calls.get(id),
      secret: SECRET,
      log,
      policy: new RecordingPolicy({ tenants: [] }),
      // The SBC's own local dirs exist nowhere rtpengine could see on AWS: nothing may be resolved here.
      options: { resolveOn: 'media-node', tmpDir: join(dir, 'sbc-tmp'), cacheDir: join(dir, 'sbc-cache') },
      mediaNodes: async () => registry,
    });
    const addr = await control.listen(HTTP, 30111);
    controlUrl = `http://${addr.host}:${addr.port}`;

    // A call through rtpengine between two UDP parties, RTP flowing both ways (so rtpengine knows both SSRCs).
    a = await party(62000);
    b = await party(62002);
    media = new MediaSession(node, `remote-play-${Date.now()}`, log);
    const toB = await media.offer(sdp(62000), 'a', 'sip');
    const toA = await media.answer(sdp(62002), 'a', 'sip');
    let seq = 0;
    const silence = Buffer.alloc(160, 0xff);
    feeder = setInterval(() => {
      seq++;
      a.sock.send(rtpPacket({ pt: 0, seq, ts: seq * 160, ssrc: 0x1111, payload: silence }), portOf(toA), RTP);
      b.sock.send(rtpPacket({ pt: 0, seq, ts: seq * 160, ssrc: 0x2222, payload: silence }), portOf(toB), RTP);
    }, 20);
    await until(() => a.packets() > 5 && b.packets() > 5, 'relayed RTP', 6_000, 50);
    calls.set('ca-remote', { tenantId: TENANT, media, parties: ['alice', 'bob'] });
  }, 60_000);

  afterAll(async () => {
    clearInterval(feeder);
    await media?.delete();
    a?.sock.close();
    b?.sock.close();
    await control?.close();
    await agent?.close();
    node?.close();
    await rtpengine?.stop();
    s3?.destroy();
    await standIns?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (path: string, body: unknown, secret = SECRET) => fetch(`${controlUrl}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-cpaas-gateway-secret': secret }, body: JSON.stringify(body),
  });
  const stop = () => fetch(`${controlUrl}/v1/calls/ca-remote/play?tenantId=${TENANT}`, { method: 'DELETE', headers: { 'x-cpaas-gateway-secret': SECRET } });

  /** Mean energy at `hz` vs `other` over the samples received since reset(), once at least `ms` arrived. */
  async function heard(p: typeof a, hz: number, other: number, ms = 400): Promise<{ on: number; off: number }> {
    await until(() => p.samples().filter((s) => Math.abs(s) > 500).length > ms * 8 * 0.5, `${ms} ms of audio`, 6_000, 50);
    const s = p.samples().filter((x) => Math.abs(x) > 500);
    return { on: goertzel(s, hz), off: goertzel(s, other) };
  }

  it('plays a tone rendered by the agent to the caller; stop DELETEs the agent file', async () => {
    a.reset();
    const res = await post('/v1/calls/ca-remote/play', { tenantId: TENANT, source: { tone: { frequencies: [1400], durationMs: 1500 } }, legs: 'caller' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ legs: 'caller', durationMs: 1500 });
    expect(agent.files).toBe(1);
    const files = readdirSync(agentTmp);
    expect(files).toHaveLength(1); // rendered on the "media node", not in the SBC's tmp dir
    expect(existsSync(join(dir, 'sbc-tmp'))).toBe(false);
    const e = await heard(a, 1400, 440);
    expect(e.on).toBeGreaterThan(e.off * 20);
    expect((await stop()).status).toBe(200);
    await until(() => agent.files === 0 && readdirSync(agentTmp).length === 0, 'agent file removed', 6_000, 50);
  }, 30_000);

  it('plays a media-library file fetched from S3 by the agent to the callee', async () => {
    b.reset();
    const res = await post('/v1/calls/ca-remote/play', { tenantId: TENANT, source: { media: 'greeting' }, legs: 'callee' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(800);
    expect(readdirSync(join(agentCache, TENANT)).some((f) => f.startsWith('greeting@'))).toBe(true);
    expect(existsSync(join(dir, 'sbc-cache'))).toBe(false);
    const e = await heard(b, 700, 1400, 300);
    expect(e.on).toBeGreaterThan(e.off * 20);
    await stop();
    await until(() => agent.files === 0, 'agent token released', 6_000, 50);
    expect(readdirSync(join(agentCache, TENANT)).some((f) => f.startsWith('greeting@'))).toBe(true); // the cache stays
  }, 30_000);

  it('passes the agent errors through: unknown library file → 404 NOT_FOUND', async () => {
    const res = await post('/v1/calls/ca-remote/play', { tenantId: TENANT, source: { media: 'nope' } });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a wrong secret at the agent, or a node without endpoint under resolveOn=media-node, is SERVICE_UNAVAILABLE', async () => {
    const bad = new PlaySourceResolver({ log, secret: 'wrong-secret-wrong-secret', resolveOn: 'media-node', nodes: async () => registry });
    await expect(bad.resolve('media-1', { tone: { frequencies: [440], durationMs: 100 } }, TENANT)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    const good = new PlaySourceResolver({ log, secret: SECRET, resolveOn: 'media-node', nodes: async () => registry });
    await expect(good.resolve('media-old', { tone: { frequencies: [440], durationMs: 100 } }, TENANT)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    // 'local' (npm start): a node without endpoint resolves here.
    const local = new PlaySourceResolver({ log, secret: SECRET, nodes: async () => registry });
    const f = await local.resolve('media-old', { tone: { frequencies: [440], durationMs: 100 } }, TENANT);
    expect(f.path.startsWith(join(dir, 'sbc-tmp'))).toBe(true);
    f.cleanup();
    expect(agent.files).toBe(0);
  });

  it('sweeps files nobody DELETEd after their TTL', async () => {
    let now = Date.now();
    const swept = await startPlaySourceServer({ host: HTTP, port: 30112, secret: SECRET, ttlSeconds: 10, deps: { tmpDir: join(dir, 'sweep') }, log, now: () => now });
    try {
      const res = await fetch(`${swept.url}/v1/play-sources`, { method: 'POST', headers: { 'x-cpaas-gateway-secret': SECRET }, body: JSON.stringify({ tenantId: TENANT, source: { tone: { frequencies: [440], durationMs: 100 } } }) });
      const body = (await res.json()) as { path: string; token: string; durationMs: number };
      expect(body.durationMs).toBe(100);
      expect(existsSync(body.path)).toBe(true);
      expect(swept.sweep()).toBe(0);
      now += 61_000;
      expect(swept.sweep()).toBe(1);
      expect(existsSync(body.path)).toBe(false);
      expect((await fetch(`${swept.url}/v1/play-sources`, { method: 'POST', body: '{}' })).status).toBe(401);
      expect((await fetch(`${swept.url}/v1/play-sources/${body.token}`, { method: 'DELETE', headers: { 'x-cpaas-gateway-secret': SECRET } })).status).toBe(204);
    } finally {
      await swept.close();
    }
  });
});
