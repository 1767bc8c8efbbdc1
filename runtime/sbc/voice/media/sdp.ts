/** Minimal audio-only SDP for the RTP endpoint: PCMU/PCMA + telephone-event/8000. */

export interface RemoteMedia {
  address: string;
  port: number;
  /** Payload types in the m= line, in order. */
  pts: number[];
  telephoneEventPt?: number;
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
}

export function parseAudioSdp(sdp: string): RemoteMedia {
  const lines = sdp.split(/\r?\n/);
  let sessionAddr: string | undefined;
  let mediaAddr: string | undefined;
  let port = 0;
  let pts: number[] = [];
  let inAudio = false;
  let seenAudio = false;
  let te: number | undefined;
  let direction: RemoteMedia['direction'] = 'sendrecv';
  for (const line of lines) {
    if (line.startsWith('m=')) {
      inAudio = !seenAudio && line.startsWith('m=audio ');
      if (inAudio) {
        seenAudio = true;
        const parts = line.slice(2).split(' ');
        port = Number(parts[1]);
        pts = parts.slice(3).map(Number).filter((n) => Number.isInteger(n));
      }
      continue;
    }
    if (line.startsWith('c=')) {
      const addr = line.split(' ')[2]?.trim();
      if (!seenAudio) sessionAddr = addr;
      else if (inAudio) mediaAddr = addr;
      continue;
    }
    if (!inAudio && seenAudio) continue;
    const rtpmap = /^a=rtpmap:(\d+) telephone-event\/8000/i.exec(line);
    if (rtpmap) te = Number(rtpmap[1]);
    const dir = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/.exec(line);
    if (dir && (inAudio || !seenAudio)) direction = dir[1] as RemoteMedia['direction'];
  }
  if (!seenAudio) throw new Error('SDP has no audio stream');
  return { address: mediaAddr ?? sessionAddr ?? '0.0.0.0', port, pts, ...(te !== undefined ? { telephoneEventPt: te } : {}), direction };
}

export function buildAudioSdp(o: { address: string; port: number; sessionId: number; version: number; codecPt: 0 | 8 | null; telephoneEventPt?: number; direction?: string }): string {
  const pts = o.codecPt === null ? [0, 8] : [o.codecPt];
  const all = [...pts, ...(o.telephoneEventPt !== undefined ? [o.telephoneEventPt] : [])];
  const lines = [
    'v=0',
    `o=cpaas-voice ${o.sessionId} ${o.version} IN IP4 ${o.address}`,
    's=cpaas-voice',
    `c=IN IP4 ${o.address}`,
    't=0 0',
    `m=audio ${o.port} RTP/AVP ${all.join(' ')}`,
  ];
  for (const pt of pts) lines.push(pt === 0 ? 'a=rtpmap:0 PCMU/8000' : 'a=rtpmap:8 PCMA/8000');
  if (o.telephoneEventPt !== undefined) lines.push(`a=rtpmap:${o.telephoneEventPt} telephone-event/8000`, `a=fmtp:${o.telephoneEventPt} 0-16`);
  lines.push('a=ptime:20', `a=${o.direction ?? 'sendrecv'}`);
  return lines.join('\r\n') + '\r\n';
}
