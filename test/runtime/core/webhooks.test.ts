import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../runtime/core/logging.js';
import { MetricsRegistry } from '../../../runtime/core/metrics.js';
import { backoffDelay, retryableStatus, signWebhook, verifyWebhook, WebhookSender, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../../runtime/core/webhooks.js';

const BODY = '{"id":"evt_1","type":"recording.completed"}';
// Computed outside this code base: python3 -c "import hmac,hashlib; print(hmac.new(b'whsec_test',
// b'1700000000.' + BODY, hashlib.sha256).hexdigest())"
const KNOWN = 'v1=b7415044864984ecb49e5c4204bb831827c597fdf3334d06e4ba89c8f68229c9';

describe('webhook signing', () => {
  it('matches a vector computed independently (Python hmac)', () => {
    expect(signWebhook('whsec_test', 1700000000, BODY)).toBe(KNOWN);
  });

  it('matches WebCrypto HMAC-SHA256', async () => {
    const key = await crypto.subtle.importKey('raw', new TextEncoder().encode('s3cr3t'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const mac = Buffer.from(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`42.${BODY}`))).toString('hex');
    expect(signWebhook('s3cr3t', 42, BODY)).toBe(`v1=${mac}`);
  });

  it('verifies within the tolerance and rejects tampering, other secrets, stale timestamps', () => {
    const now = 1700000000_000;
    expect(verifyWebhook('whsec_test', '1700000000', BODY, KNOWN, 300, now)).toBe(true);
    expect(verifyWebhook('whsec_test', '1700000000', Buffer.from(BODY), `v1=deadbeef, ${KNOWN}`, 300, now)).toBe(true);
    expect(verifyWebhook('whsec_test', '1700000000', `${BODY} `, KNOWN, 300, now)).toBe(false);
    expect(verifyWebhook('other', '1700000000', BODY, KNOWN, 300, now)).toBe(false);
    expect(verifyWebhook('whsec_test', '1700000000', BODY, KNOWN, 300, now + 301_000)).toBe(false);
    expect(verifyWebhook('whsec_test', '1700000000', BODY, KNOWN.slice(0, -1), 300, now)).toBe(false);
    expect(verifyWebhook('whsec_test', undefined, BODY, KNOWN, 300, now)).toBe(false);
    expect(verifyWebhook('whsec_test', 'abc', BODY, KNOWN, 300, now)).toBe(false);
  });
});

describe('backoff', () => {
  it('grows exponentially, is capped, and is fully jittered', () => {
    const o = { baseMs: 100, maxMs: 5_000 };
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, o, () => 0.999999))).toEqual([99, 199, 399, 799, 4999]);
    expect(backoffDelay(5, o, () => 0)).toBe(0);
    const samples = Array.from({ length: 200 }, () => backoffDelay(4, o));
    expect(Math.max(...samples)).toBeLessThan(1600);
    expect(new Set(samples).size).toBeGreaterThan(50);
  });

  it('retries 5xx, 429 and 408 only', () => {
    expect([500, 502, 503, 429, 408].every(retryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 410, 422].some(retryableStatus)).toBe(false);
  });
});

describe('WebhookSender', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  async function receiver(handler: (req: IncomingMessage, body: string) => number): Promise<string> {
    const s = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.statusCode = handler(req, Buffer.concat(chunks).toString('utf8'));
        res.end();
      });
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`;
  }
  const fast = { baseMs: 5, maxMs: 20 };

  it('retries 5xx then succeeds; every attempt is signed and carries the same event id', async () => {
    const seen: Array<{ ok: boolean; id: string }> = [];
    const url = await receiver((req, body) => {
      seen.push({ ok: verifyWebhook('k', req.headers[TIMESTAMP_HEADER] as string, body, req.headers[SIGNATURE_HEADER] as string), id: String(req.headers['x-cpaas-event-id']) });
      return seen.length < 3 ? 503 : 204;
    });
    const metrics = new MetricsRegistry();
    const sender = new WebhookSender({ log: silentLogger, metrics, backoff: fast });
    const ev = WebhookSender.event('t1', 'test.ping', { n: 1 });
    const r = await sender.send(ev, { url, secret: 'k' });
    expect(r).toMatchObject({ ok: true, attempts: 3, status: 204 });
    expect(seen).toEqual([{ ok: true, id: ev.id }, { ok: true, id: ev.id }, { ok: true, id: ev.id }]);
    expect(metrics.render()).toMatch(/\ncpaas_webhooks_delivered_total\{type="test.ping"\} 1/);
  });

  it('does not retry other 4xx', async () => {
    let n = 0;
    const url = await receiver(() => (n++, 400));
    const sender = new WebhookSender({ log: silentLogger, backoff: fast });
    const r = await sender.send(WebhookSender.event('t1', 'x', {}), { url, secret: 'k' });
    expect(r).toMatchObject({ ok: false, attempts: 1 });
    expect(n).toBe(1);
  });

  it('retries 429 and network errors, then falls back to the fallback URL', async () => {
    let primary = 0;
    const url = await receiver(() => (primary++, 429));
    const fallback = await receiver(() => 200);
    const dead = 'http://127.0.0.1:9/hook'; // discard port: connection refused
    const metrics = new MetricsRegistry();
    const sender = new WebhookSender({ log: silentLogger, metrics, backoff: fast, maxAttempts: 3 });
    expect(await sender.send(WebhookSender.event('t1', 'x', {}), { url, secret: 'k', fallbackUrl: fallback })).toMatchObject({ ok: true, url: fallback, attempts: 4 });
    expect(primary).toBe(3);
    expect(await sender.send(WebhookSender.event('t1', 'x', {}), { url: dead, secret: 'k' })).toMatchObject({ ok: false, attempts: 3 });
    expect(metrics.render()).toMatch(/\ncpaas_webhooks_failed_total\{reason="exhausted",type="x"\} 1/);
  });

  it('times out a hanging attempt and bounds the queue', async () => {
    const hang = createServer(() => undefined);
    servers.push(hang);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hang.address() as AddressInfo).port}/`;
    const sender = new WebhookSender({ log: silentLogger, backoff: fast, maxAttempts: 2, attemptTimeoutMs: 100, maxQueue: 2, concurrency: 1 });
    const a = sender.send(WebhookSender.event('t1', 'x', {}), { url, secret: 'k' });
    const b = sender.send(WebhookSender.event('t1', 'x', {}), { url, secret: 'k' });
    expect(sender.send(WebhookSender.event('t1', 'x', {}), { url, secret: 'k' })).toBeUndefined();
    expect(await a).toMatchObject({ ok: false, attempts: 2, lastError: 'timeout' });
    await b;
    await sender.drain();
    expect(sender.pending).toBe(0);
    hang.closeAllConnections();
  });
});
