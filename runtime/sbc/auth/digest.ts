/**
 * RFC 2617 / RFC 7616 MD5 digest for SIP (qop=auth), server side, with only HA1 stored.
 * Nonces are stateless: `<expiry-seconds-hex>.<hmac(secret, expiry:realm)>`, so any SBC instance sharing
 * the secret can verify them and they expire without a store; replay within the nonce lifetime is bounded by
 * the expiry (nc is not tracked).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../core/clock.js';

export const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
export const computeHa1 = (username: string, realm: string, password: string): string => md5(`${username}:${realm}:${password}`);

export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
  algorithm?: string;
  opaque?: string;
}

/** Parses `Digest username="a", realm="b", …` (quoted or token values). */
export function parseAuthorization(header: string | undefined): DigestCredentials | undefined {
  if (!header) return undefined;
  const m = /^\s*Digest\s+(.*)$/is.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (let x = re.exec(m[1]!); x; x = re.exec(m[1]!)) params[x[1]!.toLowerCase()] = x[2] ?? x[3] ?? '';
  if (!params.username || !params.realm || !params.nonce || !params.uri || !params.response) return undefined;
  return {
    username: params.username, realm: params.realm, nonce: params.nonce, uri: params.uri, response: params.response,
    ...(params.qop ? { qop: params.qop } : {}), ...(params.nc ? { nc: params.nc } : {}), ...(params.cnonce ? { cnonce: params.cnonce } : {}),
    ...(params.algorithm ? { algorithm: params.algorithm } : {}), ...(params.opaque ? { opaque: params.opaque } : {}),
  };
}

export type DigestVerdict = 'ok' | 'stale' | 'invalid';

export class DigestAuthenticator {
  private readonly secret: Buffer;

  constructor(private readonly o: { secret?: string; nonceTtlSeconds: number; clock: Clock }) {
    this.secret = o.secret ? Buffer.from(o.secret) : randomBytes(32);
  }

  nonce(realm: string): string {
    const exp = Math.floor(this.o.clock.now() / 1000) + this.o.nonceTtlSeconds;
    const hex = exp.toString(16);
    return `${hex}.${createHmac('sha256', this.secret).update(`${hex}:${realm}`).digest('hex').slice(0, 32)}`;
  }

  /** The WWW-Authenticate / Proxy-Authenticate value. */
  challenge(realm: string, stale = false): string {
    return `Digest realm="${realm}", nonce="${this.nonce(realm)}", algorithm=MD5, qop="auth"${stale ? ', stale=true' : ''}`;
  }

  private nonceState(nonce: string, realm: string): 'ok' | 'stale' | 'invalid' {
    const [hex, mac] = nonce.split('.');
    if (!hex || !mac) return 'invalid';
    const expected = createHmac('sha256', this.secret).update(`${hex}:${realm}`).digest('hex').slice(0, 32);
    if (expected.length !== mac.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(mac))) return 'invalid';
    return parseInt(hex, 16) < Math.floor(this.o.clock.now() / 1000) ? 'stale' : 'ok';
  }

  /** Checks a response against the stored HA1. 'stale' = right password, expired nonce (re-challenge with stale=true). */
  verify(c: DigestCredentials, method: string, ha1: string): DigestVerdict {
    if (c.algorithm && c.algorithm.toUpperCase() !== 'MD5') return 'invalid';
    const state = this.nonceState(c.nonce, c.realm);
    if (state === 'invalid') return 'invalid';
    const ha2 = md5(`${method}:${c.uri}`);
    const expected = c.qop
      ? md5(`${ha1}:${c.nonce}:${c.nc ?? ''}:${c.cnonce ?? ''}:${c.qop}:${ha2}`)
      : md5(`${ha1}:${c.nonce}:${ha2}`);
    const ok = expected.length === c.response.length && timingSafeEqual(Buffer.from(expected), Buffer.from(c.response.toLowerCase()));
    if (!ok) return 'invalid';
    return state;
  }
}
