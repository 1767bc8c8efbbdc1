/**
 * Two baresip softphones (alice on 127.0.3.4, bob on 127.0.3.5) register with the SBC and call each other;
 * each hears the other's tone (440 Hz / 880 Hz) through rtpengine: checked on baresip's sndfile dumps with
 * a zero-crossing frequency estimate (FACTS §6.4).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, requires } from '../../support/requires.js';
import { DOMAIN, ENGINE_IP, PASSWORDS, SIP_PORT, TENANT, haveRtpengine, seed, startBed, until, type Bed } from './harness.js';

const run = requires('baresip', hasCommand('baresip'), 'baresip (Debian baresip-core) not installed')
  && requires('rtpengine', haveRtpengine, 'rtpengine (Debian rtpengine-daemon) not installed');

/** An 8 kHz mono 16-bit WAV with a sine tone. */
function toneWav(freq: number, seconds: number): Buffer {
  const n = 8000 * seconds;
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * freq * i) / 8000)), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + data.length, 4); h.write('WAVE', 8); h.write('fmt ', 12);
  h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22); h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28); h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34); h.write('data', 36); h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** Dominant frequency of a 16-bit PCM WAV by zero crossings over its loud part. */
export function zeroCrossingHz(wav: Buffer): number {
  const dataAt = wav.indexOf('data') + 8;
  const rate = wav.readUInt32LE(24);
  const samples: number[] = [];
  for (let i = dataAt; i + 1 < wav.length; i += 2) samples.push(wav.readInt16LE(i));
  const loud = samples.filter((s) => Math.abs(s) > 500).length;
  if (loud < rate / 4) return 0;
  let crossings = 0;
  let first = -1;
  let last = -1;
  for (let i = 1; i < samples.length; i++) {
    if (samples[i - 1]! < 0 && samples[i]! >= 0 && (Math.abs(samples[i]!) > 50 || Math.abs(samples[i - 1]!) > 50)) {
      crossings++;
      if (first < 0) first = i;
      last = i;
    }
  }
  return crossings > 1 ? ((crossings - 1) * rate) / (last - first) : 0;
}

interface Phone { proc: ChildProcess; dir: string; ctrl: Socket; events: string; command(cmd: string, params?: string): void; stop(): Promise<void> }

async function startPhone(name: string, ip: string, ctrlPort: number, rtp: string, freq: number): Promise<Phone> {
  const dir = mkdtempSync(path.join(tmpdir(), `baresip-${name}-`));
  mkdirSync(path.join(dir, 'snd'));
  writeFileSync(path.join(dir, 'tone.wav'), toneWav(freq, 20));
  writeFileSync(path.join(dir, 'config'), [
    `sip_listen ${ip}:5090`, `net_interface ${ip}`, `audio_source aufile,${dir}/tone.wav`, `audio_player aubridge,sink_${name}`,
    `audio_alert aubridge,sink_${name}`, `rtp_ports ${rtp}`, 'rtp_timeout 0', 'poll_method epoll', 'call_max_calls 4',
    'module_path /usr/lib/baresip/modules', 'module g711.so', 'module aufile.so', 'module aubridge.so', 'module sndfile.so',
    'module_app account.so', 'module_app contact.so', 'module_app menu.so', 'module_app ctrl_tcp.so',
    `ctrl_tcp_listen ${ip}:${ctrlPort}`, `snd_path ${dir}/snd`, '',
  ].join('\n'));
  writeFileSync(path.join(dir, 'accounts'),
    `<sip:${name}@${DOMAIN}>;auth_pass=${PASSWORDS[name as 'alice' | 'bob']};outbound="sip:${ENGINE_IP}:${SIP_PORT}";regint=600;answermode=auto;audio_codecs=PCMU/8000/1\n`);
  writeFileSync(path.join(dir, 'contacts'), '');
  const proc = spawn('baresip', ['-4', '-f', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const ctrl = await new Promise<Socket>((resolve, reject) => {
    const deadline = Date.now() + 5000;
    const attempt = () => {
      const s = connect({ host: ip, port: ctrlPort });
      s.once('connect', () => resolve(s));
      s.once('error', () => (Date.now() > deadline ? reject(new Error(`baresip ${name} ctrl_tcp not up: ${out}`)) : setTimeout(attempt, 50)));
    };
    attempt();
  });
  const phone: Phone = {
    proc, dir, ctrl, events: '',
    command(cmd, params = '') {
      const json = JSON.stringify({ command: cmd, params, token: cmd });
      ctrl.write(`${Buffer.byteLength(json)}:${json},`);
    },
    async stop() {
      ctrl.destroy();
      if (proc.exitCode === null && proc.pid) {
        process.kill(proc.pid, 'SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
    },
  };
  ctrl.on('data', (d: Buffer) => { phone.events += d.toString(); });
  return phone;
}

describe.runIf(run)('SBC with two baresip softphones', () => {
  let bed: Bed;
  const phones: Phone[] = [];

  beforeAll(async () => {
    bed = await startBed();
    await seed(bed.repo);
  });
  afterAll(async () => {
    for (const p of phones) await p.stop();
    for (const p of phones) rmSync(p.dir, { recursive: true, force: true });
    await bed?.close();
  });

  it('alice and bob register, call each other and hear each other\'s tone', async () => {
    const alice = await startPhone('alice', '127.0.3.4', 4450, '17950-17969', 440);
    const bob = await startPhone('bob', '127.0.3.5', 4451, '17970-17989', 880);
    phones.push(alice, bob);
    await until(async () => (await bed.repo.registrations(TENANT, 'alice')).length === 1 && (await bed.repo.registrations(TENANT, 'bob')).length === 1, 10_000, 'both phones registered');
    alice.command('dial', `sip:bob@${DOMAIN}`);
    await until(() => alice.events.includes('CALL_ESTABLISHED') && bob.events.includes('CALL_ESTABLISHED'), 10_000, 'call established');
    // ~2 s of audio each way through rtpengine.
    await until(async () => {
      const q = await bed.sbc.activeCalls()[0]?.media.query();
      return (q?.packets['a-leg'] ?? 0) >= 100 && (q?.packets['b-leg'] ?? 0) >= 100;
    }, 10_000, 'RTP both ways');
    alice.command('hangup');
    await until(() => bed.sbc.activeCalls().length === 0 && bob.events.includes('CALL_CLOSED'), 10_000, 'call closed');
    const dump = (p: Phone, kind: 'dec' | 'enc') => {
      const f = readdirSync(path.join(p.dir, 'snd')).find((n) => n.endsWith(`-${kind}.wav`));
      return f ? readFileSync(path.join(p.dir, 'snd', f)) : Buffer.alloc(0);
    };
    await until(() => dump(alice, 'dec').length > 8000 && dump(bob, 'dec').length > 8000, 5000, 'sndfile dumps');
    const aliceHears = zeroCrossingHz(dump(alice, 'dec'));
    const bobHears = zeroCrossingHz(dump(bob, 'dec'));
    expect(Math.abs(aliceHears - 880), `alice hears ${aliceHears} Hz`).toBeLessThan(40);
    expect(Math.abs(bobHears - 440), `bob hears ${bobHears} Hz`).toBeLessThan(40);
  });
});
