/**
 * Status callbacks (runtime/sbc/voice/status-callbacks.ts) against a real HTTP receiver on 127.0.17.2: signed with
 * the tenant's secret (verified with the platform's verifyWebhook), in order per call even when an early delivery
 * is slow or retried, 5xx retried, the fallback URL used once the primary is exhausted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { silentLogger } from '../../../runtime/core/logging.js';
import { verifyWebhook, type WebhookEvent } from '../../../runtime/core/webhooks.js';
import type { CallStatusEvent } from '../../../runtime/core/protocol/voice.js';
import { StatusCallbacks } from '../../../runtime/sbc/voice/status-callbacks.js';
import { FakeVoiceEngine, listenInRange } from '../../integration/voice-api/support.js';

const HOST = '127.0.17.2';
const SECRET = 'whsec_voice_test';

interface Received { path: string; ok: boolean; event: WebhookEvent<CallStatusEvent>; eventId: string }

let servers: Server[] = [];
let deliverers: StatusCallbacks[] = [];

afterEach(async () => {
  for (const d of deliverers) d.close();
  deliverers = [];
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  servers = [];
});

/** A receiver: `respond(path, event, attempt)` returns the status code (and may wait). */
async function receiver(respond: (path: string, e: CallStatusEvent, attempt: number) => Promise<number> | number) {
  const got: Received[] = [];
  const attempts = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const ok = verifyWebhook(SECRET, req.headers['x-cpaas-timestamp'] as string, raw, req.headers['x-cpaas-signature'] as string);
        const event = JSON.parse(raw) as WebhookEvent<CallStatusEvent>;
        const key = `${req.url}|${event.id}`;
        const n = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, n);
        got.push({ path: req.url ?? '', ok, event, eventId: String(req.headers['x-cpaas-event-id']) });
        const status = ok ? await respond(req.url ?? '', event.data, n) : 401;
        res.writeHead(status).end();
      })();
    });
  });
  servers.push(server);
  const port = await listenInRange(server, HOST);
  return { got, url: (path: string) => `http://${HOST}:${port}${path}` };
}

function deliverer(engine: FakeVoiceEngine, delivered: Array<{ e: CallStatusEvent; ok: boolean | undefined }> = []) {
  const d = new StatusCallbacks({
    engine, log: silentLogger,
    webhookSecret: async (tid) => (tid === 'acme' ? SECRET : undefined),
    sender: { maxAttempts: 3, backoff: { baseMs: 20, maxMs: 50 }, attemptTimeoutMs: 2000 },
    onDelivered: (e, r) => delivered.push({ e, ok: r?.ok }),
  });
  deliverers.push(d);
  return d;
}

const originate = (engine: FakeVoiceEngine, url: string, fallbackUrl?: string, tenantId = 'acme') =>
  engine.originate({ tenantId, to: { type: 'phone', number: '+14155550100' }, from: '+14155550199', application: { url: 'https://example.com' }, statusCallback: { url, ...(fallbackUrl ? { fallbackUrl } : {}) } });

describe('status callbacks', () => {
  it('signed, enveloped, in order per call although the first delivery is slow', async () => {
    const r = await receiver(async (_p, e) => {
      if (e.status === 'initiated') await new Promise((res) => setTimeout(res, 300));
      return 204;
    });
    const engine = new FakeVoiceEngine();
    const d = deliverer(engine);
    const c = await originate(engine, r.url('/status'));
    engine.emit(c.callId, 'ringing');
    engine.emit(c.callId, 'answered');
    engine.emit(c.callId, 'completed');
    await d.drain();
    expect(r.got.every((g) => g.ok)).toBe(true);
    expect(r.got.map((g) => g.event.data.status)).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    expect(r.got.map((g) => g.event.data.sequence)).toEqual([1, 2, 3, 4]);
    const first = r.got[0]!;
    expect(first.event).toMatchObject({ type: 'call.status', tenantId: 'acme', data: { event: 'call.status', callId: c.callId, direction: 'outbound', from: '+14155550199' } });
    expect(first.eventId).toBe(first.event.id);
    expect(first.event.id).toBe(`evt_${c.callId}_1`);
    expect(r.got[3]!.event.data).toMatchObject({ cause: 'normal', durationSeconds: 1 });
  });

  it('calls do not wait for each other', async () => {
    const at = new Map<string, number>();
    const r = await receiver(async (path) => {
      at.set(path, Date.now());
      if (path === '/slow') await new Promise((res) => setTimeout(res, 400));
      return 200;
    });
    const engine = new FakeVoiceEngine();
    const d = deliverer(engine);
    await originate(engine, r.url('/slow'));
    await originate(engine, r.url('/fast'));
    await d.drain();
    expect(r.got.map((g) => g.path)).toEqual(['/slow', '/fast']);
    // /fast arrived while /slow was still being answered
    expect(at.get('/fast')! - at.get('/slow')!).toBeLessThan(300);
  });

  it('5xx is retried (same event id, re-signed) and the next event waits for the retry', async () => {
    const r = await receiver((_p, e, attempt) => (e.status === 'initiated' && attempt < 3 ? 503 : 200));
    const engine = new FakeVoiceEngine();
    const delivered: Array<{ e: CallStatusEvent; ok: boolean | undefined }> = [];
    const d = deliverer(engine, delivered);
    const c = await originate(engine, r.url('/s'));
    engine.emit(c.callId, 'ringing');
    await d.drain();
    expect(r.got.map((g) => `${g.event.data.status}`)).toEqual(['initiated', 'initiated', 'initiated', 'ringing']);
    expect(new Set(r.got.slice(0, 3).map((g) => g.eventId)).size).toBe(1);
    expect(r.got.every((g) => g.ok)).toBe(true);
    expect(delivered.map((x) => [x.e.status, x.ok])).toEqual([['initiated', true], ['ringing', true]]);
  });

  it('falls back to the fallback URL once the primary is exhausted; a 4xx is final', async () => {
    const r = await receiver((path) => (path === '/down' ? 500 : path === '/gone' ? 410 : 200));
    const engine = new FakeVoiceEngine();
    const delivered: Array<{ e: CallStatusEvent; ok: boolean | undefined }> = [];
    const d = deliverer(engine, delivered);
    const c = await originate(engine, r.url('/down'), r.url('/backup'));
    engine.emit(c.callId, 'completed');
    await originate(engine, r.url('/gone'), r.url('/backup2'));
    await d.drain();
    const forCall = r.got.filter((g) => g.event.data.callId === c.callId);
    expect(forCall.map((g) => `${g.path}:${g.event.data.status}`)).toEqual(['/down:initiated', '/down:initiated', '/down:initiated', '/backup:initiated', '/down:completed', '/down:completed', '/down:completed', '/backup:completed']);
    expect(r.got.filter((g) => g.path.startsWith('/gone') || g.path === '/backup2').map((g) => g.path)).toEqual(['/gone']);
    expect(delivered.filter((x) => x.e.callId === c.callId).every((x) => x.ok)).toBe(true);
  });

  it('no callback, or a tenant without a secret: nothing is sent', async () => {
    const r = await receiver(() => 200);
    const engine = new FakeVoiceEngine();
    const delivered: Array<{ e: CallStatusEvent; ok: boolean | undefined }> = [];
    const d = deliverer(engine, delivered);
    await engine.originate({ tenantId: 'acme', to: { type: 'phone', number: '+14155550100' }, from: 'x', application: { url: 'https://example.com' } });
    await originate(engine, r.url('/s'), undefined, 'nosecret');
    await d.drain();
    expect(r.got).toEqual([]);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.ok).toBeUndefined();
    d.close();
    expect(d.pendingCalls).toBe(0);
  });
});
