import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../../runtime/core/errors.js';
import type { Logger } from '../../../runtime/core/logging.js';
import { createSbcControl, GATEWAY_SECRET_HEADER } from '../../../runtime/signalling/sbc-control.js';
import { createGatewayClient } from '../../../runtime/signalling/gateway-client.js';
import { createVoiceClient } from '../../../runtime/signalling/voice-client.js';
import { createConferenceClient } from '../../../runtime/signalling/conference-client.js';
import { createSbcMediaClient } from '../../../runtime/signalling/http/routes/call-media.js';

/** fetch stubbed (no network): records requests, answers with `answer`. */
function stubFetch(answer: (url: string, init: RequestInit) => Response | Promise<Response>) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return answer(url, init);
  });
  return calls;
}
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
function logger() {
  const lines: Array<[string, string]> = [];
  const log = { warn: (_o: unknown, m: string) => lines.push(['warn', m]), error: (_o: unknown, m: string) => lines.push(['error', m]) } as unknown as Logger;
  return { log, lines };
}
async function caught(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a rejection');
}
const o = { url: 'http://sbc.test:9/', secret: 's3cret', timeoutMs: 1000 };

afterEach(() => vi.unstubAllGlobals());

describe('createSbcControl', () => {
  it('sends the secret header, JSON only with a body, and returns the parsed answer', async () => {
    const calls = stubFetch(() => json(200, { ok: 1 }));
    const sbc = createSbcControl(o);
    expect(await sbc.request('POST', '/v1/x', { a: 1 })).toEqual({ ok: 1 });
    expect(await sbc.request('DELETE', '/v1/x?tenantId=t')).toEqual({ ok: 1 });
    expect(calls[0]!.url).toBe('http://sbc.test:9/v1/x');
    expect(calls[0]!.init).toMatchObject({ method: 'POST', body: '{"a":1}', headers: { [GATEWAY_SECRET_HEADER]: 's3cret', 'content-type': 'application/json' } });
    expect(calls[1]!.init.headers).toEqual({ [GATEWAY_SECRET_HEADER]: 's3cret' });
    expect(calls[1]!.init.body).toBeUndefined();
    stubFetch(() => new Response(null, { status: 204 }));
    expect(await sbc.request('DELETE', '/v1/x')).toEqual({});
  });

  it('maps errors: known codes pass through, unknown → fallback, 401 → SERVICE_UNAVAILABLE (logged), unreachable → retryable', async () => {
    const { log, lines } = logger();
    const sbc = createSbcControl({ ...o, log });
    stubFetch(() => json(404, { code: 'CALL_NOT_FOUND', message: 'no such call', retryable: false, field: '/callId' }));
    let e = await caught(sbc.request('GET', '/v1/x'));
    expect([e.code, e.message, e.details]).toEqual(['CALL_NOT_FOUND', 'no such call', { retryable: false, field: '/callId' }]);
    stubFetch(() => new Response('oops', { status: 502 }));
    e = await caught(sbc.request('GET', '/v1/x'));
    expect([e.code, e.message]).toEqual(['SERVICE_UNAVAILABLE', 'SBC answered 502']);
    stubFetch(() => json(401, { code: 'NOT_AUTHENTICATED', message: 'bad secret', retryable: false }));
    e = await caught(sbc.request('GET', '/v1/x'));
    expect(e.code).toBe('SERVICE_UNAVAILABLE');
    expect(lines).toContainEqual(['error', 'SBC refused the control secret (check gateway.secret on both sides)']);
    stubFetch(() => Promise.reject(new TypeError('fetch failed')));
    e = await caught(sbc.request('GET', '/v1/x'));
    expect([e.code, e.message, e.retryable]).toEqual(['SERVICE_UNAVAILABLE', 'the SBC is unreachable', true]);
    expect(lines).toContainEqual(['warn', 'SBC control API unreachable']);
  });

  it('options: what, fallbackCode, passthrough, translate', async () => {
    const sbc = createSbcControl({ ...o, what: 'the thing', fallbackCode: 'UPSTREAM_SIP_FAILURE', passthrough: [], translate: (s) => (s === 418 ? AppError.invalid('teapot') : undefined) });
    stubFetch(() => json(500, { code: 'NOPE', retryable: true, field: 'x' }));
    let e = await caught(sbc.request('GET', '/'));
    expect([e.code, e.details]).toEqual(['UPSTREAM_SIP_FAILURE', {}]);
    stubFetch(() => json(418, {}));
    e = await caught(sbc.request('GET', '/'));
    expect([e.code, e.message]).toEqual(['INVALID_PAYLOAD', 'teapot']);
    stubFetch(() => Promise.reject(new Error('down')));
    e = await caught(sbc.request('GET', '/'));
    expect(e.message).toBe('the thing is unreachable');
  });
});

describe('the clients built on it keep their error behaviour', () => {
  const { log } = logger();
  it('gateway: unknown code → UPSTREAM_SIP_FAILURE, only retryable passes through, "the SIP gateway is unreachable"', async () => {
    const gw = createGatewayClient({ ...o, log });
    const calls = stubFetch(() => json(200, { callId: 'c1' }));
    expect(await gw.dial({ tenantId: 't' } as never)).toEqual({ callId: 'c1' });
    await gw.control({ callId: 'a/b', action: 'hangup' } as never);
    expect(calls[1]!.url).toBe('http://sbc.test:9/v1/gateway/calls/a%2Fb/control');
    expect(calls[1]!.init.body).toBe('{"action":"hangup"}');
    stubFetch(() => json(500, { code: 'WHATEVER', field: 'f', retryable: true }));
    const e = await caught(gw.dial({} as never));
    expect([e.code, e.details]).toEqual(['UPSTREAM_SIP_FAILURE', { retryable: true }]);
    stubFetch(() => Promise.reject(new Error('down')));
    expect((await caught(gw.dial({} as never))).message).toBe('the SIP gateway is unreachable');
  });

  it('voice: ROUTE_NOT_FOUND → programmable voice not enabled; CALL_NOT_FOUND on get → undefined', async () => {
    const v = createVoiceClient({ ...o, log });
    stubFetch(() => json(404, { code: 'ROUTE_NOT_FOUND', message: 'no route' }));
    const e = await caught(v.list('t'));
    expect([e.code, e.message, e.retryable]).toEqual(['SERVICE_UNAVAILABLE', 'programmable voice is not enabled on the SBC', false]);
    const calls = stubFetch(() => json(404, { code: 'CALL_NOT_FOUND', message: 'gone' }));
    expect(await v.get('t 1', 'c1')).toBeUndefined();
    expect(calls[0]!.url).toBe('http://sbc.test:9/v1/voice/calls/c1?tenantId=t%201');
    stubFetch(() => json(500, {}));
    expect((await caught(v.list('t'))).code).toBe('UPSTREAM_SIP_FAILURE');
    stubFetch(() => Promise.reject(new Error('down')));
    expect((await caught(v.list('t'))).message).toBe('the voice service (SBC) is unreachable');
  });

  it('conference: tenantId query on every request; unknown code → SERVICE_UNAVAILABLE', async () => {
    const c = createConferenceClient({ ...o, log });
    const calls = stubFetch(() => json(200, { items: [] }));
    await c.list('t');
    await c.kick('t', 'room 1', 'p1');
    expect(calls.map((x) => `${x.init.method} ${x.url}`)).toEqual([
      'GET http://sbc.test:9/v1/conferences?tenantId=t',
      'DELETE http://sbc.test:9/v1/conferences/room%201/participants/p1?tenantId=t',
    ]);
    stubFetch(() => json(500, { field: 'f' }));
    const e = await caught(c.get('t', 'x'));
    expect([e.code, e.details]).toEqual(['SERVICE_UNAVAILABLE', { field: 'f' }]);
  });

  it('call media: unknown code → SERVICE_UNAVAILABLE, only retryable passes through', async () => {
    const m = createSbcMediaClient(o);
    stubFetch(() => json(409, { code: 'CONFLICT', message: 'already', field: 'f', retryable: false }));
    const e = await caught(m.post('/v1/calls/c/recording', { action: 'stop' }));
    expect([e.code, e.message, e.details]).toEqual(['CONFLICT', 'already', { retryable: false }]);
    stubFetch(() => Promise.reject(new Error('down')));
    expect((await caught(m.del('/v1/calls/c/play'))).message).toBe('the SBC is unreachable');
  });
});
