/**
 * The engine's forget timer: a server transaction the application never answers (the SBC firewall's silent
 * drop) is forgotten after `unansweredInviteMs` (INVITE) or 64·T1 (other methods); a late answer gets NOK.
 * Engine on 127.0.2.3 (harness), raw UDP client on 127.0.2.1.
 */
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Srf from 'drachtio-srf';
import type { SipEngine } from '../../../runtime/sip-engine/index.js';
import { ENGINE_IP, UAC_IP, connectSrf, sipPort, startEngine } from './harness.js';

describe('sip engine: forget timer for unanswered server transactions', () => {
  let engine: SipEngine;
  let srf: Srf;
  let sock: dgram.Socket;
  const held: Srf.SrfResponse[] = [];
  const got: string[] = [];

  beforeAll(async () => {
    engine = await startEngine({ timers: { t1: 20, t2: 160, t4: 200 }, unansweredInviteMs: 400 });
    srf = await connectSrf(engine);
    srf.use((req, res) => {
      if (req.get('Subject') !== 'answer') held.push(res); // dropped: never answered
      else res.send(180);
    });
    srf.invite(() => undefined);
    (srf as unknown as { options(cb: () => void): void }).options(() => undefined);
    sock = dgram.createSocket('udp4');
    sock.on('message', (m) => got.push(m.toString()));
    await new Promise<void>((r) => sock.bind(0, UAC_IP, () => r()));
  });
  afterAll(async () => {
    sock.close();
    srf.disconnect();
    await engine.close();
  });

  const send = (method: string, id: string, subject = 'drop') => sock.send(Buffer.from(
    `${method} sip:x@${ENGINE_IP} SIP/2.0\r\nVia: SIP/2.0/UDP ${UAC_IP}:${sock.address().port};branch=z9hG4bK-${id}\r\nMax-Forwards: 70\r\n` +
    `From: <sip:a@${UAC_IP}>;tag=${id}\r\nTo: <sip:x@${ENGINE_IP}>\r\nCall-ID: ${id}\r\nCSeq: 1 ${method}\r\nSubject: ${subject}\r\n` +
    `Contact: <sip:a@${UAC_IP}:${sock.address().port}>\r\nContent-Length: 0\r\n\r\n`), sipPort(engine, 'udp'), ENGINE_IP);

  it('forgets dropped INVITE and OPTIONS transactions, keeps answered ones; late answers are refused', async () => {
    for (let i = 0; i < 20; i++) send('INVITE', `inv-${i}`);
    for (let i = 0; i < 20; i++) send('OPTIONS', `opt-${i}`);
    send('INVITE', 'inv-answered', 'answer');
    await new Promise((r) => setTimeout(r, 250));
    expect(engine.stats().serverTransactions).toBeGreaterThanOrEqual(41);
    const dropped = () => engine.stats().dropped.unanswered ?? 0;
    const end = Date.now() + 5000;
    while (dropped() < 40 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(dropped()).toBe(40);
    expect(engine.stats().serverTransactions).toBe(1); // the one that got 180 stays (the app owns it)
    expect(got.filter((m) => m.startsWith('SIP/2.0 100')).length).toBeGreaterThanOrEqual(20);
    expect(got.some((m) => /^SIP\/2\.0 [2-6]\d\d/.test(m) && !m.includes('inv-answered'))).toBe(false);
    // a late final answer from the app is refused by the engine (srf reports the error), nothing is sent
    const late = held[0]!;
    await new Promise<void>((resolve) => {
      try {
        late.send(486, (err: unknown) => {
          expect(err).toBeTruthy();
          resolve();
        });
      } catch {
        resolve();
      }
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(got.some((m) => m.startsWith('SIP/2.0 486'))).toBe(false);
  }, 20_000);
});
