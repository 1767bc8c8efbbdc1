/**
 * Torture corpus in the style of RFC 4475 (test/fixtures/sip-torture/*.txt): valid-but-weird messages must
 * be parsed and answered, invalid ones answered 400/416/505 (with a Warning) or dropped. Each file starts with
 * `# expect: <status>|drop|parsed` and a description; LF becomes CRLF, `$PEER` the sender's ip:port and
 * `$CL` the body length. Engine on 127.0.6.11, peer on 127.0.6.12.
 */
import dgram from 'node:dgram';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Srf from 'drachtio-srf';
import type { SipEngine } from '../../../runtime/sip-engine/index.js';
import { connectSrf, startEngine, until } from './harness.js';

const ENGINE = '127.0.6.11';
const PEER = '127.0.6.12';
const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/sip-torture');

interface Case { name: string; expect: string; text: string; callId?: string }

function load(peer: string): Case[] {
  return readdirSync(DIR).filter((f) => f.endsWith('.txt')).sort().map((f) => {
    const raw = readFileSync(path.join(DIR, f), 'utf8').split('\n');
    let expectation = '';
    while (raw[0]?.startsWith('#')) {
      const line = raw.shift()!;
      const m = /^# expect: (\S+)/.exec(line);
      if (m) expectation = m[1]!;
    }
    let text = raw.join('\n').replace(/\n/g, '\r\n').replace(/\$PEER/g, peer);
    const end = text.indexOf('\r\n\r\n');
    const body = end >= 0 ? text.slice(end + 4) : '';
    text = text.replace('$CL', String(Buffer.byteLength(body)));
    const callId = /^(?:call-id|i)[ \t]*:[ \t]*(.*)$/mi.exec(text)?.[1]?.trim();
    return { name: f, expect: expectation, text, callId };
  });
}

describe('sip engine: RFC 4475-style torture corpus', () => {
  let engine: SipEngine;
  let srf: Srf;
  let sock: dgram.Socket;
  const got: string[] = [];

  beforeAll(async () => {
    engine = await startEngine({
      sip: [{ transport: 'udp', host: ENGINE, port: 0 }, { transport: 'tcp', host: ENGINE, port: 0 }],
      timers: { t1: 20, t2: 160, t4: 200 },
    });
    srf = await connectSrf(engine);
    srf.invite((_req, res) => res.send(486));
    sock = dgram.createSocket('udp4');
    sock.on('message', (m) => got.push(m.toString('utf8')));
    await new Promise<void>((r) => sock.bind(0, PEER, () => r()));
  });

  afterAll(async () => {
    sock?.close();
    srf?.disconnect();
    await engine?.close();
  });

  const udpPort = (): number => engine.sipEndpoints.find((e) => e.transport === 'udp')!.port;
  const tcpPort = (): number => engine.sipEndpoints.find((e) => e.transport === 'tcp')!.port;
  let probes = 0;

  /** Sends an OPTIONS probe and waits for its 200: everything the engine sent before it has arrived. */
  async function probe(): Promise<void> {
    const id = `probe-${++probes}`;
    const me = `${PEER}:${sock.address().port}`;
    sock.send(Buffer.from(`OPTIONS sip:${ENGINE} SIP/2.0\r\nVia: SIP/2.0/UDP ${me};branch=z9hG4bK-${id}\r\nMax-Forwards: 70\r\n` +
      `From: <sip:p@${PEER}>;tag=p\r\nTo: <sip:${ENGINE}>\r\nCall-ID: ${id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`), udpPort(), ENGINE);
    await until(() => got.some((m) => m.includes(`Call-ID: ${id}\r\n`) && m.startsWith('SIP/2.0 200')), 3000, `probe ${id}`);
  }

  it('has ~40 cases, each with an expectation', () => {
    const cases = load('x');
    expect(cases.length).toBeGreaterThanOrEqual(30);
    for (const c of cases) expect(c.expect, c.name).toMatch(/^(\d{3}|drop|parsed)$/);
  });

  it('answers or drops every case over UDP as expected', async () => {
    const results: Record<string, string> = {};
    const expected: Record<string, string> = {};
    for (const c of load(`${PEER}:${sock.address().port}`)) {
      got.length = 0;
      const before = engine.stats().malformed;
      sock.send(Buffer.from(c.text, 'utf8'), udpPort(), ENGINE);
      await probe();
      const mine = got.filter((m) => {
        const cid = /^Call-ID: (.*)$/m.exec(m)?.[1]?.trim();
        return c.callId ? cid === c.callId : cid === undefined;
      }).filter((m) => !m.startsWith('SIP/2.0 100 '));
      const malformed = engine.stats().malformed - before;
      expected[c.name] = c.expect;
      if (c.expect === 'drop') results[c.name] = mine.length === 0 && malformed === 1 ? 'drop' : `got ${mine[0]?.split('\r\n')[0] ?? 'nothing'} (malformed +${malformed})`;
      else if (c.expect === 'parsed') results[c.name] = mine.length === 0 && malformed === 0 ? 'parsed' : `malformed +${malformed}`;
      else {
        const status = /^SIP\/2\.0 (\d{3})/.exec(mine[0] ?? '')?.[1] ?? 'nothing';
        const warn = Number(status) === 400 || status === '416' || status === '505' ? /\r\nWarning: 399 /.test(mine[0]!) : true;
        results[c.name] = warn ? status : `${status} without Warning`;
      }
    }
    expect(results).toEqual(expected);
    const s = engine.stats();
    expect(s.internalErrors).toBe(0);
    expect(s.rejected).toBeGreaterThanOrEqual(15);
    expect(Object.values(s.dropped).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5);
  });

  it('survives the corpus over TCP (one connection per case) and leaves no transactions behind', async () => {
    for (const c of load(`${PEER}:5060`)) {
      const s = net.connect({ host: ENGINE, port: tcpPort(), localAddress: PEER });
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      await new Promise((r) => s.once('connect', r));
      s.write(c.text);
      await new Promise((r) => setTimeout(r, 5));
      s.destroy();
    }
    await probe();
    await until(() => engine.stats().tcpConnections === 0, 3000, 'connections closed');
    await until(() => engine.stats().serverTransactions === 0 && engine.stats().clientTransactions === 0, 5000, 'transactions to end');
    expect(engine.stats()).toMatchObject({ internalErrors: 0, dialogs: 0 });
  });
});
