/**
 * Blind transfer (REFER) handled by the SBC itself: the referrer's leg is replaced by a new leg to the
 * Refer-To target, routed like a new call of the same tenant. rtpengine keeps the staying party's monologue
 * (same ports) and bridges it to a new tag for the target, so the staying party needs no re-INVITE unless
 * rtpengine's SDP toward it changed. The referrer gets 202, NOTIFY 100 Trying, NOTIFY with the outcome,
 * then BYE on success. Attended transfer (Replaces) is not supported (answered 501 by srf's defaults).
 */
import Srf from 'drachtio-srf';
import type { CallSession } from './call-session.js';
import { dial } from './dialer.js';
import type { DialTarget } from '../routing/target.js';

type Side = 'a' | 'b';
let transferSeq = 0;

async function notify(leg: Srf.Dialog, frag: string, final: boolean, call: CallSession): Promise<void> {
  try {
    await leg.request({
      method: 'NOTIFY',
      headers: { Event: 'refer', 'Subscription-State': final ? 'terminated;reason=noresource' : 'active;expires=60', 'Content-Type': 'message/sipfrag;version=2.0' },
      body: `SIP/2.0 ${frag}\r\n`,
    } as unknown as Srf.SrfRequest);
  } catch (err) {
    call.log.warn({ err }, 'NOTIFY to the referrer failed');
  }
}

const portOf = (sdp: string | undefined) => /m=audio (\d+)/.exec(sdp ?? '')?.[1];

export async function blindTransfer(call: CallSession, side: Side, req: Srf.SrfRequest, res: Srf.SrfResponse, replace: (side: Side, d: Srf.Dialog) => void): Promise<void> {
  const referrer = side === 'a' ? call.uas! : call.uac!;
  const staying = side === 'a' ? call.uac! : call.uas!;
  const stayingSide: Side = side === 'a' ? 'b' : 'a';
  const referTo = req.has('Refer-To') ? req.getParsedHeader('Refer-To') as unknown as { uri: string } : undefined;
  if (!referTo?.uri) return void res.send(400, 'Missing Refer-To', {});
  if (/[?&]Replaces=/i.test(referTo.uri)) return void res.send(501, 'Attended Transfer Not Supported', {});
  if (!call.deps.resolveTransfer) return void res.send(501);
  res.send(202);
  await notify(referrer, '100 Trying', false, call);
  let targets: DialTarget[];
  try {
    targets = await call.deps.resolveTransfer(call, referTo.uri);
  } catch (err) {
    call.log.warn({ err }, 'transfer routing failed');
    targets = [];
  }
  if (targets.length === 0) return notify(referrer, '404 Not Found', true, call);
  const newTag = `t${++transferSeq}`;
  const stayingTag = call.media.tags[stayingSide];
  const offer = await call.media.offerBetween(staying.remote.sdp, stayingTag, newTag, 'sip');
  const target = targets[0]!;
  const d = call.deps;
  const attempt = dial({
    srf: d.srf, target, sdp: offer,
    from: `<sip:${stayingSide === 'a' ? call.info.callerUser : (call.target?.toUser ?? 'anonymous')}@${d.localHost()}>`,
    to: `<sip:${target.toUser}@${target.toHost}>`,
    gatewayTimeoutMs: d.limits.gatewayTimeoutSeconds * 1000,
    ringTimeoutMs: d.limits.ringTimeoutSeconds * 1000,
    onProvisional: () => undefined, // the referrer hears only 100 Trying and the outcome
    log: call.log,
  });
  const out = await attempt.outcome;
  if (out.kind === 'failed') {
    call.log.info({ status: out.status }, 'transfer target did not answer; the call continues');
    return notify(referrer, `${out.status} ${out.reason}`, true, call);
  }
  const toStaying = await call.media.answerBetween(out.dialog.remote.sdp, stayingTag, newTag, 'sip');
  call.media.tags[side] = newTag;
  if (side === 'b') call.uac = out.dialog;
  else call.uas = out.dialog;
  replace(side, out.dialog);
  call.target = target;
  call.log.info({ target: target.label }, 'blind transfer completed');
  call.log.debug({ before: portOf(staying.local.sdp), after: portOf(toStaying) }, 'transfer() | media port toward the staying party');
  if (portOf(toStaying) !== portOf(staying.local.sdp)) {
    try {
      await staying.modify(toStaying);
    } catch (err) {
      call.log.warn({ err }, 're-INVITE of the staying party after transfer failed');
    }
  }
  await notify(referrer, '200 OK', true, call);
  await call.destroyLeg(referrer);
}
