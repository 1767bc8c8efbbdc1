/**
 * A live copy of a call's media toward a collector, with rtpengine's subscribe commands (FACTS §4.5 workaround B):
 * `subscribe request` (flags `all`) returns an SDP with one sendonly `m=audio` per party; we answer it with
 * recvonly sections pointing at `host:port` (first party, the caller), `host:port+2` (second party), … so the
 * collector tells the parties apart by port. The parties' own SDP and dialogs are untouched.
 */
import type { MediaSession } from '../media/rtpengine.js';

export interface MediaFork {
  toTag: string;
  stop(): Promise<void>;
}

/** Recvonly answer to a subscription SDP: one section per offered m= line, payload types mirrored. */
export function collectorSdp(offer: string, host: string, port: number): string {
  const v6 = host.includes(':');
  const lines = [`v=0`, `o=- ${Date.now()} 1 IN ${v6 ? 'IP6' : 'IP4'} ${host}`, 's=collector', `c=IN ${v6 ? 'IP6' : 'IP4'} ${host}`, 't=0 0'];
  let i = 0;
  for (const raw of offer.split(/\r?\n/)) {
    const m = /^m=(\w+) \d+ ([^ ]+) (.*)$/.exec(raw.trim());
    if (!m) continue;
    const pts = m[3]!.trim().split(/\s+/);
    lines.push(`m=${m[1]} ${port + 2 * i} ${m[2]} ${pts.join(' ')}`);
    for (const pt of pts) {
      const rtpmap = offer.split(/\r?\n/).find((l) => l.startsWith(`a=rtpmap:${pt} `));
      if (rtpmap) lines.push(rtpmap.trim());
    }
    lines.push('a=recvonly');
    i++;
  }
  return lines.join('\r\n') + '\r\n';
}

/** Starts forking `media` (both parties) to host:port(+2). */
export async function forkMedia(media: MediaSession, host: string, port: number): Promise<MediaFork> {
  const sr = await media.node.command('subscribeRequest', { 'call-id': media.id, flags: ['all'] });
  const toTag = String(sr['to-tag'] ?? '');
  const sdp = collectorSdp(String(sr.sdp ?? ''), host, port);
  await media.node.command('subscribeAnswer', { 'call-id': media.id, 'to-tag': toTag, sdp });
  return {
    toTag,
    stop: async () => {
      if (!media.active) return;
      await media.node.command('unsubscribe', { 'call-id': media.id, 'to-tag': toTag }).catch(() => undefined);
    },
  };
}
