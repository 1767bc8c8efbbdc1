import Fastify, { type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, ERROR_CODES, errorAck, isAppError, toAppError, type ErrorCode } from '../../../runtime/core/errors.js';
import { httpErrorHandler } from '../../../runtime/signalling/http/errors.js';
import { silentLogger } from '../../../runtime/core/logging.js';

describe('AppError', () => {
  it('maps every code to its HTTP and SIP status', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      const e = new AppError(code as ErrorCode, 'x');
      expect(e.httpStatus).toBe(spec.http);
      expect(e.sipStatus).toBe(spec.sip);
      expect(spec.doc.length).toBeGreaterThan(10);
    }
  });

  it('never leaks the message of an INTERNAL error', () => {
    const e = new AppError('INTERNAL', 'password=hunter2 at db.internal:5432');
    expect(e.toJSON()).toEqual({ code: 'INTERNAL', message: 'Internal Server Error', retryable: false });
    expect(JSON.stringify(e)).not.toContain('hunter2');
    const wrapped = toAppError(new Error('ECONNRESET secret-host'));
    expect(wrapped.code).toBe('INTERNAL');
    expect(JSON.stringify(wrapped)).not.toContain('secret-host');
    expect((wrapped.cause as Error).message).toBe('ECONNRESET secret-host');
    expect(toAppError('a string')).toMatchObject({ code: 'INTERNAL' });
    expect(errorAck(new Error('boom'))).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'Internal Server Error', retryable: false } });
  });

  it('keeps client-facing messages, fields and retryability', () => {
    expect(AppError.invalid('name is required', 'body/name').toJSON()).toEqual({ code: 'INVALID_PAYLOAD', message: 'name is required', field: 'body/name', retryable: false });
    expect(new AppError('RATE_LIMITED', 'slow down').retryable).toBe(true);
    expect(new AppError('SERVICE_UNAVAILABLE', 'later').retryable).toBe(true);
    expect(new AppError('MAIL_FAILED', 'x', { retryable: true }).retryable).toBe(true);
    expect(AppError.roomNotFound('rm_1')).toMatchObject({ code: 'ROOM_NOT_FOUND', message: 'room rm_1 not found' });
    const same = AppError.forbidden('no');
    expect(toAppError(same)).toBe(same);
    expect(isAppError(same)).toBe(true);
    expect(isAppError(new Error('x'))).toBe(false);
    const sip = AppError.fromSipError({ status: 486, reason: 'Busy Here' });
    expect(sip).toMatchObject({ code: 'UPSTREAM_SIP_FAILURE', message: 'SIP 486 Busy Here', details: { sipStatus: 486 } });
  });
});

describe('HTTP error handler', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = Fastify({ loggerInstance: silentLogger, bodyLimit: 1024, ajv: { customOptions: { removeAdditional: false } } }).withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyInstance;
    app.setErrorHandler(httpErrorHandler);
    app.post('/validate', { schema: { body: Type.Object({ name: Type.String({ minLength: 1 }), n: Type.Optional(Type.Integer()) }, { additionalProperties: false }) } }, async () => ({ ok: true }));
    app.get('/q', { schema: { querystring: Type.Object({ limit: Type.Integer({ maximum: 10 }) }) } }, async () => ({ ok: true }));
    app.get('/app-error/:code', async (req) => {
      throw new AppError((req.params as { code: ErrorCode }).code, 'explained');
    });
    app.get('/crash', async () => {
      throw new Error('database password is hunter2');
    });
    app.get('/status/:n', async (req) => {
      throw Object.assign(new Error('fastify-ish client error'), { statusCode: Number((req.params as { n: string }).n) });
    });
    await app.ready();
  });
  afterAll(() => app.close());

  const inject = async (method: 'GET' | 'POST', url: string, payload?: string) => {
    const res = await app.inject({ method, url, ...(payload !== undefined ? { payload, headers: { 'content-type': 'application/json' } } : {}) });
    return { status: res.statusCode, body: res.json() as { code: string; message: string; field?: string; retryable: boolean } };
  };

  it('maps validation errors to 400 INVALID_PAYLOAD naming the field', async () => {
    expect(await inject('POST', '/validate', '{}')).toMatchObject({ status: 400, body: { code: 'INVALID_PAYLOAD', field: 'body/name' } });
    expect(await inject('POST', '/validate', '{"name":""}')).toMatchObject({ status: 400, body: { field: 'body/name' } });
    const extra = await inject('POST', '/validate', '{"name":"a","evil":1}');
    expect(extra.body.message).toContain('evil');
    expect(await inject('GET', '/q?limit=11')).toMatchObject({ status: 400, body: { code: 'INVALID_PAYLOAD', field: 'querystring/limit' } });
  });

  it('answers each AppError with the status of its code', async () => {
    for (const code of ['NOT_AUTHENTICATED', 'NOT_AUTHORIZED', 'ROOM_NOT_FOUND', 'ROOM_CLOSED', 'IDEMPOTENCY_CONFLICT', 'RATE_LIMITED', 'MAIL_FAILED', 'SERVICE_UNAVAILABLE'] as const) {
      const res = await inject('GET', `/app-error/${code}`);
      expect({ code, status: res.status }).toEqual({ code, status: ERROR_CODES[code].http });
      expect(res.body).toMatchObject({ code, message: 'explained' });
    }
  });

  it('hides unexpected errors behind 500 INTERNAL', async () => {
    expect(await inject('GET', '/crash')).toEqual({ status: 500, body: { code: 'INTERNAL', message: 'Internal Server Error', retryable: false } });
  });

  it('maps fastify client errors: bad JSON 400, too large 413, 429', async () => {
    expect(await inject('POST', '/validate', '{"name":')).toMatchObject({ status: 400, body: { code: 'INVALID_PAYLOAD' } });
    expect(await inject('POST', '/validate', JSON.stringify({ name: 'x'.repeat(2048) }))).toMatchObject({ status: 413, body: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(await inject('GET', '/status/429')).toMatchObject({ status: 429, body: { code: 'RATE_LIMITED', retryable: true } });
    expect(await inject('GET', '/status/415')).toMatchObject({ status: 400, body: { code: 'INVALID_PAYLOAD' } });
    expect(await inject('GET', '/status/503')).toMatchObject({ status: 500, body: { code: 'INTERNAL', message: 'Internal Server Error' } });
  });
});
