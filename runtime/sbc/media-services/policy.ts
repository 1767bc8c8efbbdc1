/**
 * Per-call media decisions of SIP ⇄ SIP calls (docs/recordings.md § Transcoding, § Policy):
 * - recording: the tenant list, a trunk with `record: true` (inbound from it, or outbound to any target trunk);
 * - transcoding: when the first target's trunk declares `codecs` and the caller's offer shares none of them, the
 *   offer toward the carrier gets `codec: { mask: [caller's codecs], transcode: [trunk codecs] }` — rtpengine keeps
 *   the caller's codec on its leg and offers only the trunk's codecs to the carrier (G.722 included when listed).
 */
import type { RtpEngineOptions } from 'rtpengine-client';
import type { Trunk } from '../../core/storage/sip-types.js';
import type { MediaSession } from '../media/rtpengine.js';
import type { RecordingPolicy } from '../recording/recording.js';
import type { DialTarget } from '../routing/target.js';

const STATIC_PT: Record<string, string> = { '0': 'PCMU', '3': 'GSM', '4': 'G723', '8': 'PCMA', '9': 'G722', '18': 'G729' };
const NOT_AUDIO_CODECS = new Set(['telephone-event', 'cn', 'comfort-noise']);

/** Audio codec names of the first `m=audio` of an SDP (rtpmap names, static payload types by number). */
export function sdpAudioCodecs(sdp: string): string[] {
  const lines = sdp.split(/\r?\n/);
  const mIdx = lines.findIndex((l) => l.startsWith('m=audio'));
  if (mIdx < 0) return [];
  const pts = lines[mIdx]!.split(' ').slice(3);
  const end = lines.findIndex((l, i) => i > mIdx && l.startsWith('m='));
  const section = lines.slice(mIdx + 1, end < 0 ? undefined : end);
  const names: string[] = [];
  for (const pt of pts) {
    const map = section.find((l) => l.startsWith(`a=rtpmap:${pt} `));
    const name = map ? map.slice(`a=rtpmap:${pt} `.length).split('/')[0]! : STATIC_PT[pt];
    if (name && !NOT_AUDIO_CODECS.has(name.toLowerCase()) && !names.some((n) => n.toLowerCase() === name.toLowerCase())) names.push(name);
  }
  return names;
}

/** ng options that make rtpengine transcode toward `trunkCodecs`, or undefined when the offer shares one. */
export function transcodeOptions(offerSdp: string, trunkCodecs: string[] | undefined): RtpEngineOptions | undefined {
  if (!trunkCodecs?.length) return undefined;
  const offered = sdpAudioCodecs(offerSdp);
  if (offered.length === 0) return undefined;
  const wanted = new Set(trunkCodecs.map((c) => c.toLowerCase()));
  if (offered.some((c) => wanted.has(c.toLowerCase()))) return undefined;
  return { codec: { mask: offered, transcode: trunkCodecs } };
}

export interface CallPolicyInput {
  media: MediaSession;
  recording: RecordingPolicy;
  tenantId: string;
  callId: string;
  parties: string[];
  /** The trunk the call came in from (carrier callers). */
  inboundTrunk?: Pick<Trunk, 'record' | 'codecs'>;
  /** Where the call goes (outbound targets), when routed to targets. */
  targets?: DialTarget[];
  /** The caller's SDP offer. */
  offerSdp: string;
}

/** Arms recording and transcoding of one SIP call before its first offer; returns what was decided (logs). */
export function applyCallMediaPolicy(i: CallPolicyInput): { recorded: boolean; transcode?: string[] } {
  const trunkRecords = !!i.inboundTrunk?.record || !!i.targets?.some((t) => t.trunkRecord);
  i.recording.apply(i.media, i.tenantId, i.callId, i.parties, { trunkRecords });
  const first = i.targets?.[0];
  const extra = first?.kind === 'gateway' ? transcodeOptions(i.offerSdp, first.trunkCodecs) : undefined;
  if (extra) i.media.offerExtra = { ...i.media.offerExtra, ...extra };
  return { recorded: !!i.media.record, ...(extra ? { transcode: first!.trunkCodecs! } : {}) };
}
