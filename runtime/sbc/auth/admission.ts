/**
 * Who is calling: a carrier (trusted by source CIDR, or by the trunk's inbound digest credentials) or a
 * device (a tenant's SIP user, by digest on the Proxy-Authorization header). Anything else is refused.
 */
import type { SipRepository, SipUser, Trunk } from '../../core/storage/sip-types.js';
import { toE164, userOf } from '../routing/numbers.js';
import { parseAuthorization, type DigestAuthenticator } from './digest.js';

export type Caller =
  | { kind: 'carrier'; tenantId: string; trunk: Trunk; via: 'cidr' | 'digest' }
  | { kind: 'device'; tenantId: string; user: SipUser };

export type Admission =
  | { ok: true; caller: Caller }
  | { ok: false; status: 407; challenge: string }
  | { ok: false; status: 403 | 404; reason: string };

export interface AdmissionRequest {
  method: string;
  sourceAddress: string;
  requestUri: string;
  fromUri: string;
  proxyAuthorization?: string;
}

export const hostOf = (uri: string): string => {
  const m = /^(?:.*<)?sips?:(?:[^@>]*@)?([^:;>]+)/i.exec(uri);
  return (m?.[1] ?? '').toLowerCase();
};

/** Firewall hooks (runtime/sbc/security): unknown-user probing and digest brute-force lockout. */
export interface AuthGuard {
  unknownUser(source: string, username: string): void;
  authFailure(source: string, userKey: string): void;
  authSuccess(userKey: string): void;
  isLocked(userKey: string): boolean;
}

const userKeyOf = (domain: string, username: string) => `${domain.toLowerCase()}|${username.toLowerCase()}`;

export class Admitter {
  constructor(private readonly o: { repo: SipRepository; digest: DigestAuthenticator; carrierRealm: string; guard?: AuthGuard }) {}

  /**
   * Anything not trusted by source address is challenged (407, fresh nonce) before its user is looked at, and
   * every refusal after credentials is the same `403 Forbidden` — unknown user, wrong password, disabled or
   * locked user alike — so accounts can't be enumerated (docs/security.md).
   */
  async admit(r: AdmissionRequest): Promise<Admission> {
    const { repo, digest, guard } = this.o;
    const called = userOf(r.requestUri);
    const forbidden = { ok: false, status: 403, reason: 'Forbidden' } as const;

    // 1. Carrier by source address.
    const trunks = await repo.trunksForSource(r.sourceAddress);
    if (trunks.length > 0) {
      let trunk = trunks[0]!;
      if (trunks.length > 1) {
        const num = await repo.tenantByNumber(toE164(called, trunk.countryCode) ?? called);
        trunk = trunks.find((t) => t.tenantId === num?.tenantId) ?? trunk;
      }
      return { ok: true, caller: { kind: 'carrier', tenantId: trunk.tenantId, trunk, via: 'cidr' } };
    }
    const creds = parseAuthorization(r.proxyAuthorization);
    const fromDomain = hostOf(r.fromUri);

    // 2. A device of the tenant that owns the From domain.
    const tenantId = await repo.tenantByDomain(fromDomain);
    if (tenantId) {
      const user = await repo.getUser(tenantId, userOf(r.fromUri));
      const realm = user?.domain ?? fromDomain;
      if (!creds) {
        if (!user) guard?.unknownUser(r.sourceAddress, `${userOf(r.fromUri)}@${fromDomain}`);
        return { ok: false, status: 407, challenge: digest.challenge(realm) };
      }
      const key = userKeyOf(realm, creds.username);
      if (!user || !user.enabled || creds.username !== user.username) {
        guard?.unknownUser(r.sourceAddress, `${creds.username}@${fromDomain}`);
        guard?.authFailure(r.sourceAddress, key);
        return forbidden;
      }
      if (guard?.isLocked(key)) {
        guard.authFailure(r.sourceAddress, key);
        return forbidden;
      }
      const verdict = digest.verify(creds, r.method, user.ha1);
      if (verdict === 'stale') return { ok: false, status: 407, challenge: digest.challenge(realm, true) };
      if (verdict === 'invalid') {
        guard?.authFailure(r.sourceAddress, key);
        return forbidden;
      }
      guard?.authSuccess(key);
      return { ok: true, caller: { kind: 'device', tenantId, user } };
    }

    // 3. A carrier authenticating with the trunk's inbound digest credentials (tenant from the called number).
    //    The realm is the one its HA1 was computed with: the tenant's SIP domain (`inboundDigest.realm`).
    const number = await repo.tenantByNumber(toE164(called) ?? called);
    const digestTrunks = number ? (await repo.listTrunks(number.tenantId)).filter((t) => t.enabled && t.inboundDigest) : [];
    const realmOf = (t: Trunk | undefined) => t?.inboundDigest?.realm ?? this.o.carrierRealm;
    // Neither a device domain nor a number with digest trunks: refused outright (reveals no user; see docs/security.md).
    if (digestTrunks.length === 0) return forbidden;
    if (!creds) return { ok: false, status: 407, challenge: digest.challenge(realmOf(digestTrunks[0])) };
    const trunk = digestTrunks.find((t) => t.inboundDigest!.username === creds.username && realmOf(t) === creds.realm)
      ?? digestTrunks.find((t) => t.inboundDigest!.username === creds.username);
    const key = userKeyOf(realmOf(trunk), creds.username);
    if (!number || !trunk) {
      guard?.unknownUser(r.sourceAddress, `${creds.username}@${called}`);
      guard?.authFailure(r.sourceAddress, key);
      return forbidden;
    }
    if (guard?.isLocked(key)) {
      guard.authFailure(r.sourceAddress, key);
      return forbidden;
    }
    const verdict = digest.verify(creds, r.method, trunk.inboundDigest!.ha1);
    if (verdict === 'stale') return { ok: false, status: 407, challenge: digest.challenge(realmOf(trunk), true) };
    if (verdict === 'invalid') {
      guard?.authFailure(r.sourceAddress, key);
      return forbidden;
    }
    guard?.authSuccess(key);
    return { ok: true, caller: { kind: 'carrier', tenantId: number.tenantId, trunk, via: 'digest' } };
  }
}
