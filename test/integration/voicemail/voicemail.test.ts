/**
 * Visual voicemail against the real stand-ins (dynalite, s3rver, SES local) and a real signalling process:
 * the sink (deposit → S3 + metadata once, checksum, local file removed; S3 outage → rejected, file kept, retry
 * succeeds), REST (list, get + presigned download, read, delete, greeting), tenant isolation, the owner's socket
 * events (`voicemail:new` through POST /internal/voicemail/events, `voicemail:list|get|read|delete`), the SDK
 * module, email and the signed `voicemail.received` webhook.
 *
 * Own s3rver on 127.0.14.1:26100 (so the test can stop and restart S3), webhook receiver on 127.0.14.1:26101.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { startStandIns, type StandIns } from '../../../runtime/local/stand-ins.js';
import { silentLogger } from '../../../runtime/core/logging.js';
import { SesMailer } from '../../../runtime/core/mail.js';
import { verifyWebhook, WebhookSender } from '../../../runtime/core/webhooks.js';
import { createVoicemailSink, encodeWav, wavInfo, type VoicemailService } from '../../../runtime/core/voicemail/index.js';
import { writeWavHeader } from '../../../runtime/core/audio/wav.js';
import type { VoicemailMessage, VoicemailWithUrl, MailboxSettings } from '../../../runtime/core/protocol/voicemail.js';
import type { VoicemailDeposit } from '../../../runtime/sbc/voice/contracts.js';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { connectClient, nextEvent, request, type ClientSocket } from '../../support/socket-client.js';
import { connect as sdkConnect } from '../../../assets/sdk/src/index.js';

const require = createRequire(import.meta.url);
const HOST = '127.0.14.1';
const S3_PORT = 26100;
const HOOK_PORT = 26101;
const BUCKET = 'cpaas-recordings';
const SECRET = randomBytes(16).toString('hex');

type S3rver = { run(): Promise<AddressInfo>; close(): Promise<void> };
const S3rverCtor = require('s3rver') as new (o: Record<string, unknown>) => S3rver;

/** A 1 s 8 kHz mono tone as a WAV file (content varies with `seed`). */
function toneWav(seed: number, seconds = 1, rate = 8000, channels = 1): Buffer {
  if (channels === 1 && rate === 8000) {
    const s = new Int16Array(rate * seconds);
    for (let i = 0; i < s.length; i++) s[i] = Math.round(8000 * Math.sin((2 * Math.PI * (300 + seed) * i) / rate));
    return encodeWav(s, rate);
  }
  // stereo / other rate: the canonical header (runtime/core/audio)
  const frames = rate * seconds;
  const buf = Buffer.alloc(44 + frames * channels * 2);
  writeWavHeader(buf, channels, frames * channels * 2, rate);
  for (let f = 0; f < frames; f++) for (let c = 0; c < channels; c++) buf.writeInt16LE(Math.round(5000 * Math.sin((2 * Math.PI * 440 * f) / rate)), 44 + (f * channels + c) * 2);
  return buf;
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('voicemail', () => {
  let standIns: StandIns;
  let s3: S3rver | undefined;
  let s3Dir: string;
  let work: string;
  let p: TestPlatform;
  let sink: VoicemailService;
  let webhooks: WebhookSender;
  let hookServer: Server;
  const hooks: Array<{ ok: boolean; body: { id: string; type: string; tenantId: string; data: { messageId: string } } }> = [];
  let t1: { tenantId: string; apiKey: string; webhookSecret: string };
  let t2: { tenantId: string; apiKey: string };
  const sockets: ClientSocket[] = [];
  let n = 0;

  const startS3 = async () => {
    s3 = new S3rverCtor({ address: HOST, port: S3_PORT, silent: true, directory: s3Dir, configureBuckets: [{ name: BUCKET, configs: [] }] });
    await s3.run();
  };
  const stopS3 = async () => {
    await s3?.close();
    s3 = undefined;
  };
  /** A fresh WAV on disk and the deposit for it. */
  const newDeposit = (tenantId: string, mailbox: VoicemailDeposit['mailbox'], extra: Partial<VoicemailDeposit> = {}) => {
    n++;
    const wav = toneWav(n);
    const wavPath = join(work, `vm-${n}.wav`);
    writeFileSync(wavPath, wav);
    const d: VoicemailDeposit = { tenantId, mailbox, callId: `ca_test${n}`, from: '+15550001111', wavPath, durationMs: 1000, receivedAt: new Date(Date.UTC(2026, 10, 25, 12, 0, n)).toISOString(), ...extra };
    return { d, wav };
  };
  const api = (path: string, key: string, init: RequestInit & { json?: unknown } = {}) => p.api(path, { ...init, key });
  const mails = async (): Promise<Array<{ subject: string; destination: { to: string[] } }>> => ((await (await fetch(`${standIns.endpoints.ses}/store`)).json()) as { emails: Array<{ subject: string; destination: { to: string[] } }> }).emails;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cpaas-vm-'));
    s3Dir = join(work, 's3');
    mkdirSync(s3Dir);
    await startS3();
    standIns = await startStandIns({ host: HOST });
    p = await startTestPlatform({
      standIns: { endpoints: { ...standIns.endpoints, s3: `http://${HOST}:${S3_PORT}` }, close: async () => undefined },
      overrides: { gateway: { secret: { value: SECRET } } },
    });
    hookServer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const ok = verifyWebhook(t1.webhookSecret, req.headers['x-cpaas-timestamp'] as string, raw, req.headers['x-cpaas-signature'] as string);
        hooks.push({ ok, body: JSON.parse(raw) as never });
        res.writeHead(ok ? 204 : 401).end();
      });
    });
    await new Promise<void>((r) => hookServer.listen(HOOK_PORT, HOST, r));
    const ten = await p.services.tenants.create({ name: 'vm one', webhookUrl: `http://${HOST}:${HOOK_PORT}/hook` });
    t1 = { tenantId: ten.id, apiKey: (await p.services.apiKeys.create(ten.id, 'test')).token, webhookSecret: ten.webhookSecret };
    t2 = await p.createTenant('vm two');
    webhooks = new WebhookSender({ log: silentLogger, backoff: { baseMs: 50, maxMs: 200 } });
    sink = createVoicemailSink({
      doc: p.aws.doc,
      tableName: p.config.tableName,
      s3: p.aws.s3,
      bucket: BUCKET,
      log: silentLogger,
      cacheDir: join(work, 'greetings'),
      signalling: { url: p.baseUrl, secret: SECRET },
      mailer: new SesMailer(p.aws.ses, { from: 'voicemail@cpaas.local' }),
      webhooks,
    });
  }, 60_000);

  afterAll(async () => {
    for (const s of sockets) s.close();
    webhooks?.close();
    await new Promise<void>((r) => (hookServer ? hookServer.close(() => r()) : r()));
    await p?.stop();
    await standIns?.close();
    await stopS3();
    rmSync(work, { recursive: true, force: true });
  });

  it('deposit stores the WAV once (S3 + metadata, checksum), removes the file, notifies socket, email and webhook', async () => {
    await p.services.voicemail.putSettings(t1.tenantId, { kind: 'identity', id: 'alice' }, { enabled: true, notifyEmail: 'alice@example.com' });
    const alice = await connectClient(p.baseUrl, await p.mintToken(t1.tenantId, 'alice'));
    const bob = await connectClient(p.baseUrl, await p.mintToken(t1.tenantId, 'bob'));
    sockets.push(alice.socket, bob.socket);
    const got = nextEvent<{ message: VoicemailMessage }>(alice.socket, 'voicemail:new');
    let bobGot = false;
    bob.socket.on('voicemail:new', () => (bobGot = true));

    const { d, wav } = newDeposit(t1.tenantId, { kind: 'identity', id: 'alice' });
    const { messageId } = await sink.deposit(d);
    expect(messageId).toMatch(/^vm_[a-z0-9]+$/);
    expect(existsSync(d.wavPath)).toBe(false);

    const ev = await got;
    expect(ev.message).toMatchObject({ id: messageId, from: '+15550001111', read: false, mailbox: { kind: 'identity', id: 'alice' }, owner: 'alice', sha256: sha(wav), sizeBytes: wav.length });

    const m = (await sink.repo.get(t1.tenantId, messageId))!;
    expect(m.s3Key).toBe(`voicemail/${t1.tenantId}/identity/alice/${messageId}.wav`);
    const head = await p.aws.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: m.s3Key }));
    expect(head.ContentLength).toBe(wav.length);
    expect(head.Metadata?.sha256).toBe(sha(wav));

    // the same deposit again (a retry after a crash): same id, still one message
    writeFileSync(d.wavPath, wav);
    expect((await sink.deposit(d)).messageId).toBe(messageId);
    expect(existsSync(d.wavPath)).toBe(false);
    const listed = await sink.repo.list(t1.tenantId, { mailbox: { kind: 'identity', id: 'alice' } }, 100);
    expect(listed.items.filter((x) => x.callId === d.callId)).toHaveLength(1);

    await webhooks.drain();
    const hook = hooks.find((h) => h.body.data.messageId === messageId);
    expect(hook?.ok).toBe(true);
    expect(hook?.body).toMatchObject({ id: `evt_${messageId}`, type: 'voicemail.received', tenantId: t1.tenantId });
    const mail = (await mails()).find((x) => x.destination.to.includes('alice@example.com'));
    expect(mail?.subject).toMatch(/New voicemail from \+15550001111/);
    expect(bobGot).toBe(false);
  });

  it('S3 down: deposit rejects and keeps the file; the retry after S3 is back stores it', async () => {
    await stopS3();
    const { d, wav } = newDeposit(t1.tenantId, { kind: 'identity', id: 'alice' });
    try {
      await expect(sink.deposit(d)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      expect(existsSync(d.wavPath)).toBe(true);
      expect(readFileSync(d.wavPath).equals(wav)).toBe(true);
    } finally {
      await startS3();
    }
    const { messageId } = await sink.deposit(d);
    expect(existsSync(d.wavPath)).toBe(false);
    expect((await sink.repo.get(t1.tenantId, messageId))?.sha256).toBe(sha(wav));
  }, 30_000);

  it('REST: list, get with presigned download, mark read, delete; another tenant gets 404', async () => {
    const { d, wav } = newDeposit(t1.tenantId, { kind: 'sip-user', id: '1001' }, { from: 'sip:carol@example.com' });
    const { messageId } = await sink.deposit(d);

    const list = (await (await api('/v1/voicemail/messages?mailbox=sip-user:1001', t1.apiKey)).json()) as { items: VoicemailMessage[] };
    expect(list.items.map((x) => x.id)).toEqual([messageId]);
    const all = (await (await api('/v1/voicemail/messages?limit=100', t1.apiKey)).json()) as { items: VoicemailMessage[] };
    expect(all.items.length).toBeGreaterThanOrEqual(3);
    expect(all.items.map((x) => x.id)).toEqual([...all.items.map((x) => x.id)].sort().reverse()); // newest first
    const page = (await (await api('/v1/voicemail/messages?limit=1', t1.apiKey)).json()) as { items: VoicemailMessage[]; nextCursor?: string };
    expect(page.items).toHaveLength(1);
    expect(page.nextCursor).toBeTruthy();

    const got = await api(`/v1/voicemail/messages/${messageId}?expiresIn=60`, t1.apiKey);
    expect(got.status).toBe(200);
    const withUrl = (await got.json()) as VoicemailWithUrl;
    expect(withUrl.message.id).toBe(messageId);
    const dl = await fetch(withUrl.url);
    expect(dl.status).toBe(200);
    expect(dl.headers.get('content-type')).toBe('audio/wav');
    expect(Buffer.from(await dl.arrayBuffer()).equals(wav)).toBe(true);

    expect((await api(`/v1/voicemail/messages/${messageId}`, t2.apiKey)).status).toBe(404);
    expect((await api(`/v1/voicemail/messages/${messageId}`, t2.apiKey, { method: 'PATCH', json: { read: true } })).status).toBe(404);
    expect((await api(`/v1/voicemail/messages/${messageId}`, t2.apiKey, { method: 'DELETE' })).status).toBe(404);
    expect(((await (await api('/v1/voicemail/messages', t2.apiKey)).json()) as { items: unknown[] }).items).toEqual([]);

    const patched = await api(`/v1/voicemail/messages/${messageId}`, t1.apiKey, { method: 'PATCH', json: { read: true } });
    expect(((await patched.json()) as VoicemailMessage).read).toBe(true);
    const unread = (await (await api('/v1/voicemail/messages?unread=true&limit=100', t1.apiKey)).json()) as { items: VoicemailMessage[] };
    expect(unread.items.some((x) => x.id === messageId)).toBe(false);
    const posted = await api(`/v1/voicemail/messages/${messageId}`, t1.apiKey, { method: 'POST', json: { read: false } });
    expect(((await posted.json()) as VoicemailMessage).read).toBe(false);

    expect((await api(`/v1/voicemail/messages/${messageId}`, t1.apiKey, { method: 'DELETE' })).status).toBe(204);
    expect((await api(`/v1/voicemail/messages/${messageId}`, t1.apiKey)).status).toBe(404);
    await expect(p.aws.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: withUrl.message.s3Key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    expect((await api('/v1/voicemail/messages?mailbox=nope', t1.apiKey)).status).toBe(400);
  });

  it('greeting: upload (converted to 8 kHz mono), the sink serves a cached local WAV, "none" removes it', async () => {
    const box = { kind: 'identity' as const, id: 'alice' };
    expect(await sink.greeting(t1.tenantId, box)).toBeUndefined();
    const bad = await api('/v1/voicemail/mailboxes/identity/alice/greeting', t1.apiKey, { method: 'PUT', body: 'not a wav', headers: { 'content-type': 'audio/wav' } });
    expect(bad.status).toBe(400);
    const up = await api('/v1/voicemail/mailboxes/identity/alice/greeting', t1.apiKey, { method: 'PUT', body: new Uint8Array(toneWav(0, 2, 16000, 2)), headers: { 'content-type': 'audio/wav' } });
    expect(up.status).toBe(200);
    const settings = (await up.json()) as MailboxSettings;
    expect(settings).toMatchObject({ enabled: true, notifyEmail: 'alice@example.com', greeting: { durationMs: 2000 } });
    const path = await sink.greeting(t1.tenantId, box);
    expect(path).toBeTruthy();
    const info = wavInfo(readFileSync(path!));
    expect(info).toMatchObject({ sampleRate: 8000, channels: 1, bitsPerSample: 16, durationMs: 2000 });
    expect(sha(readFileSync(path!))).toBe(settings.greeting!.sha256);
    expect(await sink.greeting(t1.tenantId, box)).toBe(path); // cached

    const put = await api('/v1/voicemail/mailboxes/identity/alice', t1.apiKey, { method: 'PUT', json: { enabled: false, greeting: 'none', ringTimeoutSeconds: 20 } });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ enabled: false, greeting: null, ringTimeoutSeconds: 20, notifyEmail: 'alice@example.com' });
    expect(await sink.greeting(t1.tenantId, box)).toBeUndefined();
    expect((await sink.settings(t1.tenantId, box)).enabled).toBe(false);
    expect((await api('/v1/voicemail/mailboxes/identity/alice', t2.apiKey)).status).toBe(200); // t2's own (default) mailbox of that name
    expect(await (await api('/v1/voicemail/mailboxes/identity/alice', t2.apiKey)).json()).toMatchObject({ enabled: false, greeting: null });
    expect((await sink.settings(t2.tenantId, box)).enabled).toBe(true); // this sink: defaultEnabled (true unless configured)
    expect((await api('/v1/voicemail/mailboxes/phone/alice', t1.apiKey)).status).toBe(400);
  });

  it('socket: the owner lists, gets, marks read and deletes; a SIP user linked to the identity notifies it; others get NOT_FOUND', async () => {
    await p.services.sip.createUser({ tenantId: t1.tenantId, username: '2002', domain: 'vm.example.com', password: 'pw-2002-secret', identity: 'dave', enabled: true });
    const dave = await connectClient(p.baseUrl, await p.mintToken(t1.tenantId, 'dave'));
    const eve = await connectClient(p.baseUrl, await p.mintToken(t1.tenantId, 'eve'));
    const other = await connectClient(p.baseUrl, await p.mintToken(t2.tenantId, 'dave'));
    sockets.push(dave.socket, eve.socket, other.socket);
    const got = nextEvent<{ message: VoicemailMessage }>(dave.socket, 'voicemail:new');
    const { d, wav } = newDeposit(t1.tenantId, { kind: 'sip-user', id: '2002' });
    const { messageId } = await sink.deposit(d);
    expect((await got).message).toMatchObject({ id: messageId, owner: 'dave', mailbox: { kind: 'sip-user', id: '2002' } });

    const own = await request<{ items: VoicemailMessage[] }>(dave.socket, 'voicemail:list', {});
    expect(own.ok && own.data.items).toEqual([]); // the identity mailbox is empty
    const sipBox = await request<{ items: VoicemailMessage[] }>(dave.socket, 'voicemail:list', { mailbox: { kind: 'sip-user', id: '2002' } });
    expect(sipBox.ok && sipBox.data.items.map((x) => x.id)).toEqual([messageId]);
    const g = await request<VoicemailWithUrl>(dave.socket, 'voicemail:get', { id: messageId });
    expect(g.ok).toBe(true);
    if (g.ok) expect(Buffer.from(await (await fetch(g.data.url)).arrayBuffer()).equals(wav)).toBe(true);

    expect(await request(eve.socket, 'voicemail:list', { mailbox: { kind: 'sip-user', id: '2002' } })).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORIZED' } });
    expect(await request(eve.socket, 'voicemail:get', { id: messageId })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await request(other.socket, 'voicemail:get', { id: messageId })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await request(other.socket, 'voicemail:delete', { id: messageId })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await request(dave.socket, 'voicemail:get', { id: 'bad id' })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });

    expect(await request(dave.socket, 'voicemail:read', { id: messageId })).toMatchObject({ ok: true, data: { id: messageId, read: true } });
    expect(await request(dave.socket, 'voicemail:delete', { id: messageId })).toMatchObject({ ok: true });
    expect(await sink.repo.get(t1.tenantId, messageId)).toBeUndefined();
  });

  it('SDK: client.voicemail list/url/markRead/remove and the `voicemail` event', async () => {
    const client = await sdkConnect({ url: p.baseUrl, token: await p.mintToken(t1.tenantId, 'frank') });
    try {
      const ev = client.wait('voicemail', 5_000);
      const { d, wav } = newDeposit(t1.tenantId, { kind: 'identity', id: 'frank' });
      const { messageId } = await sink.deposit(d);
      const [msg] = await ev;
      expect(msg.id).toBe(messageId);
      const page = await client.voicemail.list({ unread: true });
      expect(page.items.map((x) => x.id)).toEqual([messageId]);
      const url = await client.voicemail.url(messageId);
      expect(Buffer.from(await (await fetch(url)).arrayBuffer()).equals(wav)).toBe(true);
      expect((await client.voicemail.markRead(messageId)).read).toBe(true);
      expect((await client.voicemail.list({ unread: true })).items).toEqual([]);
      await client.voicemail.remove(messageId);
      expect((await client.voicemail.list()).items).toEqual([]);
    } finally {
      await client.disconnect();
    }
  });

  it('internal endpoint needs the shared secret', async () => {
    const res = await fetch(`${p.baseUrl}/internal/voicemail/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-cpaas-gateway-secret': 'wrong' }, body: JSON.stringify({ type: 'new', tenantId: t1.tenantId, owner: 'alice', message: { id: 'vm_1', tenantId: t1.tenantId, mailbox: {} } }) });
    expect(res.status).toBe(401);
  });
});
