/**
 * Call quality from rtpengine `query` replies. rtpengine computes MOS per SSRC only from RTCP reports
 * (`SSRC.<ssrc>["average MOS"]`, MOS × 10, jitter in ms, loss in %, RTT in µs); without RTCP the SSRC
 * section is empty and only packet counters exist, so `mos` stays undefined rather than invented.
 */
import type { RtpEngineResponse } from 'rtpengine-client';

export interface MediaQuality {
  mos?: number;
  packetLossPct?: number;
  jitterMs?: number;
  rttMs?: number;
  /** RTP packets rtpengine received per leg tag. */
  packets: Record<string, number>;
  /** RTP packets rtpengine received in total (both legs). */
  totalPackets: number;
}

interface MosBlock { MOS?: number; jitter?: number; 'packet loss'?: number; 'round-trip time'?: number }
interface Stream { stats?: { packets?: number }; flags?: string[] }

export function qualityFromNg(res: RtpEngineResponse): MediaQuality {
  const packets: Record<string, number> = {};
  const tags = (res.tags ?? {}) as Record<string, { medias?: Array<{ streams?: Stream[] }> }>;
  for (const [tag, t] of Object.entries(tags)) {
    let n = 0;
    for (const m of t.medias ?? []) for (const s of m.streams ?? []) if (s.flags?.includes('RTP')) n += s.stats?.packets ?? 0;
    packets[tag] = n;
  }
  const totals = res.totals as { RTP?: { packets?: number } } | undefined;
  const q: MediaQuality = { packets, totalPackets: totals?.RTP?.packets ?? Object.values(packets).reduce((a, b) => a + b, 0) };
  const blocks = Object.values((res.SSRC ?? {}) as Record<string, { 'average MOS'?: MosBlock }>)
    .map((s) => s['average MOS'])
    .filter((b): b is MosBlock => !!b && typeof b.MOS === 'number' && b.MOS > 0);
  if (blocks.length) {
    const avg = (f: (b: MosBlock) => number | undefined) => {
      const xs = blocks.map(f).filter((x): x is number => typeof x === 'number');
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
    };
    // The worst direction defines the call.
    q.mos = Math.min(...blocks.map((b) => b.MOS!)) / 10;
    const loss = avg((b) => b['packet loss']);
    const jitter = avg((b) => b.jitter);
    const rtt = avg((b) => b['round-trip time']);
    if (loss !== undefined) q.packetLossPct = round(loss);
    if (jitter !== undefined) q.jitterMs = round(jitter);
    if (rtt !== undefined) q.rttMs = round(rtt / 1000);
  }
  return q;
}

const round = (x: number) => Math.round(x * 100) / 100;

/** Exponential moving average used for a gateway's MOS (α = 0.2). */
export function mosEma(previous: number | undefined, sample: number, alpha = 0.2): number {
  return previous === undefined ? sample : round(previous * (1 - alpha) + sample * alpha);
}
