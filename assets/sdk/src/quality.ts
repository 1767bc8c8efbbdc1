/**
 * Call quality from `RTCPeerConnection.getStats()`: RTT, jitter, loss and bitrate per peer, and an estimated MOS
 * from a simplified ITU-T G.107 E-model. Pure functions over plain stats objects, so they are unit-tested in Node.
 */

/** A minimal view of an RTCStats entry (all the fields we read are optional). */
export interface StatsEntry {
  id: string;
  type: string;
  timestamp?: number;
  kind?: string;
  [k: string]: unknown;
}

/** Cumulative counters kept between two samples to compute rates. */
export interface StatsSnapshot {
  at: number;
  bytesReceived: number;
  bytesSent: number;
  packetsReceived: number;
  packetsLost: number;
  audioPacketsReceived: number;
  audioPacketsLost: number;
  framesDecoded: number;
}

export interface QualitySample {
  /** Time of the sample (ms since epoch of the stats clock). */
  at: number;
  /** Round-trip time of the selected candidate pair (or RTCP), ms. */
  rttMs: number | null;
  /** Inbound audio jitter, ms. */
  jitterMs: number | null;
  /** Packet loss since the previous sample, 0–100 % (all inbound RTP). */
  lossPct: number;
  /** Inbound audio loss since the previous sample, 0–100 %. */
  audioLossPct: number;
  inboundKbps: number;
  outboundKbps: number;
  /** Video frames decoded per second since the previous sample. */
  framesPerSecond: number;
  /** E-model transmission rating R (0–100) and the MOS it maps to (1.0–4.5). */
  rFactor: number;
  mos: number;
  /** The selected candidate pair: `relay` on both ends means the media goes through TURN. */
  localCandidateType: string | null;
  remoteCandidateType: string | null;
  relayProtocol: string | null;
  /** Cumulative counters (for tests and dashboards). */
  totals: StatsSnapshot;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Reads the cumulative counters and instantaneous values out of one getStats() report. */
export function readStats(entries: Iterable<StatsEntry>, now: number): {
  snapshot: StatsSnapshot;
  rttMs: number | null;
  jitterMs: number | null;
  localCandidateType: string | null;
  remoteCandidateType: string | null;
  relayProtocol: string | null;
} {
  const byId = new Map<string, StatsEntry>();
  for (const e of entries) byId.set(e.id, e);
  const snap: StatsSnapshot = { at: now, bytesReceived: 0, bytesSent: 0, packetsReceived: 0, packetsLost: 0, audioPacketsReceived: 0, audioPacketsLost: 0, framesDecoded: 0 };
  let jitter: number | null = null;
  let rtcpRtt: number | null = null;
  let pair: StatsEntry | undefined;
  for (const e of byId.values()) {
    if (e.type === 'inbound-rtp') {
      snap.bytesReceived += num(e.bytesReceived);
      snap.packetsReceived += num(e.packetsReceived);
      snap.packetsLost += Math.max(0, num(e.packetsLost));
      if (e.kind === 'audio') {
        snap.audioPacketsReceived += num(e.packetsReceived);
        snap.audioPacketsLost += Math.max(0, num(e.packetsLost));
        if (typeof e.jitter === 'number') jitter = Math.max(jitter ?? 0, e.jitter * 1000);
      } else if (e.kind === 'video') {
        snap.framesDecoded += num(e.framesDecoded);
      }
    } else if (e.type === 'outbound-rtp') {
      snap.bytesSent += num(e.bytesSent);
    } else if (e.type === 'remote-inbound-rtp' && typeof e.roundTripTime === 'number') {
      rtcpRtt = Math.max(rtcpRtt ?? 0, e.roundTripTime * 1000);
    } else if (e.type === 'transport' && typeof e.selectedCandidatePairId === 'string') {
      pair = byId.get(e.selectedCandidatePairId);
    }
  }
  if (!pair) pair = [...byId.values()].find((e) => e.type === 'candidate-pair' && (e.selected === true || (e.nominated === true && e.state === 'succeeded')));
  const local = pair ? byId.get(String(pair.localCandidateId)) : undefined;
  const remote = pair ? byId.get(String(pair.remoteCandidateId)) : undefined;
  const pairRtt = pair && typeof pair.currentRoundTripTime === 'number' ? pair.currentRoundTripTime * 1000 : null;
  return {
    snapshot: snap,
    rttMs: pairRtt ?? rtcpRtt,
    jitterMs: jitter,
    localCandidateType: (local?.candidateType as string | undefined) ?? null,
    remoteCandidateType: (remote?.candidateType as string | undefined) ?? null,
    relayProtocol: (local?.relayProtocol as string | undefined) ?? null,
  };
}

/** Loss in percent between two cumulative (received, lost) counters; 0 when nothing was expected. */
export function lossPercent(prevReceived: number, prevLost: number, received: number, lost: number): number {
  const dr = Math.max(0, received - prevReceived);
  const dl = Math.max(0, lost - prevLost);
  return dr + dl === 0 ? 0 : (100 * dl) / (dr + dl);
}

/** Bitrate in kbit/s between two cumulative byte counters taken `ms` apart. */
export function kbps(prevBytes: number, bytes: number, ms: number): number {
  return ms <= 0 ? 0 : (Math.max(0, bytes - prevBytes) * 8) / ms;
}

/**
 * Simplified E-model (ITU-T G.107) for Opus/G.711-class voice:
 *  d  = rtt/2 + 2·jitter + 10 ms (one-way delay incl. jitter buffer and packetisation)
 *  Id = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3)
 *  Ie,eff = Ie + (95 − Ie)·Ppl / (Ppl + Bpl), with Ie = 0 and Bpl = 10 (loss robustness of a codec with PLC)
 *  R  = 93.2 − Id − Ie,eff, clamped to 0–100
 */
export function rFactor(rttMs: number, jitterMs: number, lossPct: number, opts: { ie?: number; bpl?: number } = {}): number {
  const ie = opts.ie ?? 0;
  const bpl = opts.bpl ?? 10;
  const d = Math.max(0, rttMs) / 2 + 2 * Math.max(0, jitterMs) + 10;
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
  const ppl = Math.min(100, Math.max(0, lossPct));
  const ieEff = ie + ((95 - ie) * ppl) / (ppl + bpl);
  return Math.min(100, Math.max(0, 93.2 - id - ieEff));
}

/** G.107 R → MOS mapping (1.0 … 4.5). */
export function mosFromR(r: number): number {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return Math.min(4.5, Math.max(1, 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)));
}

/** Combines two readings into a sample; `prev` undefined for the first one (rates are then 0). */
export function computeQuality(cur: ReturnType<typeof readStats>, prev: StatsSnapshot | undefined): QualitySample {
  const s = cur.snapshot;
  const ms = prev ? s.at - prev.at : 0;
  const lossPct = prev ? lossPercent(prev.packetsReceived, prev.packetsLost, s.packetsReceived, s.packetsLost) : 0;
  const audioLossPct = prev ? lossPercent(prev.audioPacketsReceived, prev.audioPacketsLost, s.audioPacketsReceived, s.audioPacketsLost) : 0;
  const r = rFactor(cur.rttMs ?? 0, cur.jitterMs ?? 0, audioLossPct);
  return {
    at: s.at,
    rttMs: cur.rttMs,
    jitterMs: cur.jitterMs,
    lossPct,
    audioLossPct,
    inboundKbps: prev ? kbps(prev.bytesReceived, s.bytesReceived, ms) : 0,
    outboundKbps: prev ? kbps(prev.bytesSent, s.bytesSent, ms) : 0,
    framesPerSecond: prev && ms > 0 ? (Math.max(0, s.framesDecoded - prev.framesDecoded) * 1000) / ms : 0,
    rFactor: Math.round(r * 10) / 10,
    mos: Math.round(mosFromR(r) * 100) / 100,
    localCandidateType: cur.localCandidateType,
    remoteCandidateType: cur.remoteCandidateType,
    relayProtocol: cur.relayProtocol,
    totals: s,
  };
}
