/**
 * Recording test bed on loopback 127.0.5.0/24: rtpengine (userspace, pcap recording, ng 127.0.5.1:22320–22329,
 * media 32000–32999), UDP RTP peers sending tones, synthetic rtpengine output, a signed-webhook receiver.
 */
import { createServer, type Server } from 'node:http';
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'rtpengine-client';
import { startDaemon, type Daemon } from '../../../runtime/local/daemon.js';
import { verifyWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER, EVENT_ID_HEADER } from '../../../runtime/core/webhooks.js';
import { rtpPacket, tonePayload, writePcap, type PcapRecord } from '../../runtime/media-agent/audio-support.js';
import { until } from '../../support/wait.js';

export const ENGINE_IP = '127.0.5.1';
export const PARTY_A_IP = '127.0.5.2';
export const PARTY_B_IP = '127.0.5.3';

export async function ngPing(host: string, port: number): Promise<boolean> {
  const ng = new Client({ localAddress: host, localPort: 0, timeout: 300 });
  try {
    await new Promise((r) => ng.once('listening', r));
    const res = await ng.ping({ host, port });
    return res.result === 'pong';
  } catch {
    return false;
  } finally {
    ng.close();
  }
}

export async function startRecordingRtpengine(o: { ngPort: number; recDir: string; minPort?: number; maxPort?: number }): Promise<Daemon> {
  return startDaemon({
    name: 'rtpengine',
    command: 'rtpengine',
    args: ['--config-file=none', '--table=-1', `--interface=${ENGINE_IP}`, `--listen-ng=${ENGINE_IP}:${o.ngPort}`,
      `--port-min=${o.minPort ?? 32000}`, `--port-max=${o.maxPort ?? 32999}`, '--foreground', '--log-stderr', '--log-level=5',
      '--delete-delay=0', '--recording-method=pcap', `--recording-dir=${o.recDir}`],
    ready: () => ngPing(ENGINE_IP, o.ngPort),
  });
}

export async function ngClient(): Promise<Client> {
  const ng = new Client({ localAddress: ENGINE_IP, localPort: 0, timeout: 2000 });
  await new Promise((r) => ng.once('listening', r));
  return ng;
}

const sdp = (ip: string, port: number, pcma = false) =>
  `v=0\r\no=- 1 1 IN IP4 ${ip}\r\ns=-\r\nc=IN IP4 ${ip}\r\nt=0 0\r\nm=audio ${port} RTP/AVP ${pcma ? 8 : 0}\r\na=rtpmap:${pcma ? '8 PCMA' : '0 PCMU'}/8000\r\na=ptime:20\r\na=sendrecv\r\n`;

async function udp(ip: string): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, ip, r));
  return s;
}

/**
 * One recorded call through rtpengine: A (127.0.5.2) sends `toneA` Hz, B (127.0.5.3) sends `toneB` Hz, 20 ms
 * PCMU frames for `seconds`, B starting `bDelayMs` later; then the call is deleted (pcap finalized).
 */
/** `transcode`: A speaks PCMU, B only PCMA (offer with `codec: { mask, transcode }`, as the SBC does toward a PCMA-only trunk). */
export async function recordedCall(ng: Client, o: { ngPort: number; callId: string; metadata: string; seconds: number; toneA?: number; toneB?: number; bDelayMs?: number; transcode?: boolean }): Promise<void> {
  const NG = { host: ENGINE_IP, port: o.ngPort };
  const a = await udp(PARTY_A_IP);
  const b = await udp(PARTY_B_IP);
  try {
    const offer = await ng.offer(NG, { 'call-id': o.callId, 'from-tag': 'A', sdp: sdp(PARTY_A_IP, (a.address() as AddressInfo).port), replace: ['origin', 'session-connection'], 'record call': 'yes', metadata: o.metadata, ...(o.transcode ? { codec: { mask: ['PCMU'], transcode: ['PCMA'] } } : {}) });
    if (offer.result !== 'ok') throw new Error(`offer: ${offer['error-reason']}`);
    const answer = await ng.answer(NG, { 'call-id': o.callId, 'from-tag': 'A', 'to-tag': 'B', sdp: sdp(PARTY_B_IP, (b.address() as AddressInfo).port, o.transcode), replace: ['origin', 'session-connection'] });
    if (answer.result !== 'ok') throw new Error(`answer: ${answer['error-reason']}`);
    const portForA = Number(/m=audio (\d+)/.exec(answer.sdp!)![1]);
    const portForB = Number(/m=audio (\d+)/.exec(offer.sdp!)![1]);
    const frames = Math.round(o.seconds * 50);
    const bOffset = Math.round((o.bDelayMs ?? 60) / 20);
    const start = Date.now();
    for (let f = 0; f < frames + bOffset; f++) {
      if (f < frames) a.send(rtpPacket({ pt: 0, seq: f, ts: 1000 + f * 160, ssrc: 0xa1, payload: tonePayload(o.toneA ?? 440, f % 50) }), portForA, ENGINE_IP);
      const fb = f - bOffset;
      if (fb >= 0) b.send(rtpPacket({ pt: o.transcode ? 8 : 0, seq: fb, ts: 777 + fb * 160, ssrc: 0xb2, payload: tonePayload(o.toneB ?? 880, fb % 50, o.transcode ? 'alaw' : 'mulaw') }), portForB, ENGINE_IP);
      const wait = start + (f + 1) * 20 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await new Promise((r) => setTimeout(r, 100));
    const del = await ng.delete(NG, { 'call-id': o.callId });
    if (del.result !== 'ok') throw new Error(`delete: ${del['error-reason']}`);
  } finally {
    a.close();
    b.close();
  }
}

/** Writes what rtpengine writes for a finished recorded call, without rtpengine (durability tests, bench). */
export function writeSyntheticRecording(recDir: string, o: { base: string; metadata: string; seconds: number; startMs?: number; toneA?: number; toneB?: number }): void {
  mkdirSync(join(recDir, 'pcaps'), { recursive: true });
  mkdirSync(join(recDir, 'metadata'), { recursive: true });
  const t0 = o.startMs ?? Date.now() - o.seconds * 1000;
  const frames = Math.round(o.seconds * 50);
  const recs: PcapRecord[] = [];
  const pa = new Map<number, Buffer>();
  const pb = new Map<number, Buffer>();
  for (let f = 0; f < frames; f++) {
    const k = f % 50;
    if (!pa.has(k)) pa.set(k, tonePayload(o.toneA ?? 440, k));
    if (!pb.has(k)) pb.set(k, tonePayload(o.toneB ?? 880, k));
    recs.push({ time: t0 + f * 20, src: PARTY_A_IP, sport: 40000, dst: ENGINE_IP, dport: 32000, payload: rtpPacket({ pt: 0, seq: f, ts: f * 160, ssrc: 0xa1, payload: pa.get(k)! }) });
    recs.push({ time: t0 + f * 20 + 5, src: PARTY_B_IP, sport: 40002, dst: ENGINE_IP, dport: 32002, payload: rtpPacket({ pt: 0, seq: f, ts: 99 + f * 160, ssrc: 0xb2, payload: pb.get(k)! }) });
  }
  const pcapPath = join(recDir, 'pcaps', `${o.base}.pcap`);
  writeFileSync(pcapPath, writePcap(recs, 101));
  const start = new Date(t0).toISOString().slice(0, 19);
  const end = new Date(t0 + o.seconds * 1000).toISOString().slice(0, 19);
  writeFileSync(
    join(recDir, 'metadata', `rtpengine-meta-${o.base}.txt`),
    `${pcapPath}\n\n\nTimestamp started ms: ${t0}.000\nSDP mode: offer\nSDP before RTP packet: 1\n\nv=0\r\n\n\ncall start time: ${start}\ncall end time: ${end}\n\n\n${o.metadata}\n`,
  );
}

export interface ReceivedWebhook {
  id: string;
  status: number;
  valid: boolean;
  body: { id: string; type: string; tenantId: string; data: Record<string, unknown> };
}

/** A webhook receiver that checks every signature; `statuses` are answered in order, then 200. */
export async function webhookReceiver(secretOf: (tenantId: string) => string | undefined, statuses: number[] = []): Promise<{ url: string; received: ReceivedWebhook[]; close(): Promise<void> }> {
  const received: ReceivedWebhook[] = [];
  const queue = [...statuses];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = JSON.parse(raw) as ReceivedWebhook['body'];
      const secret = secretOf(body.tenantId) ?? '';
      const valid = verifyWebhook(secret, req.headers[TIMESTAMP_HEADER] as string, raw, req.headers[SIGNATURE_HEADER] as string, 300);
      const status = queue.shift() ?? 200;
      received.push({ id: String(req.headers[EVENT_ID_HEADER]), status, valid, body });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.5.1', r));
  return {
    url: `http://127.0.5.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** `until` of test/support/wait.ts with the recordings tests' argument order and defaults. */
export function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  return until(fn, what, timeoutMs, everyMs);
}
