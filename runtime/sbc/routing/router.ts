/**
 * Where an admitted call goes.
 * - From a carrier: the called number (normalized to E.164 with the trunk's country code) must be one of the
 *   tenant's numbers; its destination decides: a SIP user's registered devices, a WebRTC identity, or a trunk.
 * - From a device: a SIP user of the same tenant by name (its registered devices; 404 unknown user, 480 not
 *   registered), one of the tenant's own numbers (as if it came in), or else the PSTN through least-cost routing.
 * - Either caller, a called user part that is not a number (nor, from a device, a SIP user): a SIP address of one
 *   of the tenant's voice applications (`sipAddresses`) runs that application; else 404.
 */
import type { Destination, SipRepository } from '../../core/storage/sip-types.js';
import type { Caller } from '../auth/admission.js';
import { planOutbound } from './lcr.js';
import { isNumberLike, toE164, userOf } from './numbers.js';
import type { DialTarget } from './target.js';

export type RouteDecision =
  | { kind: 'targets'; direction: 'inbound' | 'outbound'; targets: DialTarget[]; calledE164?: string }
  | { kind: 'identity'; identity: string; username?: string }
  | { kind: 'reject'; status: number; reason: string }
  // --- voice (docs/voice.md): the voice engine runs the application; without one the SBC answers 480 ---
  | { kind: 'application'; destination: { url?: string; applicationId?: string } };
  // --- end voice ---

export interface RouteRequest {
  requestUri: string;
  fromUri: string;
  /** Headers copied to the B leg (already filtered by PASS_HEADERS). */
  headers: Record<string, string>;
}

export class CallRouter {
  constructor(private readonly repo: SipRepository) {}

  async route(caller: Caller, r: RouteRequest): Promise<RouteDecision> {
    const called = userOf(r.requestUri);
    const callerUser = userOf(r.fromUri);
    if (caller.kind === 'carrier') {
      if (!isNumberLike(called)) return this.sipAddress(caller.tenantId, called); // voice-sip-address
      const e164 = toE164(called, caller.trunk.countryCode);
      if (!e164) return { kind: 'reject', status: 404, reason: 'Not Found' };
      const number = await this.repo.tenantByNumber(e164);
      if (!number || number.tenantId !== caller.tenantId) return { kind: 'reject', status: 404, reason: 'Not Found' };
      const fromE164 = toE164(callerUser, caller.trunk.countryCode) ?? callerUser;
      return this.toDestination(caller.tenantId, number.destination, { ...r, fromUser: fromE164, e164 });
    }
    // Device.
    const user = await this.repo.getUser(caller.tenantId, called);
    if (user) return this.toDestination(caller.tenantId, { type: 'sip-user', username: user.username }, { ...r, fromUser: caller.user.username });
    if (!isNumberLike(called)) return this.sipAddress(caller.tenantId, called); // voice-sip-address
    const e164 = toE164(called);
    if (!e164) return { kind: 'reject', status: 404, reason: 'Not Found' };
    const own = await this.repo.tenantByNumber(e164);
    if (own && own.tenantId === caller.tenantId) {
      return this.toDestination(caller.tenantId, own.destination, { ...r, fromUser: caller.user.username, e164 });
    }
    const targets = await planOutbound(this.repo, { tenantId: caller.tenantId, e164, fromUser: caller.user.username, headers: r.headers });
    if (targets.length === 0) return { kind: 'reject', status: 503, reason: 'No Route Available' };
    return { kind: 'targets', direction: 'outbound', targets, calledE164: e164 };
  }

  // --- voice-sip-address: `sip:support@<tenant domain>` → the voice application with that SIP address, else 404 ---
  private async sipAddress(tenantId: string, called: string): Promise<RouteDecision> {
    const applicationId = called && this.repo.applicationBySipAddress ? await this.repo.applicationBySipAddress(tenantId, called) : undefined;
    if (!applicationId) return { kind: 'reject', status: 404, reason: 'Not Found' };
    return { kind: 'application', destination: { applicationId } };
  }
  // --- end voice-sip-address ---

  private async toDestination(tenantId: string, d: Destination, r: RouteRequest & { fromUser: string; e164?: string }): Promise<RouteDecision> {
    switch (d.type) {
      case 'sip-user': {
        const user = await this.repo.getUser(tenantId, d.username);
        if (!user || !user.enabled) return { kind: 'reject', status: 404, reason: 'Not Found' };
        const regs = (await this.repo.registrations(tenantId, user.username)).sort((a, b) => b.expiresAt - a.expiresAt);
        if (regs.length === 0) {
          if (user.identity) return { kind: 'identity', identity: user.identity, username: user.username };
          return { kind: 'reject', status: 480, reason: 'Temporarily Unavailable' };
        }
        const targets: DialTarget[] = regs.map((reg) => ({
          kind: 'device',
          uri: reg.contact.replace(/^<|>$/g, ''),
          proxy: `sip:${reg.source.address}:${reg.source.port};transport=${reg.source.transport === 'tcp' ? 'tcp' : 'udp'}`,
          fromUser: r.fromUser,
          toUser: user.username,
          toHost: user.domain,
          headers: r.headers,
          username: user.username,
          label: `${user.username}/${reg.contactId}`,
        }));
        return { kind: 'targets', direction: 'inbound', targets, ...(r.e164 ? { calledE164: r.e164 } : {}) };
      }
      case 'identity':
        return { kind: 'identity', identity: d.identity };
      case 'trunk': {
        const e164 = d.number ?? r.e164;
        if (!e164) return { kind: 'reject', status: 404, reason: 'Not Found' };
        const targets = await planOutbound(this.repo, { tenantId, e164, fromUser: r.fromUser, headers: r.headers, onlyTrunkId: d.trunkId });
        if (targets.length === 0) return { kind: 'reject', status: 503, reason: 'No Route Available' };
        return { kind: 'targets', direction: 'outbound', targets, calledE164: e164 };
      }
      case 'application': // voice (docs/voice.md): handed to the voice engine by app.ts
        return { kind: 'application', destination: { ...(d.url ? { url: d.url } : {}), ...(d.applicationId ? { applicationId: d.applicationId } : {}) } };
    }
  }
}
