import { expect } from 'vitest';
import type { TestPlatform } from '../../support/platform.js';

export interface ErrorJson {
  code: string;
  message: string;
  field?: string;
  retryable: boolean;
}

/** Calls the API and parses the JSON answer (undefined for an empty body). */
export async function call<T = any>(
  p: TestPlatform,
  method: string,
  path: string,
  opts: { key?: string; json?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await p.api(path, {
    method,
    ...(opts.key ? { key: opts.key } : {}),
    ...(opts.json !== undefined ? { json: opts.json } : {}),
    ...(opts.headers ? { headers: opts.headers } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

/** Asserts an error answer: HTTP status and stable code, and that the body has the ErrorBody shape. */
export async function expectError(
  pending: Promise<{ status: number; body: unknown }>,
  status: number,
  code: string,
): Promise<ErrorJson> {
  const res = await pending;
  expect({ status: res.status, code: (res.body as ErrorJson | undefined)?.code }).toEqual({ status, code });
  const body = res.body as ErrorJson;
  expect(typeof body.message).toBe('string');
  expect(typeof body.retryable).toBe('boolean');
  return body;
}

/** Creates a tenant and a first key through the admin REST API. */
export async function newTenant(p: TestPlatform, name = 'acme'): Promise<{ tenantId: string; apiKey: string; keyId: string }> {
  const t = await call(p, 'POST', '/v1/tenants', { key: p.adminKey, json: { name } });
  expect(t.status).toBe(201);
  const k = await call(p, 'POST', `/v1/tenants/${t.body.id}/keys`, { key: p.adminKey, json: { name: 'first' } });
  expect(k.status).toBe(201);
  return { tenantId: t.body.id, apiKey: k.body.token, keyId: k.body.id };
}

export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
