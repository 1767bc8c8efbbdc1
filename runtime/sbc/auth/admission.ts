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

export class Admitter {
  constructor(private readonly o: { repo: SipRepository; digest: DigestAuthenticator; carrierRealm: string }) {}

  async admit(r: AdmissionRequest): Promise<Admission> {
    const { repo, digest } = this.o;
    const called = userOf(r.requestUri);

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

    // 2. A device of the tenant that owns the From domain.
    const tenantId = await repo.tenantByDomain(hostOf(r.fromUri));
    if (tenantId) {
      const user = await repo.getUser(tenantId, userOf(r.fromUri));
      if (!user || !user.enabled) return { ok: false, status: 403, reason: 'Forbidden' };
      if (!creds || creds.username !== user.username) return { ok: false, status: 407, challenge: digest.challenge(user.domain) };
      const verdict = digest.verify(creds, r.method, user.ha1);
      if (verdict === 'stale') return { ok: false, status: 407, challenge: digest.challenge(user.domain, true) };
      if (verdict === 'invalid') return { ok: false, status: 403, reason: 'Bad Credentials' };
      return { ok: true, caller: { kind: 'device', tenantId, user } };
    }

    // 3. A carrier authenticating with the trunk's inbound digest credentials (tenant from the called number).
    const number = await repo.tenantByNumber(toE164(called) ?? called);
    if (number) {
      const digestTrunks = (await repo.listTrunks(number.tenantId)).filter((t) => t.enabled && t.inboundDigest);
      if (digestTrunks.length > 0) {
        const trunk = creds ? digestTrunks.find((t) => t.inboundDigest!.username === creds.username) : undefined;
        if (!creds || !trunk) return { ok: false, status: 407, challenge: digest.challenge(this.o.carrierRealm) };
        const verdict = digest.verify(creds, r.method, trunk.inboundDigest!.ha1);
        if (verdict === 'stale') return { ok: false, status: 407, challenge: digest.challenge(this.o.carrierRealm, true) };
        if (verdict === 'invalid') return { ok: false, status: 403, reason: 'Bad Credentials' };
        return { ok: true, caller: { kind: 'carrier', tenantId: number.tenantId, trunk, via: 'digest' } };
      }
    }
    return { ok: false, status: 403, reason: 'Forbidden' };
  }
}
