import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { Value } from 'typebox/value';
import { AppError } from '../errors.js';
import { Grants } from '../protocol/common.js';
import type { Clock } from '../clock.js';
import { newId } from '../ids.js';

export interface AccessClaims {
  tenantId: string;
  identity: string;
  displayName?: string;
  grants: Grants;
  expiresAt: number; // ms
  tokenId: string;
}

const AUDIENCE = 'cpaas-client';

/**
 * Client access tokens: short-lived HS256 JWTs carrying the tenant, the identity and its grants.
 * The SDK only ever holds these (never an API key).
 */
export class TokenService {
  /** Imported once: with a raw Uint8Array, jose imports a WebCrypto key on every sign/verify (~50 µs each). */
  private readonly key: Promise<CryptoKey>;

  constructor(
    signingKey: string,
    private readonly opts: { issuer: string; defaultTtlSeconds: number; maxTtlSeconds: number },
    private readonly clock: Clock,
  ) {
    if (signingKey.length < 16) throw new AppError('CONFIG_INVALID', 'JWT signing key must be at least 16 characters');
    this.key = globalThis.crypto.subtle.importKey('raw', new TextEncoder().encode(signingKey), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  }

  async mint(input: { tenantId: string; identity: string; displayName?: string; grants?: Partial<Grants>; ttlSeconds?: number }): Promise<{ token: string; expiresAt: number; grants: Grants }> {
    const ttl = input.ttlSeconds ?? this.opts.defaultTtlSeconds;
    if (ttl > this.opts.maxTtlSeconds) throw AppError.invalid(`ttlSeconds must be at most ${this.opts.maxTtlSeconds}`, '/ttlSeconds');
    const grants = Value.Default(Grants, structuredClone(input.grants ?? {})) as Grants;
    const nowSec = Math.floor(this.clock.now() / 1000);
    const exp = nowSec + ttl;
    const token = await new SignJWT({ tid: input.tenantId, grants, ...(input.displayName ? { name: input.displayName } : {}) })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(this.opts.issuer)
      .setAudience(AUDIENCE)
      .setSubject(input.identity)
      .setIssuedAt(nowSec)
      .setExpirationTime(exp)
      .setJti(newId('tok', this.clock.now()))
      .sign(await this.key);
    return { token, expiresAt: exp * 1000, grants };
  }

  async verify(token: string): Promise<AccessClaims> {
    if (typeof token !== 'string' || token.length > 8192) throw AppError.unauthenticated('access token missing or malformed');
    try {
      const { payload } = await jwtVerify(token, await this.key, {
        issuer: this.opts.issuer,
        audience: AUDIENCE,
        algorithms: ['HS256'],
        currentDate: new Date(this.clock.now()),
      });
      const tenantId = payload.tid;
      const grants = payload.grants;
      if (typeof tenantId !== 'string' || typeof payload.sub !== 'string' || !Value.Check(Grants, grants)) {
        throw AppError.unauthenticated('access token has invalid claims');
      }
      return {
        tenantId,
        identity: payload.sub,
        ...(typeof payload.name === 'string' ? { displayName: payload.name } : {}),
        grants: grants as Grants,
        expiresAt: (payload.exp ?? 0) * 1000,
        tokenId: String(payload.jti ?? ''),
      };
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw AppError.unauthenticated('access token expired');
      throw AppError.unauthenticated('access token invalid');
    }
  }
}

/** Whether the grants allow joining a room. */
export function mayJoinRoom(grants: Grants, roomId: string): boolean {
  return grants.rooms.includes('*') || grants.rooms.includes(roomId);
}
