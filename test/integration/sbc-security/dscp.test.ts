/**
 * DSCP marking of media (docs/security.md § DSCP): rtpengine 10.5 marks the RTP it sends with the deployment's
 * `--tos` (here 184 = DSCP EF 46), and a call's `TOS` ng key overrides it (104 = AF31). Checked on the wire with
 * `tcpdump -v` (tos byte of the IPv4 header). rtpengine on 127.0.12.9 (ng 22360, media 38000–38099); parties
 * 127.0.12.2:25200 and 127.0.12.3:25202 (a plain UDP socket each).
 */
import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, requires } from '../../support/requires.js';
import { startDaemon, type Daemon } from '../../../runtime/local/daemon.js';
import { ngPing } from '../../../runtime/sbc/media/ng-ping.js';
import { RtpEngineNode } from '../../../runtime/sbc/media/rtpengine.js';
import { startSipEngine } from '../../../runtime/sip-engine/index.js';

const canMangle = (() => {
  try {
    execFileSync('iptables', ['-t', 'mangle', '-L', 'OUTPUT', '-n'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const run = requires('rtpengine', hasCommand('rtpengine'), 'rtpengine (Debian rtpengine-daemon) not installed')
  && requires('tcpdump', hasCommand('tcpdump'), 'tcpdump not installed (apt-get install tcpdump; needs CAP_NET_RAW)');

const RTP = '127.0.12.9';
const A = { ip: '127.0.12.2', port: 25200 };
const B = { ip: '127.0.12.3', port: 25202 };
const sdp = (p: { ip: string; port: number }) => `v=0\r\no=- 1 1 IN IP4 ${p.ip}\r\ns=-\r\nc=IN IP4 ${p.ip}\r\nt=0 0\r\nm=audio ${p.port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`;
const portOf = (s: string) => Number(/m=audio (\d+)/.exec(s)?.[1]);

/** tos bytes tcpdump saw on RTP from rtpengine to B. */
async function tosOnWire(send: () => Promise<void>, filter = `udp and src host ${RTP} and dst host ${B.ip} and dst port ${B.port}`, count = 10): Promise<string[]> {
  const td = spawn('tcpdump', ['-i', 'lo', '-n', '-v', '-l', '-c', String(count), filter], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  td.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const listening = new Promise<void>((resolve) => td.stderr.on('data', (d: Buffer) => { if (d.toString().includes('listening')) resolve(); }));
  const exited = new Promise<void>((resolve) => td.on('exit', () => resolve()));
  await Promise.race([listening, new Promise((r) => setTimeout(r, 3000))]);
  await send();
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  if (td.exitCode === null) td.kill('SIGKILL');
  return [...out.matchAll(/tos (0x[0-9a-f]+)/g)].map((m) => m[1]!);
}

describe.runIf(run)('DSCP: media marking through rtpengine', () => {
  let daemon: Daemon;
  let node: RtpEngineNode;
  const socks: dgram.Socket[] = [];

  beforeAll(async () => {
    daemon = await startDaemon({
      name: 'rtpengine', command: 'rtpengine',
      args: ['--config-file=none', '--table=-1', `--interface=${RTP}`, `--listen-ng=${RTP}:22360`, '--port-min=38000', '--port-max=38099',
        '--foreground', '--log-stderr', '--log-level=4', '--delete-delay=0', '--tos=184'],
      ready: () => ngPing(RTP, 22360),
    });
    node = await RtpEngineNode.connect({ id: 'dscp', target: { host: RTP, port: 22360 }, localAddress: RTP, log: pino({ level: 'silent' }) });
    for (const p of [A, B]) {
      const s = dgram.createSocket('udp4');
      s.on('message', () => undefined);
      await new Promise<void>((r) => s.bind(p.port, p.ip, () => r()));
      socks.push(s);
    }
  }, 30_000);
  afterAll(async () => {
    for (const s of socks) s.close();
    node?.close();
    await daemon?.stop();
  });

  const call = async (id: string, extra: Record<string, unknown>) => {
    const flags = { 'transport-protocol': 'RTP/AVP', ICE: 'remove', replace: ['origin', 'session-connection'] };
    const offer = await node.command('offer', { ...flags, ...extra, 'call-id': id, 'from-tag': 'a', sdp: sdp(A) });
    const answer = await node.command('answer', { ...flags, 'call-id': id, 'from-tag': 'a', 'to-tag': 'b', sdp: sdp(B) });
    return { toA: portOf(String(answer.sdp)), toB: portOf(String(offer.sdp)) };
  };
  const rtpFromA = async (port: number) => {
    for (let i = 0; i < 15; i++) {
      const pkt = Buffer.alloc(172, 0xff);
      pkt[0] = 0x80;
      pkt.writeUInt16BE(i, 2);
      pkt.writeUInt32BE(i * 160, 4);
      pkt.writeUInt32BE(0xabcdef01, 8);
      socks[0]!.send(pkt, port, RTP);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('the deployment --tos marks every stream (EF, 0xb8); a per-call TOS key overrides it (AF31, 0x68)', async () => {
    const c1 = await call('dscp-1', {});
    const tos1 = await tosOnWire(() => rtpFromA(c1.toA));
    const c2 = await call('dscp-2', { TOS: 104 });
    const tos2 = await tosOnWire(() => rtpFromA(c2.toA));
    console.log(`FIGURE dscp: --tos=184 → ${[...new Set(tos1)].join(',')} (${tos1.length} packets); offer TOS 104 → ${[...new Set(tos2)].join(',')} (${tos2.length} packets)`);
    expect(tos1.length).toBeGreaterThan(3);
    expect(new Set(tos1)).toEqual(new Set(['0xb8']));
    expect(tos2.length).toBeGreaterThan(3);
    expect(new Set(tos2)).toEqual(new Set(['0x68']));
    await node.command('delete', { 'call-id': 'dscp-1' });
    await node.command('delete', { 'call-id': 'dscp-2' });
  }, 30_000);

  it.runIf(requires('iptables', canMangle, 'iptables with the mangle table (root / CAP_NET_ADMIN) needed for the signalling DSCP rule'))(
    'signalling: the OS rule of the bootstrap (iptables mangle DSCP CS3 on the SIP source port) marks the engine’s responses (0x60)', async () => {
      const SIP = { ip: '127.0.12.5', port: 25060 };
      const rule = ['-t', 'mangle', '-A', 'OUTPUT', '-s', SIP.ip, '-p', 'udp', '--sport', String(SIP.port), '-j', 'DSCP', '--set-dscp-class', 'CS3'];
      const engine = await startSipEngine({ sip: [{ transport: 'udp', host: SIP.ip, port: SIP.port }], admin: { host: SIP.ip, port: 0, secret: 'dscp' }, log: pino({ level: 'silent' }) });
      execFileSync('iptables', rule);
      try {
        const tos = await tosOnWire(async () => {
          const s = dgram.createSocket('udp4');
          await new Promise<void>((r) => s.bind(25061, '127.0.12.6', () => r()));
          s.send(`OPTIONS sip:${SIP.ip}:${SIP.port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.12.6:25061;branch=z9hG4bK-dscp\r\nMax-Forwards: 70\r\nFrom: <sip:t@127.0.12.6>;tag=1\r\n` +
            `To: <sip:${SIP.ip}>\r\nCall-ID: dscp-opt\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`, SIP.port, SIP.ip);
          await new Promise((r) => setTimeout(r, 300));
          s.close();
        }, `udp and src host ${SIP.ip} and src port ${SIP.port}`, 1);
        console.log(`FIGURE dscp: SIP response from the engine with the mangle rule → ${tos.join(',')}`);
        expect(tos).toEqual(['0x60']);
      } finally {
        execFileSync('iptables', rule.map((a) => (a === '-A' ? '-D' : a)));
        await engine.close();
      }
    }, 30_000);
});
