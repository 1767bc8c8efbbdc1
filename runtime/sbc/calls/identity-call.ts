/**
 * A SIP call routed to a WebRTC identity: rtpengine offer with the `webrtc` profile, ring through the
 * IdentityRinger, then bridge the SIP A leg with the browser leg. With `unavailableRinger` this answers 480.
 */
import Srf from 'drachtio-srf';
import { AppError, toAppError } from '../../core/errors.js';
import type { CallSession } from './call-session.js';
import type { IdentityRinger } from './identity-ringer.js';
import { sipStatusOf } from './bridge.js';

export async function connectIdentity(call: CallSession, ringer: IdentityRinger, identity: string): Promise<void> {
  let offer: string;
  try {
    offer = await call.media.offer(call.req.body, 'a', 'webrtc');
  } catch (err) {
    call.log.error({ err }, 'rtpengine offer failed');
    return call.fail(503, 'Service Unavailable', 'error');
  }
  let leg;
  try {
    leg = await ringer.ring({
      tenantId: call.info.tenantId, identity, callId: call.info.id,
      caller: { uri: call.info.fromUri }, sdp: offer, signal: call.cancelSignal,
      onRinging: () => {
        if (!call.res.finalResponseSent && !call.isCancelled) call.res.send(180);
      },
    });
  } catch (err) {
    const e = err instanceof AppError ? err : toAppError(err);
    const status = call.isCancelled ? 487 : sipStatusOf(e);
    return call.fail(status, status === 480 ? 'Temporarily Unavailable' : 'Call Failed', call.isCancelled ? 'cancelled' : status === 486 ? 'busy' : status === 480 ? 'no-answer' : 'rejected');
  }
  try {
    const sdp = await call.media.answer(leg.answerSdp, 'a', 'sip');
    call.uas = await call.deps.srf.createUAS(call.req, call.res, { localSdp: sdp, headers: { 'Content-Type': 'application/sdp' } });
  } catch (err) {
    call.log.warn({ err: err instanceof Srf.SipError ? AppError.fromSipError(err) : err }, 'answering the caller failed');
    await leg.hangup('error');
    return call.fail(500, 'Server Internal Error', 'error');
  }
  const uas = call.uas;
  call.markAnswered();
  leg.onHangup((reason) => {
    if (reason === 'media-timeout') {
      // The gateway's watchdog: the browser vanished without a hangup (gateway/watchdog.ts).
      call.log.info('no media from the browser; hanging up the caller');
      void (async () => {
        if (uas.connected) await uas.destroy({ headers: { Reason: 'SIP;cause=408;text="browser media timeout"' } }).catch((err: unknown) => call.log.warn({ err }, 'BYE failed'));
        await call.finish('media-timeout', 'sbc', 200);
      })();
      return;
    }
    call.log.info({ reason }, 'browser hung up');
    void call.destroyLeg(uas).then(() => call.finish('remote-hangup', 'callee', 200));
  });
  uas.on('destroy', () => {
    void leg.hangup('remote-hangup').catch((err: unknown) => call.log.warn({ err }, 'browser hangup failed'));
    void call.finish('remote-hangup', 'caller', 200);
  });
  uas.on('modify', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
    void (async () => {
      try {
        const o = await call.media.offer(req.body, 'a', 'webrtc');
        const a = await leg.modify(o);
        res.send(200, { body: await call.media.answer(a, 'a', 'sip') });
      } catch (err) {
        call.log.warn({ err }, 're-INVITE toward the browser failed');
        res.send(500);
      }
    })();
  });
  if (!uas.connected) {
    await leg.hangup('remote-hangup');
    await call.finish('remote-hangup', 'caller', 200);
  }
}
