/**
 * Ringing a WebRTC identity (a browser) from a SIP call. Implemented by the WebRTC⇄SIP gateway through
 * signalling; until then the SBC uses `unavailableRinger` and calls routed to identities get 480.
 *
 * Contract: the SBC has already run rtpengine `offer` with the `webrtc` profile, so `sdp` is ready for a
 * browser (ICE/DTLS, BUNDLE re-added). `ring` resolves when a browser answers (with its SDP answer, which
 * the SBC feeds to rtpengine `answer`) and rejects with an AppError (IDENTITY_UNAVAILABLE → 480, or one
 * whose `details.sipStatus` is set, e.g. 486/603) otherwise. Aborting `signal` (caller hung up / timeout)
 * must stop the ringing.
 */
import { AppError } from '../../core/errors.js';

export interface BrowserLeg {
  readonly answerSdp: string;
  /** Re-offer toward the browser (hold/resume from the SIP side); resolves with its answer. */
  modify(sdp: string): Promise<string>;
  /** Hang up the browser side (the SIP side ended). */
  hangup(reason: string): Promise<void>;
  /** Called once when the browser side ends the call. */
  onHangup(cb: (reason: string) => void): void;
}

export interface RingRequest {
  tenantId: string;
  identity: string;
  /** Our call id (also the CDR id and the rtpengine call-id). */
  callId: string;
  caller: { uri: string; displayName?: string };
  sdp: string;
  signal: AbortSignal;
  /** Tell the SBC the browser is alerting (→ 180 to the SIP caller). */
  onRinging(): void;
}

export interface IdentityRinger {
  ring(req: RingRequest): Promise<BrowserLeg>;
}

export const unavailableRinger: IdentityRinger = {
  ring: (req) => Promise.reject(new AppError('IDENTITY_UNAVAILABLE', `identity ${req.identity} has no connected client`)),
};
