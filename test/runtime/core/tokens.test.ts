import { SignJWT, decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../runtime/core/errors.js';
import { TokenService, mayJoinRoom } from '../../../runtime/core/auth/tokens.js';
import type { Clock } from '../../../runtime/core/clock.js';

const KEY = 'k'.repeat(32);
const T0 = Date.parse('2030-01-01T00:00:00Z');
const fixedClock = (ms: number): Clock & { set(ms: number): void } => {
  let now = ms;
  return { now: () => now, set: (m: number) => (now = m) };
};
const opts = { issuer: 'cpaas', defaultTtlSeconds: 3600, maxTtlSeconds: 86400 };

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a rejection');
}

describe('access tokens', () => {
  it('mints a token that verifies with tenant, identity, grants and expiry', async () => {
    const clock = fixedClock(T0);
    const svc = new TokenService(KEY, opts, clock);
    const minted = await svc.mint({ tenantId: 'acme', identity: 'alice', displayName: 'Alice', grants: { rooms: ['rm_1'], dialOut: true }, ttlSeconds: 600 });
    expect(minted.expiresAt).toBe(T0 + 600_000);
    // grants are completed with defaults
    expect(minted.grants).toEqual({ rooms: ['rm_1'], publish: true, call: true, dialOut: true, presence: true, record: false }); // record: media-services

    const claims = await svc.verify(minted.token);
    expect(claims).toMatchObject({ tenantId: 'acme', identity: 'alice', displayName: 'Alice', expiresAt: T0 + 600_000, grants: minted.grants });
    expect(claims.tokenId).toMatch(/^tok_/);
    const raw = decodeJwt(minted.token);
    expect(raw).toMatchObject({ iss: 'cpaas', aud: 'cpaas-client', sub: 'alice', tid: 'acme', iat: T0 / 1000, exp: T0 / 1000 + 600 });
  });

  it('uses the default TTL and enforces the maximum', async () => {
    const svc = new TokenService(KEY, opts, fixedClock(T0));
    expect((await svc.mint({ tenantId: 'a', identity: 'b' })).expiresAt).toBe(T0 + 3_600_000);
    const err = await rejection(svc.mint({ tenantId: 'a', identity: 'b', ttlSeconds: 86_401 }));
    expect(err.code).toBe('INVALID_PAYLOAD');
    expect(err.details.field).toBe('/ttlSeconds');
  });

  it('rejects an expired token', async () => {
    const clock = fixedClock(T0);
    const svc = new TokenService(KEY, opts, clock);
    const { token } = await svc.mint({ tenantId: 'a', identity: 'b', ttlSeconds: 60 });
    clock.set(T0 + 59_000);
    await expect(svc.verify(token)).resolves.toMatchObject({ identity: 'b' });
    clock.set(T0 + 61_000);
    const err = await rejection(svc.verify(token));
    expect(err.code).toBe('NOT_AUTHENTICATED');
    expect(err.message).toMatch(/expired/);
  });

  it('rejects a token signed with another key, or with another issuer', async () => {
    const clock = fixedClock(T0);
    const other = new TokenService('x'.repeat(32), opts, clock);
    const { token } = await other.mint({ tenantId: 'a', identity: 'b' });
    expect((await rejection(new TokenService(KEY, opts, clock).verify(token))).code).toBe('NOT_AUTHENTICATED');
    const foreign = await new TokenService(KEY, { ...opts, issuer: 'someone-else' }, clock).mint({ tenantId: 'a', identity: 'b' });
    expect((await rejection(new TokenService(KEY, opts, clock).verify(foreign.token))).code).toBe('NOT_AUTHENTICATED');
  });

  it('rejects a tampered payload (escalated grants, other tenant)', async () => {
    const clock = fixedClock(T0);
    const svc = new TokenService(KEY, opts, clock);
    const { token } = await svc.mint({ tenantId: 'acme', identity: 'alice', grants: { rooms: ['rm_1'] } });
    const [h, payload, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    for (const change of [{ grants: { ...claims.grants, rooms: ['*'], dialOut: true } }, { tid: 'other' }, { exp: claims.exp + 86_400 }]) {
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, ...change })).toString('base64url')}.${s}`;
      expect((await rejection(svc.verify(forged))).code).toBe('NOT_AUTHENTICATED');
    }
    // alg=none with the original payload
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    expect((await rejection(svc.verify(none))).code).toBe('NOT_AUTHENTICATED');
  });

  it('rejects correctly signed tokens with invalid claims, and garbage', async () => {
    const clock = fixedClock(T0);
    const svc = new TokenService(KEY, opts, clock);
    const bad = await new SignJWT({ tid: 'a', grants: { rooms: 'all' } })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('cpaas')
      .setAudience('cpaas-client')
      .setSubject('b')
      .setExpirationTime(T0 / 1000 + 60)
      .sign(new TextEncoder().encode(KEY));
    expect((await rejection(svc.verify(bad))).message).toMatch(/invalid claims/);
    for (const junk of ['', 'a.b.c', 'x'.repeat(9000)]) expect((await rejection(svc.verify(junk))).code).toBe('NOT_AUTHENTICATED');
  });

  it('refuses a short signing key', () => {
    expect(() => new TokenService('short', opts, fixedClock(T0))).toThrow(AppError);
  });

  it('checks room grants', () => {
    const g = { rooms: ['rm_1'], publish: true, call: true, dialOut: false, presence: true };
    expect(mayJoinRoom(g, 'rm_1')).toBe(true);
    expect(mayJoinRoom(g, 'rm_2')).toBe(false);
    expect(mayJoinRoom({ ...g, rooms: ['*'] }, 'rm_2')).toBe(true);
    expect(mayJoinRoom({ ...g, rooms: [] }, 'rm_1')).toBe(false);
  });
});
