/**
 * rtpengine with named interfaces (as on AWS media nodes: `private/<ip>` first, `public/<ip>!<public ip>`): without
 * `direction` rtpengine puts its FIRST interface's address in every SDP, so phones and carriers would get the VPC
 * address. With `rtpengine.interfaces` the SBC's offers carry `direction`: outside parties get the advertised public
 * address, the SBC's own voice endpoints (side b of voice legs) the private one. No packet is sent anywhere: the
 * advertised address (203.0.113.9, TEST-NET-3) only appears in SDP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startDaemon, type Daemon } from '../../../runtime/local/daemon.js';
import { ngPing } from '../../../runtime/sbc/media/ng-ping.js';
import { MediaSession, RtpEngineNode } from '../../../runtime/sbc/media/rtpengine.js';
import { hasCommand, requires } from '../../support/requires.js';

const IP = '127.0.19.1';
const NG = 22420;
const PUBLIC = '203.0.113.9';
const available = requires('rtpengine', hasCommand('rtpengine'), 'apt-get install rtpengine-daemon (bash scripts/setup.sh)');
const log = pino({ level: 'silent' });
const sdp = (port: number) => `v=0\r\no=- 1 1 IN IP4 ${IP}\r\ns=-\r\nc=IN IP4 ${IP}\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n`;
const cLine = (s: string) => /c=IN IP4 (\S+)/.exec(s)?.[1];

describe.runIf(available)('rtpengine interfaces (AWS media node layout)', () => {
  let rtpengine: Daemon;
  beforeAll(async () => {
    rtpengine = await startDaemon({
      name: 'rtpengine', command: 'rtpengine',
      args: ['--config-file=none', '--foreground', '--log-stderr', '--table=-1', '--log-level=4',
        `--interface=private/${IP}`, `--interface=public/${IP}!${PUBLIC}`,
        `--listen-ng=${IP}:${NG}`, '--port-min=60000', '--port-max=60099', '--delete-delay=0'],
      ready: () => ngPing(IP, NG),
    });
  });
  afterAll(async () => {
    await rtpengine?.stop();
  });

  const session = async (interfaces?: { external: string; internal: string }) => {
    const node = await RtpEngineNode.connect({ id: 'm1', target: { host: IP, port: NG }, localAddress: IP, log, ...(interfaces ? { interfaces } : {}) });
    return { node, media: (id: string) => new MediaSession(node, id, log) };
  };

  it('without names every SDP gets the first (private) address; with them outside parties get the public one', async () => {
    const plain = await session();
    const m0 = plain.media('if-0');
    expect(cLine(await m0.offer(sdp(40000), 'a', 'sip'))).toBe(IP);
    await m0.delete();
    plain.node.close();

    const named = await session({ external: 'public', internal: 'private' });
    const b2bua = named.media('if-1');
    expect(cLine(await b2bua.offer(sdp(40000), 'a', 'sip'))).toBe(PUBLIC); // toward the callee
    expect(cLine(await b2bua.answer(sdp(40010), 'a', 'sip'))).toBe(PUBLIC); // toward the caller
    await b2bua.delete();

    const voice = named.media('if-2');
    voice.sides.b = 'internal'; // as runtime/sbc/voice/legs.ts does: side b is the SBC's RTP endpoint
    expect(cLine(await voice.offer(sdp(40020), 'a', 'sip'))).toBe(IP); // caller's offer → our endpoint (VPC)
    expect(cLine(await voice.answer(sdp(40030), 'a', 'sip'))).toBe(PUBLIC); // → the caller
    await voice.delete();

    const out = named.media('if-3');
    out.sides.b = 'internal';
    expect(cLine(await out.offer(sdp(40040), 'b', 'sip'))).toBe(PUBLIC); // our endpoint's offer → the callee
    expect(cLine(await out.answer(sdp(40050), 'b', 'sip'))).toBe(IP); // callee's answer → our endpoint
    await out.delete();
    named.node.close();
  });
});
