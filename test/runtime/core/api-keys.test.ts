import { describe, expect, it } from 'vitest';
import { generateApiKey, hashSecret, parseAuthorization, safeEqual, secretMatches, splitApiKey } from '../../../runtime/core/auth/api-keys.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('API keys', () => {
  it('generates `<tenant>.<16 chars>.<secret>` and stores only a hash', () => {
    const k = generateApiKey('acme-co');
    expect(k.keyId).toMatch(/^acme-co\.[0-9a-z]{16}$/);
    expect(k.token).toBe(`${k.keyId}.${k.secret}`);
    expect(Buffer.from(k.secret, 'base64url')).toHaveLength(32);
    expect(k.secretHash).toBe(hashSecret(k.secret));
    expect(k.secretHash).not.toContain(k.secret);
    expect(secretMatches(k.secret, k.secretHash)).toBe(true);
    expect(secretMatches(`${k.secret}x`, k.secretHash)).toBe(false);
    expect(secretMatches(k.secret, 'abcd')).toBe(false);
    expect(generateApiKey('acme-co').secret).not.toBe(k.secret);
  });

  it('parses Bearer and Basic authorization headers', () => {
    expect(parseAuthorization('Bearer abc.def')).toEqual({ kind: 'bearer', value: 'abc.def' });
    expect(parseAuthorization('bearer   abc')).toEqual({ kind: 'bearer', value: 'abc' });
    expect(parseAuthorization(`Basic ${b64('acme.0123456789abcdef:s3cr:et')}`)).toEqual({ kind: 'basic', user: 'acme.0123456789abcdef', password: 's3cr:et' });
    for (const bad of [undefined, '', 'Bearer', 'Bearer ', 'Digest abc', `Basic ${b64('nocolon')}`, `Basic ${b64(':pw')}`]) {
      expect(parseAuthorization(bad)).toBeUndefined();
    }
  });

  it('splits a key into tenant, key id and secret, rejecting malformed ones', () => {
    expect(splitApiKey({ kind: 'bearer', value: 'acme.0123456789abcdef.SeCrEt_-' })).toEqual({ tenantId: 'acme', keyId: 'acme.0123456789abcdef', secret: 'SeCrEt_-' });
    expect(splitApiKey({ kind: 'basic', user: 'acme.0123456789abcdef', password: 'pw' })).toEqual({ tenantId: 'acme', keyId: 'acme.0123456789abcdef', secret: 'pw' });
    for (const value of ['acme.0123456789abcdef', 'acme.0123456789abcdef.', 'Acme.0123456789abcdef.s', 'acme.short.s', 'acme.0123456789ABCDEF.s', '.0123456789abcdef.s', 'a.b.c.d']) {
      expect(splitApiKey({ kind: 'bearer', value }), value).toBeUndefined();
    }
    expect(splitApiKey({ kind: 'basic', user: 'acme', password: 'pw' })).toBeUndefined();
    expect(splitApiKey({ kind: 'basic', user: 'acme.0123456789abcdef', password: '' })).toBeUndefined();
  });

  it('compares the admin key in constant time', () => {
    expect(safeEqual('admin-key', 'admin-key')).toBe(true);
    expect(safeEqual('admin-key', 'admin-kez')).toBe(false);
    expect(safeEqual('admin-key', 'admin-key-longer')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });
});
