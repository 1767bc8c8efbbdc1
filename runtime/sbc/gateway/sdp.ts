/**
 * SDP helpers of the WebRTC ⇄ SIP gateway (FACTS §4.3/§4.4): re-adding the BUNDLE group rtpengine drops,
 * removing WebRTC-only lines from SDP sent to SIP peers, and the per-call codec decision.
 */
import sdpTransform from 'sdp-transform';
import type { RtpEngineOptions } from 'rtpengine-client';

/** rtpengine 10.5 drops `a=group:BUNDLE` toward the browser; Chrome (max-bundle) rejects the SDP without it. */
export function addBundle(input: string): string {
  // The SIP party's a=ssrc lines pass through rtpengine but need not match the SSRC it really sends (baresip as
  // callee): Chrome then binds the signalled SSRC to the track and plays silence from an "unsignalled" stream.
  const sdp = input.replace(/^a=ssrc(-group)?:.*\r?\n/gm, '');
  if (/^a=group:BUNDLE/m.test(sdp)) return sdp;
  const mids = [...sdp.matchAll(/^a=mid:(\S+)/gm)].map((m) => m[1]);
  if (mids.length === 0) return sdp;
  return sdp.replace(/(^t=.*\r?\n)/m, `$1a=group:BUNDLE ${mids.join(' ')}\r\n`);
}

/** WebRTC-only attributes rtpengine passes through to the SIP side (msid, ssrc, mid, msid-semantic, rtcp-fb). */
export function cleanForSip(sdp: string): string {
  const s = sdpTransform.parse(sdp);
  delete (s as { msidSemantic?: unknown }).msidSemantic;
  delete (s as { groups?: unknown }).groups;
  for (const m of s.media) {
    delete m.msid;
    delete m.ssrcs;
    delete m.ssrcGroups;
    delete m.mid;
    delete m.rtcpFb;
    delete (m as { rtcpRsize?: unknown }).rtcpRsize;
    delete (m as { ext?: unknown }).ext;
  }
  return sdpTransform.write(s).replace(/\r?\n/g, '\r\n');
}

/** Codec names (upper case) of the first audio m-line. */
export function audioCodecs(sdp: string): string[] {
  const s = sdpTransform.parse(sdp);
  const audio = s.media.find((m) => m.type === 'audio');
  return (audio?.rtp ?? []).map((r) => r.codec.toUpperCase());
}

export type TranscodePolicy = 'prefer-opus' | 'passthrough';

const G711 = ['PCMU', 'PCMA'];
/** Codecs Chrome offers that SIP phones rarely want and that we never pass to SIP. */
const BROWSER_ONLY = ['red', 'G722', 'CN', 'ISAC', 'ILBC'];

/**
 * rtpengine `codec` options for the browser's offer toward SIP. With 'prefer-opus' the browser leg stays on opus
 * (robust over the internet: FEC, PLC): G.711 is masked on the browser side and offered to SIP as a transcoded codec,
 * so rtpengine transcodes only when the far end answers without opus.
 */
export function browserOfferCodecs(browserSdp: string, policy: TranscodePolicy): RtpEngineOptions {
  const codecs = audioCodecs(browserSdp);
  if (policy === 'passthrough' || !codecs.includes('OPUS')) return { codec: { strip: BROWSER_ONLY } };
  return { codec: { strip: BROWSER_ONLY, transcode: G711 } };
}

/**
 * The browser's offer as rtpengine gets it: with 'prefer-opus' and opus offered, G.711 is removed, so rtpengine
 * knows only opus for the browser leg and must transcode when the SIP party answers with G.711 only. (rtpengine
 * 10.5 ignored `codec.mask` and `codec.strip` + `transcode` for this: it answered the browser with PCMU because
 * Chrome had offered it — measured.)
 */
export function browserOfferForRtpengine(browserSdp: string, policy: TranscodePolicy): string {
  const codecs = audioCodecs(browserSdp);
  if (policy === 'passthrough' || !codecs.includes('OPUS')) return browserSdp;
  return removeCodecs(browserSdp, G711);
}

/** Removes codecs (by name, any clock rate) from every audio m-line, with their rtpmap/fmtp/rtcp-fb lines. */
export function removeCodecs(sdp: string, names: string[]): string {
  const s = sdpTransform.parse(sdp);
  const drop = new Set(names.map((n) => n.toUpperCase()));
  for (const m of s.media) {
    if (m.type !== 'audio') continue;
    const gone = new Set(m.rtp.filter((r) => drop.has(r.codec.toUpperCase())).map((r) => r.payload));
    if (gone.size === 0) continue;
    m.rtp = m.rtp.filter((r) => !gone.has(r.payload));
    m.fmtp = m.fmtp.filter((f) => !gone.has(f.payload));
    if (m.rtcpFb) m.rtcpFb = m.rtcpFb.filter((f) => !gone.has(Number(f.payload)));
    m.payloads = String(m.payloads ?? '').split(' ').filter((p) => p && !gone.has(Number(p))).join(' ');
  }
  return sdpTransform.write(s).replace(/\r?\n/g, '\r\n');
}

/** rtpengine `codec` options for a SIP offer toward a browser: opus added (and G.711 masked) when the offer lacks it. */
export function sipOfferCodecs(sipSdp: string, policy: TranscodePolicy): RtpEngineOptions {
  const codecs = audioCodecs(sipSdp);
  if (policy === 'passthrough' || codecs.includes('OPUS')) return {};
  if (!codecs.some((c) => G711.includes(c))) return {};
  return { codec: { transcode: ['opus'], mask: G711.filter((c) => codecs.includes(c)) } };
}

/** The answer a browser would give to a re-offer from the SIP side, built from its last answer (hold/resume). */
export function reanswer(lastAnswer: string, offer: string): string {
  const o = sdpTransform.parse(offer);
  const dir = o.media[0]?.direction ?? o.direction ?? 'sendrecv';
  const mirrored = dir === 'sendonly' ? 'recvonly' : dir === 'recvonly' ? 'sendonly' : dir;
  return setDirection(lastAnswer, mirrored, false);
}

/** Offer for hold/resume on the SIP leg: our last SDP toward it with the direction replaced and the version bumped. */
export function withDirection(sdp: string, dir: 'sendonly' | 'sendrecv'): string {
  return setDirection(sdp, dir, true);
}

function setDirection(sdp: string, dir: 'sendonly' | 'recvonly' | 'sendrecv' | 'inactive', bump: boolean): string {
  const s = sdpTransform.parse(sdp);
  delete s.direction;
  for (const m of s.media) if (m.type === 'audio') m.direction = dir;
  if (bump && s.origin) s.origin.sessionVersion = Number(s.origin.sessionVersion) + 1;
  return sdpTransform.write(s).replace(/\r?\n/g, '\r\n');
}

/**
 * Whether rtpengine can inject RFC 2833 toward this SIP party: it negotiated telephone-event at the clock rate of
 * its first (selected) audio codec. With opus (48 kHz) and telephone-event/8000 only (baresip), rtpengine's
 * playDTMF succeeds but nothing reaches the phone (measured), so the gateway falls back to SIP INFO.
 */
export function rfc2833Usable(sipSdp: string | undefined): boolean {
  if (!sipSdp) return false;
  const audio = sdpTransform.parse(sipSdp).media.find((m) => m.type === 'audio');
  const rtp = audio?.rtp ?? [];
  const first = rtp.find((r) => !['telephone-event', 'cn'].includes(r.codec.toLowerCase()));
  if (!first) return false;
  return rtp.some((r) => r.codec.toLowerCase() === 'telephone-event' && (r.rate ?? 8000) === (first.rate ?? 8000));
}
