import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { HookClient, HookError, parseDocument } from '../../../runtime/sbc/voice/hooks.js';
import { verifyWebhook } from '../../../runtime/core/webhooks.js';
import type { VoiceHookEvent } from '../../../runtime/core/protocol/voice.js';

const SECRET = 's3cret';
const hits: Array<{ path: string; signed: boolean; eventId: string }> = [];
let server: http.Server;
let base = '';
const behaviour = new Map<string, (n: number) => { status: number; body?: string } | 'hang'>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const p = req.url ?? '/';
      hits.push({ path: p, signed: verifyWebhook(SECRET, req.headers['x-cpaas-timestamp'] as string, raw, req.headers['x-cpaas-signature'] as string), eventId: String(req.headers['x-cpaas-event-id']) });
      const n = hits.filter((h) => h.path === p).length;
      const b = behaviour.get(p)?.(n) ?? { status: 404 };
      if (b === 'hang') return;
      res.writeHead(b.status, { 'content-type': 'application/json' }).end(b.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.15.6', () => r()));
  base = `http://127.0.15.6:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const event: VoiceHookEvent = { event: 'call.incoming', tenantId: 't1', callId: 'ca_1', direction: 'inbound', from: '+1', to: '+2', variables: {} };
const client = new HookClient({ secretFor: (t) => Promise.resolve(t === 't1' ? SECRET : undefined), timeoutMs: 300 });

describe('HookClient', () => {
  it('posts a signed event and returns the document with schema defaults applied', async () => {
    behaviour.set('/ok', () => ({ status: 200, body: JSON.stringify([{ verb: 'gather', numDigits: 1 }]) }));
    const doc = await client.fetchDocument(`${base}/ok`, event);
    expect(doc).toEqual([{ verb: 'gather', numDigits: 1, timeoutSeconds: 5 }]);
    expect(hits.find((h) => h.path === '/ok')!.signed).toBe(true);
  });

  it('an empty body means hang up', async () => {
    behaviour.set('/empty', () => ({ status: 204 }));
    expect(await client.fetchDocument(`${base}/empty`, event)).toEqual([]);
  });

  it('retries once on 5xx and timeouts (same event id), then tries the fallback URL', async () => {
    behaviour.set('/flaky', (n) => (n === 1 ? { status: 503 } : { status: 200, body: '[{"verb":"hangup"}]' }));
    expect(await client.fetchDocument(`${base}/flaky`, event)).toEqual([{ verb: 'hangup' }]);
    const flaky = hits.filter((h) => h.path === '/flaky');
    expect(flaky).toHaveLength(2);
    expect(flaky[0]!.eventId).toBe(flaky[1]!.eventId);
    behaviour.set('/slow', () => 'hang');
    behaviour.set('/fallback', () => ({ status: 200, body: '[{"verb":"pause","seconds":1}]' }));
    expect(await client.fetchDocument(`${base}/slow`, event, `${base}/fallback`)).toEqual([{ verb: 'pause', seconds: 1 }]);
    expect(hits.filter((h) => h.path === '/slow')).toHaveLength(2);
    await expect(client.fetchDocument(`${base}/slow`, event)).rejects.toMatchObject({ reason: 'timeout' });
  });

  it('does not retry 4xx; rejects invalid documents and missing secrets with a reason', async () => {
    behaviour.set('/gone', () => ({ status: 404 }));
    await expect(client.fetchDocument(`${base}/gone`, event)).rejects.toMatchObject({ reason: 'http-error' });
    expect(hits.filter((h) => h.path === '/gone')).toHaveLength(1);
    behaviour.set('/bad', () => ({ status: 200, body: '{"verb":"play"}' }));
    await expect(client.fetchDocument(`${base}/bad`, event)).rejects.toMatchObject({ reason: 'invalid-document' });
    behaviour.set('/notjson', () => ({ status: 200, body: 'hello' }));
    await expect(client.fetchDocument(`${base}/notjson`, event)).rejects.toBeInstanceOf(HookError);
    await expect(client.fetchDocument(`${base}/ok`, { ...event, tenantId: 'nobody' })).rejects.toMatchObject({ reason: 'no-secret' });
    expect(() => parseDocument([{ verb: 'dial', targets: [] }])).toThrow(/invalid call document/);
    const strict = new HookClient({ secretFor: () => Promise.resolve(SECRET), blockPrivateUrls: true });
    const before = hits.length;
    await expect(strict.fetchDocument(`${base}/ok`, event)).rejects.toMatchObject({ reason: 'private-address' });
    await expect(strict.fetchDocument('http://169.254.169.254/latest/meta-data', event)).rejects.toMatchObject({ reason: 'private-address' });
    expect(hits.length).toBe(before);
  });
});
