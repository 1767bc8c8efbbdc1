import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { iceServersFor, turnCredential } from '../../../runtime/core/auth/turn.js';

/** HMAC-SHA1 built from the RFC 2104 definition with plain SHA-1, independent of crypto.createHmac. */
function hmacSha1(key: Buffer, message: Buffer): Buffer {
  const block = 64;
  let k = key.length > block ? createHash('sha1').update(key).digest() : key;
  k = Buffer.concat([k, Buffer.alloc(block - k.length)]);
  const ipad = Buffer.from(k.map((b) => b ^ 0x36));
  const opad = Buffer.from(k.map((b) => b ^ 0x5c));
  const inner = createHash('sha1').update(Buffer.concat([ipad, message])).digest();
  return createHash('sha1').update(Buffer.concat([opad, inner])).digest();
}

describe('TURN REST credentials', () => {
  it('the reference HMAC-SHA1 matches RFC 2202 test case 2', () => {
    expect(hmacSha1(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?')).toString('hex')).toBe('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
  });

  it('matches a known vector (computed with openssl dgst -sha1 -hmac)', () => {
    // printf '%s' "1700003600:alice" | openssl dgst -sha1 -hmac "coturn-static-secret" -binary | base64
    const cred = turnCredential('coturn-static-secret', 'alice', 3600, 1_700_000_000_000);
    expect(cred).toEqual({ username: '1700003600:alice', credential: '9slznMM7Vqei6uL0F+LIv3oQM88=', expiresAt: 1_700_003_600_000 });
  });

  it('is base64(HMAC-SHA1(secret, "<expiry>:<user>")) for any input', () => {
    for (const [secret, user, ttl, now] of [
      ['s', 'bob', 60, 1_000_499],
      ['a much longer static auth secret that exceeds the sixty-four byte hmac block size', 'tenant.user@example.com', 86_400, Date.UTC(2031, 5, 1)],
    ] as const) {
      const cred = turnCredential(secret, user, ttl, now);
      const expiry = Math.floor(now / 1000) + ttl;
      expect(cred.username).toBe(`${expiry}:${user}`);
      expect(cred.credential).toBe(hmacSha1(Buffer.from(secret), Buffer.from(cred.username)).toString('base64'));
      expect(cred.expiresAt).toBe(expiry * 1000);
    }
  });

  it('gives STUN URLs without and TURN URLs with credentials', () => {
    const urls = ['stun:turn.example.com:3478', 'turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349?transport=tcp'];
    const { iceServers, expiresAt } = iceServersFor(urls, 'secret', 'alice', 600, 1_700_000_000_000);
    expect(iceServers).toEqual([
      { urls: ['stun:turn.example.com:3478'] },
      {
        urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349?transport=tcp'],
        username: '1700000600:alice',
        credential: hmacSha1(Buffer.from('secret'), Buffer.from('1700000600:alice')).toString('base64'),
      },
    ]);
    expect(expiresAt).toBe(1_700_000_600_000);
    expect(iceServersFor([], 's', 'a', 60, 0).iceServers).toEqual([]);
    expect(iceServersFor(['stun:x:1'], 's', 'a', 60, 0).iceServers).toEqual([{ urls: ['stun:x:1'] }]);
  });
});
