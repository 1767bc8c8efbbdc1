import { describe, expect, it } from 'vitest';
import { computeQuality, kbps, lossPercent, mosFromR, rFactor, readStats, type StatsEntry } from '../../../assets/sdk/src/quality.js';

describe('E-model', () => {
  it('gives the G.107 default R (≈93) and MOS ≈4.4 for a perfect loopback path', () => {
    const r = rFactor(0, 0, 0);
    expect(r).toBeGreaterThan(92.5);
    expect(r).toBeLessThanOrEqual(93.2);
    expect(mosFromR(r)).toBeCloseTo(4.41, 1);
  });

  it('maps R to MOS at the G.107 anchor points', () => {
    expect(mosFromR(0)).toBe(1);
    expect(mosFromR(-5)).toBe(1);
    expect(mosFromR(100)).toBe(4.5);
    expect(mosFromR(50)).toBeCloseTo(2.58, 2);
    expect(mosFromR(80)).toBeCloseTo(4.02, 2);
  });

  it('degrades with delay beyond 177 ms one way and with loss', () => {
    const base = rFactor(40, 5, 0);
    expect(rFactor(500, 5, 0)).toBeLessThan(base - 10); // 250 ms one way + jitter buffer
    expect(rFactor(40, 5, 5)).toBeLessThan(base - 25);
    expect(mosFromR(rFactor(40, 5, 20))).toBeLessThan(2.5);
  });

  it('is monotonic in loss and clamped to 0–100', () => {
    let prev = Infinity;
    for (const loss of [0, 1, 2, 5, 10, 20, 50, 100]) {
      const r = rFactor(100, 10, loss);
      expect(r).toBeLessThanOrEqual(prev);
      expect(r).toBeGreaterThanOrEqual(0);
      prev = r;
    }
  });
});

describe('stats deltas', () => {
  it('computes loss and bitrate between samples', () => {
    expect(lossPercent(100, 0, 200, 0)).toBe(0);
    expect(lossPercent(100, 0, 190, 10)).toBe(10);
    expect(lossPercent(100, 5, 100, 5)).toBe(0);
    expect(kbps(0, 125_000, 1000)).toBe(1000);
    expect(kbps(10, 5, 1000)).toBe(0); // counter reset
  });

  const report = (t: number, audioRx: number, lost: number, bytes: number, frames: number): StatsEntry[] => [
    { id: 'T', type: 'transport', selectedCandidatePairId: 'CP' },
    { id: 'CP', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R', currentRoundTripTime: 0.02 },
    { id: 'L', type: 'local-candidate', candidateType: 'relay', relayProtocol: 'udp' },
    { id: 'R', type: 'remote-candidate', candidateType: 'relay' },
    { id: 'IA', type: 'inbound-rtp', kind: 'audio', packetsReceived: audioRx, packetsLost: lost, bytesReceived: bytes / 2, jitter: 0.004, timestamp: t },
    { id: 'IV', type: 'inbound-rtp', kind: 'video', packetsReceived: audioRx, packetsLost: 0, bytesReceived: bytes / 2, framesDecoded: frames, timestamp: t },
    { id: 'OV', type: 'outbound-rtp', kind: 'video', bytesSent: bytes, timestamp: t },
  ];

  it('reads the selected pair, RTT and jitter, and rates from two reports', () => {
    const a = readStats(report(0, 100, 0, 100_000, 20), 1000);
    const b = readStats(report(0, 150, 0, 350_000, 60), 3000);
    const q0 = computeQuality(a, undefined);
    expect(q0).toMatchObject({ localCandidateType: 'relay', remoteCandidateType: 'relay', relayProtocol: 'udp', rttMs: 20, jitterMs: 4, inboundKbps: 0 });
    const q = computeQuality(b, a.snapshot);
    expect(q.inboundKbps).toBe(1000); // 250 kB in 2 s
    expect(q.outboundKbps).toBe(1000);
    expect(q.framesPerSecond).toBe(20);
    expect(q.audioLossPct).toBe(0);
    expect(q.mos).toBeGreaterThan(4.3);
  });

  it('reports loss since the previous sample only', () => {
    const a = readStats(report(0, 100, 50, 0, 0), 0); // old loss
    const b = readStats(report(0, 190, 60, 0, 0), 1000);
    expect(computeQuality(b, a.snapshot).audioLossPct).toBe(10);
  });
});
