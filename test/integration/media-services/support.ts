/**
 * Shared by the media-services integration tests: a sipp runner (scenarios in ./sipp, `__VAR__` substituted, in a
 * temp dir removed at exit), the caller's tone pcap, and the callee's media endpoint in Node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeAlaw, decodeMulaw } from '../../../runtime/media-agent/recordings/pcap-to-wav.js';
import { goertzel, rtpPacket, tonePayload, writePcap } from '../../runtime/media-agent/audio-support.js';

const HERE = dirname(fileURLToPath(import.meta.url));

// ---- sipp ---------------------------------------------------------------------------------------------------------

export interface Sipp { proc: ChildProcess; done: Promise<{ code: number | null; output: string; messages: string }>; kill(): void }
/** sipp processes still running (kill them in afterAll). */
export const running = new Set<Sipp>();

export function sipp(scenario: string, args: string[], vars: Record<string, string>, cp: number, tonePcap?: Buffer): Sipp {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-ms-'));
  let xml = readFileSync(join(HERE, 'sipp', scenario), 'utf8');
  for (const [k, v] of Object.entries(vars)) xml = xml.replaceAll(`__${k}__`, v);
  writeFileSync(join(dir, scenario), xml);
  if (tonePcap) {
    mkdirSync(join(dir, 'pcap'));
    writeFileSync(join(dir, 'pcap', 'tone.pcap'), tonePcap);
  }
  const proc = spawn('sipp', ['-sf', scenario, ...args, '-cp', String(cp), '-nostdin', '-trace_err', '-trace_msg'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const done = new Promise<{ code: number | null; output: string; messages: string }>((res) => {
    proc.on('exit', (code) => {
      let messages = '';
      for (const f of readdirSync(dir)) if (f.endsWith('.log')) messages += readFileSync(join(dir, f), 'utf8');
      rmSync(dir, { recursive: true, force: true });
      res({ code, output, messages });
    });
  });
  const s: Sipp = {
    proc, done,
    kill: () => {
      if (proc.exitCode === null && proc.pid) {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    },
  };
  running.add(s);
  void done.then(() => running.delete(s));
  return s;
}

/** `seconds` of a 440 Hz PCMU tone as an Ethernet pcap for sipp's play_pcap_audio. */
export function tonePcap(seconds: number): Buffer {
  const n = seconds * 50;
  return writePcap(Array.from({ length: n }, (_, i) => ({
    time: 1_700_000_000_000 + i * 20, src: '10.0.0.1', sport: 6000, dst: '10.0.0.2', dport: 6002,
    payload: rtpPacket({ pt: 0, seq: i, ts: i * 160, ssrc: 0x1234, payload: tonePayload(440, i) }),
  })), 1);
}

// ---- the callee's media (Node) --------------------------------------------------------------------------------------

export interface Received { at: number; pt: number; payload: Buffer }
/** The callee's RTP endpoint: records what it receives and answers with 880 Hz (in `law`) once media arrives. */
export class CalleeMedia {
  readonly got: Received[] = [];
  private timer?: NodeJS.Timeout;
  private remote?: { address: string; port: number };
  private frame = 0;
  private constructor(readonly sock: Socket, readonly port: number, private readonly law: 'mulaw' | 'alaw' | 'g722') {}

  static async open(ip: string, law: 'mulaw' | 'alaw' | 'g722' = 'mulaw'): Promise<CalleeMedia> {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, ip, () => r()));
    const m = new CalleeMedia(sock, sock.address().port, law);
    sock.on('message', (msg, rinfo) => {
      if (msg.length < 12) return;
      m.got.push({ at: Date.now(), pt: msg[1]! & 0x7f, payload: msg.subarray(12 + 4 * (msg[0]! & 0x0f)) });
      if (!m.remote) {
        m.remote = { address: rinfo.address, port: rinfo.port };
        m.timer = setInterval(() => m.send(), 20);
      }
    });
    return m;
  }

  private send(): void {
    const f = this.frame++;
    // G.722 (64 kbit/s): 160 bytes per 20 ms; its content does not matter here (only the payload type is checked).
    const pt = this.law === 'mulaw' ? 0 : this.law === 'alaw' ? 8 : 9;
    const payload = this.law === 'g722' ? Buffer.alloc(160, 0xfa) : tonePayload(880, f, this.law);
    this.sock.send(rtpPacket({ pt, seq: f, ts: f * 160, ssrc: 0x8800, payload }), this.remote!.port, this.remote!.address);
  }

  /** Decoded G.711 samples received in [from, to). */
  samples(from: number, to: number): number[] {
    const out: number[] = [];
    for (const r of this.got) {
      if (r.at < from || r.at >= to || (r.pt !== 0 && r.pt !== 8)) continue;
      for (const b of r.payload) out.push(r.pt === 0 ? decodeMulaw(b) : decodeAlaw(b));
    }
    return out;
  }

  /** Which frequency dominates among `hzs` in [from, to). */
  dominant(from: number, to: number, hzs: number[]): number {
    const s = this.samples(from, to);
    const p = hzs.map((hz) => goertzel(s, hz));
    return hzs[p.indexOf(Math.max(...p))]!;
  }

  /**
   * Arrival times of the PCMU packets dominated by 1400 Hz (the consent tone). rtpengine's player sends them as a
   * stream of its own SSRC beside the forwarded caller audio, so packets are classified one by one.
   */
  consentPackets(): number[] {
    return this.got.filter((r) => {
      if (r.pt !== 0) return false;
      const s = [...r.payload].map(decodeMulaw);
      return goertzel(s, 1400) > 0.5 && goertzel(s, 440) < 0.1; // normalised power: ≈ 1 for a pure tone
    }).map((r) => r.at);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.sock.close();
  }
}
