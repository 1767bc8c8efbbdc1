import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { randomToken } from '../ids.js';

/**
 * Tenant API keys: `<keyId>.<secret>` where keyId = `<tenantId>.<16 random chars>`, so the tenant is known
 * from the key itself and every storage key carries it. Only sha-256(secret) is stored: the secret is 32
 * random bytes, so a fast hash is enough (no dictionary to attack).
 */
export interface GeneratedKey {
  keyId: string;
  secret: string;
  secretHash: string;
  token: string;
}

export function generateApiKey(tenantId: string): GeneratedKey {
  const keyId = `${tenantId}.${randomToken(16)}`;
  const secret = randomBytes(32).toString('base64url');
  return { keyId, secret, secretHash: hashSecret(secret), token: `${keyId}.${secret}` };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Constant-time comparison of two strings (admin key). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export type Credentials =
  | { kind: 'bearer'; value: string }
  | { kind: 'basic'; user: string; password: string };

/** Parses an Authorization header: `Bearer <token>` or `Basic base64(id:secret)`. */
export function parseAuthorization(header: string | undefined): Credentials | undefined {
  if (!header) return undefined;
  const [scheme, ...rest] = header.trim().split(/\s+/);
  const value = rest.join(' ');
  if (!scheme || !value) return undefined;
  if (scheme.toLowerCase() === 'bearer') return { kind: 'bearer', value };
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i <= 0) return undefined;
    return { kind: 'basic', user: decoded.slice(0, i), password: decoded.slice(i + 1) };
  }
  return undefined;
}

/** Splits `<tenantId>.<rand>.<secret>` (or Basic user `<tenantId>.<rand>` + password) into parts. */
export function splitApiKey(creds: Credentials): { tenantId: string; keyId: string; secret: string } | undefined {
  let keyId: string;
  let secret: string;
  if (creds.kind === 'basic') {
    keyId = creds.user;
    secret = creds.password;
  } else {
    const parts = creds.value.split('.');
    if (parts.length !== 3) return undefined;
    keyId = `${parts[0]}.${parts[1]}`;
    secret = parts[2]!;
  }
  const [tenantId, rand] = keyId.split('.');
  if (!tenantId || !rand || !/^[a-z0-9][a-z0-9-]{0,63}$/.test(tenantId) || !/^[0-9a-z]{16}$/.test(rand) || !secret) return undefined;
  return { tenantId, keyId, secret };
}
