import { MEDIA_PROFILES } from '../media/rtpengine.js';

/** SIP INFO DTMF bodies (application/dtmf-relay and application/dtmf). */
export function parseDtmfInfo(contentType: string | undefined, body: string | undefined): { digit: string; durationMs: number } | undefined {
  if (!contentType || !body) return undefined;
  const ct = contentType.toLowerCase();
  if (ct.startsWith('application/dtmf-relay')) {
    const signal = /Signal\s*=\s*([0-9A-Da-d*#])/i.exec(body)?.[1];
    const duration = Number(/Duration\s*=\s*(\d+)/i.exec(body)?.[1] ?? 160);
    return signal ? { digit: signal.toUpperCase(), durationMs: clamp(duration) } : undefined;
  }
  if (ct.startsWith('application/dtmf')) {
    const d = body.trim();
    return /^[0-9A-Da-d*#]$/.test(d) ? { digit: d.toUpperCase(), durationMs: 160 } : undefined;
  }
  return undefined;
}

const clamp = (ms: number) => Math.min(Math.max(Number.isFinite(ms) ? ms : 160, 40), 2000);

/** Whether an SDP negotiated telephone-event (RFC 2833/4733). */
export const hasTelephoneEvent = (sdp: string | undefined): boolean => !!sdp && /a=rtpmap:\d+ telephone-event\//i.test(sdp);

/**
 * Extra ng options for an offer when RFC 2833 → SIP INFO is wanted (offerer has telephone-event, answerer not):
 * rtpengine drops telephone-event toward the offerer when the answerer lacks it, and then neither detects nor logs
 * its events (verified with 10.5.3.5). `always transcode` on the offer keeps telephone-event on the offerer's side,
 * so rtpengine decodes and logs each event (and does not pass PT 101 on to the answerer). Its cost: rtpengine
 * decodes/re-encodes that call's audio and repacketizes it to 20 ms — hence only for such asymmetric calls
 * (CallSession re-offers once it sees the callee's answer; re-INVITEs check the other leg).
 */
export function dtmfOfferOptions(sdp: string | undefined, enabled: boolean): { flags?: string[] } {
  return enabled && hasTelephoneEvent(sdp) ? { flags: [...MEDIA_PROFILES.sip.flags, 'always transcode'] } : {};
}
