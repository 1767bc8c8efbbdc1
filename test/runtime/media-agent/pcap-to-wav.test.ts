import { describe, expect, it } from 'vitest';
import { decodeAlaw, decodeMulaw, pcapToWav, readWav } from '../../../runtime/media-agent/recordings/pcap-to-wav.js';
import { goertzel, linearToAlaw, linearToMulaw, rms, rtpPacket, tonePayload, writePcap, zeroCrossingHz, type PcapRecord } from './audio-support.js';

const T0 = 1_700_000_000_000;

/** Two parties, 2 s each: A sends 440 Hz from t=0, B sends 880 Hz from t=100 ms; extra noise packets. */
function twoPartyCall(o: { v6?: boolean; law?: 'mulaw' | 'alaw'; tsA?: number } = {}): PcapRecord[] {
  const [a, b, relay] = o.v6 ? ['fd00::5:1', 'fd00::5:2', 'fd00::5:9'] : ['127.0.5.1', '127.0.5.2', '127.0.5.9'];
  const recs: PcapRecord[] = [];
  const tsA = o.tsA ?? 0xffffff00; // wraps after two packets
  for (let f = 0; f < 100; f++) {
    recs.push({ time: T0 + f * 20, src: a, sport: 40000, dst: relay, dport: 32000, payload: rtpPacket({ pt: o.law === 'alaw' ? 8 : 0, seq: 65530 + f, ts: tsA + f * 160, ssrc: 0x1111, payload: tonePayload(440, f, o.law) }) });
    recs.push({ time: T0 + 100 + f * 20 + 3, src: b, sport: 40002, dst: relay, dport: 32002, payload: rtpPacket({ pt: o.law === 'alaw' ? 8 : 0, seq: f, ts: 5000 + f * 160, ssrc: 0x2222, payload: tonePayload(880, f, o.law) }) });
  }
  // noise: a DTMF event, an RTCP receiver report, a non-RTP datagram
  recs.push({ time: T0 + 500, src: a, sport: 40000, dst: relay, dport: 32000, payload: rtpPacket({ pt: 101, seq: 1, ts: 1, ssrc: 0x1111, payload: Buffer.from([5, 0x8a, 0, 160]) }) });
  recs.push({ time: T0 + 600, src: a, sport: 40001, dst: relay, dport: 32001, payload: Buffer.from([0x81, 201, 0, 1, 0, 0, 0x11, 0x11]) });
  recs.push({ time: T0 + 700, src: b, sport: 5060, dst: relay, dport: 5060, payload: Buffer.from('OPTIONS sip:x SIP/2.0\r\n') });
  return recs.sort((x, y) => x.time - y.time);
}

function expectTones(wav: Buffer): void {
  const { channels, sampleRate, data } = readWav(wav);
  expect(channels).toBe(2);
  expect(sampleRate).toBe(8000);
  const [left, right] = data as [Int16Array, Int16Array];
  expect(left.length).toBeGreaterThanOrEqual(16_700);
  expect(left.length).toBeLessThanOrEqual(16_900);
  // steady part of each party
  const l = left.subarray(1600, 14400);
  const r = right.subarray(2400, 15200);
  expect(goertzel(l, 440)).toBeGreaterThan(0.8);
  expect(goertzel(l, 880)).toBeLessThan(0.05);
  expect(goertzel(r, 880)).toBeGreaterThan(0.8);
  expect(goertzel(r, 440)).toBeLessThan(0.05);
  expect(zeroCrossingHz(l)).toBeCloseTo(440, -1);
  expect(zeroCrossingHz(r)).toBeCloseTo(880, -1);
  // B starts 100 ms (800 samples) later: silence before, tone after
  expect(rms(right, 0, 780)).toBe(0);
  expect(rms(right, 840, 1600)).toBeGreaterThan(4000);
}

describe('G.711 decoding', () => {
  it('round-trips µ-law and A-law within the quantisation step', () => {
    for (const v of [-32000, -8000, -1000, -100, 0, 100, 1000, 8000, 32000]) {
      expect(Math.abs(decodeMulaw(linearToMulaw(v)) - v)).toBeLessThanOrEqual(Math.max(8, Math.abs(v) / 16));
      expect(Math.abs(decodeAlaw(linearToAlaw(v)) - v)).toBeLessThanOrEqual(Math.max(16, Math.abs(v) / 16));
    }
    expect(decodeMulaw(0xff)).toBe(0);
    expect(decodeMulaw(0x00)).toBe(-32124);
    expect(decodeAlaw(0xd5)).toBe(8);
  });
});

describe('pcapToWav', () => {
  it('puts two µ-law parties (440 Hz / 880 Hz) on their own channels by RTP timestamp (Ethernet, IPv4, ts wrap)', () => {
    const out = pcapToWav(writePcap(twoPartyCall()));
    expectTones(out.wav);
    expect(out.parties.map((p) => [p.source, p.channel, p.packets, p.codec, p.ssrcs])).toEqual([
      ['127.0.5.1:40000', 0, 100, 'PCMU', [0x1111]],
      ['127.0.5.2:40002', 1, 100, 'PCMU', [0x2222]],
    ]);
    expect(out.startedAt).toBe(T0);
    expect(out.durationSeconds).toBeCloseTo(2.1, 1);
    expect(out.packets).toMatchObject({ rtp: 200, skipped: 3 });
  });

  it('reads raw-IP IPv6 captures and A-law', () => {
    const out = pcapToWav(writePcap(twoPartyCall({ v6: true, law: 'alaw' }), 101));
    expectTones(out.wav);
    expect(out.parties[0]!.source).toBe('[fd00::5:1]:40000');
    expect(out.parties[0]!.codec).toBe('PCMA');
  });

  it('honours a preferred party order and mixes to mono on request', () => {
    const pcap = writePcap(twoPartyCall());
    const swapped = pcapToWav(pcap, { partyOrder: ['127.0.5.2:40002'] });
    expect(swapped.parties.map((p) => p.channel)).toEqual([0, 1]);
    expect(swapped.parties[0]!.source).toBe('127.0.5.2:40002');
    const mono = pcapToWav(pcap, { mode: 'mono' });
    const { channels, data } = readWav(mono.wav);
    expect(channels).toBe(1);
    const mid = data[0]!.subarray(2400, 14400);
    expect(goertzel(mid, 440)).toBeGreaterThan(0.3);
    expect(goertzel(mid, 880)).toBeGreaterThan(0.3);
  });

  it('re-anchors on a new SSRC and ignores duplicates and a truncated trailing record', () => {
    const recs = twoPartyCall();
    // party A changes SSRC and timestamp base at frame 50 (e.g. after a re-INVITE)
    for (const r of recs) {
      if (r.src === '127.0.5.1' && r.sport === 40000 && r.time >= T0 + 1000 && r.payload[1] === 0) {
        r.payload.writeUInt32BE(0x3333, 8);
        r.payload.writeUInt32BE((r.payload.readUInt32BE(4) + 123_456) >>> 0, 4);
      }
    }
    recs.push({ ...recs[10]!, time: recs[10]!.time + 1 }); // duplicate
    const pcap = writePcap(recs);
    const out = pcapToWav(Buffer.concat([pcap, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17])]));
    expectTones(out.wav);
    expect(out.parties[0]!.ssrcs).toEqual([0x1111, 0x3333]);
  });

  it('rejects what is not a classic pcap', () => {
    expect(() => pcapToWav(Buffer.alloc(10))).toThrow(/too short/);
    expect(() => pcapToWav(Buffer.alloc(64, 7))).toThrow(/not a classic pcap/);
  });
});

describe('pause (muted stretches from the recording metadata)', () => {
  it('parses paused=<from>-<to>,<from>- and writes silence inside, audio around', async () => {
    const { parseMutedIntervals } = await import('../../../runtime/media-agent/recordings/pcap-to-wav.js');
    expect(parseMutedIntervals(`${T0 + 500}-${T0 + 1000},${T0 + 1500}-,junk,1-x`)).toEqual([{ from: T0 + 500, to: T0 + 1000 }, { from: T0 + 1500 }]);
    expect(parseMutedIntervals(undefined)).toEqual([]);
    const conv = pcapToWav(writePcap(twoPartyCall()), { muted: parseMutedIntervals(`${T0 + 500}-${T0 + 1000},${T0 + 1700}-`) });
    const [left, right] = readWav(conv.wav).data as [Int16Array, Int16Array];
    expect(rms(left, 800, 3800)).toBeGreaterThan(3000); // 100–475 ms
    expect(rms(left, 4100, 7900)).toBe(0); // 512–987 ms paused
    expect(rms(left, 8200, 13_400)).toBeGreaterThan(3000); // resumed
    expect(rms(left, 13_800, left.length)).toBe(0); // paused until the end
    expect(rms(right, 4100, 7900)).toBe(0);
    expect(left.length).toBeGreaterThanOrEqual(16_700); // the timeline is kept
  });
});
