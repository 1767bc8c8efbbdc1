/**
 * Where the SBC's INVITE handler hands calls to the voice engine (runtime/sbc/app.ts, `// --- voice ---`):
 * - a number whose destination is an application;
 * - a call to a SIP user / WebRTC identity whose mailbox has voicemail enabled (the engine rings the user itself,
 *   then answers with voicemail on busy / no answer / unavailable).
 * Returns the running call (`done` resolves when it ends) or undefined when the call is not for the voice engine.
 */
import type Srf from 'drachtio-srf';
import type { SipRepository } from '../../core/storage/sip-types.js';
import type { Caller } from '../auth/admission.js';
import type { RouteDecision } from '../routing/router.js';
import { isNumberLike, toE164, userOf } from '../routing/numbers.js';
import type { DialTargetSpec } from '../../core/protocol/voice.js';
import type { VoicemailDeposit } from './contracts.js';
import type { SbcVoiceEngine } from './engine.js';

export interface VoiceRouteInput {
  repo: SipRepository;
  caller: Caller;
  decision: RouteDecision;
  req: Srf.SrfRequest;
  res: Srf.SrfResponse;
}

export async function voiceRoute(engine: SbcVoiceEngine, r: VoiceRouteInput): Promise<{ done: Promise<void> } | undefined> {
  const { decision, caller } = r;
  if (decision.kind === 'application') {
    return { done: engine.handleInbound(r.req, r.res, { tenantId: caller.tenantId, destination: decision.destination }).catch(() => undefined) };
  }
  let mailbox: VoicemailDeposit['mailbox'] | undefined;
  let ring: DialTargetSpec | undefined;
  if (decision.kind === 'targets' && decision.direction === 'inbound' && decision.targets[0]?.kind === 'device' && decision.targets[0].username) {
    mailbox = { kind: 'sip-user', id: decision.targets[0].username };
    ring = { type: 'user', name: decision.targets[0].username };
  } else if (decision.kind === 'identity') {
    mailbox = decision.username ? { kind: 'sip-user', id: decision.username } : { kind: 'identity', id: decision.identity };
    ring = { type: 'identity', identity: decision.identity };
  } else if (decision.kind === 'reject' && decision.status === 480) {
    const user = await unavailableUser(r.repo, caller, r.req.uri);
    if (user) mailbox = { kind: 'sip-user', id: user };
  }
  if (!mailbox) return undefined;
  const vm = await engine.voicemailEnabled(caller.tenantId, mailbox);
  if (!vm) return undefined;
  return { done: engine.handleVoicemail(r.req, r.res, { tenantId: caller.tenantId, mailbox, ...(ring ? { ring } : {}), ...(vm.ringTimeoutSeconds ? { ringTimeoutSeconds: vm.ringTimeoutSeconds } : {}) }).catch(() => undefined) };
}

/** The SIP user a 480 was about (not registered): called by name, or through one of the tenant's numbers. */
async function unavailableUser(repo: SipRepository, caller: Caller, requestUri: string): Promise<string | undefined> {
  const called = userOf(requestUri);
  if (caller.kind === 'device') {
    const u = await repo.getUser(caller.tenantId, called);
    if (u) return u.username;
  }
  if (!isNumberLike(called)) return undefined;
  const e164 = toE164(called, caller.kind === 'carrier' ? caller.trunk.countryCode : undefined);
  if (!e164) return undefined;
  const n = await repo.tenantByNumber(e164);
  return n && n.tenantId === caller.tenantId && n.destination.type === 'sip-user' ? n.destination.username : undefined;
}
