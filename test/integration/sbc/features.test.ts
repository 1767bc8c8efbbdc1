/**
 * SBC features beyond the basic call flow: RFC 2833 → SIP INFO (rtpengine's DTMF log), parallel forking to every
 * binding of a SIP user (first 2xx wins, the rest CANCELled; all busy → 486; mixed → best response).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requires } from '../../support/requires.js';
import { DOMAIN, ENGINE_IP, PASSWORDS, SIP_PORT, TENANT, UAC_IP, UAS_IP, haveRtpengine, haveSipp, seed, sipp, startBed, until, waitForBound, type Bed } from './harness.js';
import { existsSync } from 'node:fs';

const run = requires('sipp', haveSipp, 'sipp (Debian sip-tester) not installed')
  && requires('rtpengine', haveRtpengine, 'rtpengine (Debian rtpengine-daemon) not installed')
  && requires('sipp dtmf pcaps', existsSync('/usr/share/sip-tester/dtmf_2833_5.pcap'), 'sipp (sip-tester) without /usr/share/sip-tester/dtmf_2833_5.pcap');
const SBC = `${ENGINE_IP}:${SIP_PORT}`;
const PHONE_IP = '127.0.3.4';
const PHONE2_IP = '127.0.3.5';

describe.runIf(run)('SBC features: RFC 2833 → INFO, parallel forking', () => {
  let bed: Bed;
  let trunks: Record<string, string>;

  beforeAll(async () => {
    bed = await startBed();
    trunks = await seed(bed.repo);
  });
  afterAll(async () => {
    await bed?.close();
  });

  const uac = (scenario: string, vars: Record<string, string>, extra: string[] = []) =>
    sipp(scenario, [SBC, '-i', UAC_IP, '-p', '5061', '-m', '1', '-timeout', '20s', ...extra], { FROM: '+12125550100', HOLD_MS: '1500', ...vars });
  const uas = async (scenario: string, ip: string, port: number, vars: Record<string, string> = {}, extra: string[] = []) => {
    const s = sipp(scenario, ['-i', ip, '-p', String(port), '-m', '1', '-timeout', '20s', ...extra], vars);
    try {
      await waitForBound('udp', ip, port);
    } catch (err) {
      s.kill();
      throw new Error(`${String(err)}\n${(await s.done).output}`);
    }
    return s;
  };
  const register = async (ip: string, port: number, contact: string) => {
    const r = await sipp('uac-register.xml', [SBC, '-i', ip, '-p', String(port), '-m', '1', '-timeout', '10s'], {
      USER: 'alice', DOMAIN, CONTACT: contact, EXPIRES: '300', STATUS: '200', PASSWORD: PASSWORDS.alice,
    }).done;
    expect(r.code, r.output).toBe(0);
  };
  const noCallsLeft = () => until(() => bed.sbc.activeCalls().length === 0 && bed.engine.stats().dialogs === 0, 8000, 'calls and dialogs to end');
  const counter = async (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${bed.controlUrl}/metrics`)).text())?.[1] ?? 0);

  it('sends RFC 2833 digits as SIP INFO to a callee without telephone-event', async () => {
    await bed.repo.updateTrunk(TENANT, trunks.main!, { gateways: [{ id: 'gw-main', host: UAS_IP, port: 5074, transport: 'udp', priority: 1, cost: 1 }] });
    const before = await counter('dtmf_rfc2833_to_info_total');
    const callee = await uas('uas-expect-info.xml', UAS_IP, 5074, { DIGIT: '5' });
    const caller = uac('uac-dtmf2833.xml', { TO: '+15550001', HOLD_MS: '1500' });
    const [a, b] = await Promise.all([caller.done, callee.done]);
    expect(b.code, b.output).toBe(0);
    expect(a.code, a.output).toBe(0);
    expect(b.messages).toMatch(/INFO sip:[\s\S]*Content-Type: application\/dtmf-relay[\s\S]*Signal=5\r?\nDuration=\d+/);
    expect(await counter('dtmf_rfc2833_to_info_total')).toBe(before + 1);
    await noCallsLeft();
  });

  it('rings every binding of a user at once: the first 200 wins, the other binding gets CANCEL', async () => {
    await register(PHONE_IP, 5080, 'alice-desk');
    await register(PHONE2_IP, 5081, 'alice-mobile');
    expect(await bed.repo.registrations(TENANT, 'alice')).toHaveLength(2);
    const ringer = await uas('uas-ring.xml', PHONE_IP, 5080);
    const answerer = await uas('uas-answer.xml', PHONE2_IP, 5081, {}, ['-d', '0']);
    const t0 = Date.now();
    // uac-call.xml accepts exactly one 200 (a second 200 would be an unexpected message: sipp fails).
    const caller = uac('uac-call.xml', { TO: '+15550003', HOLD_MS: '500' });
    const [a, r, w] = await Promise.all([caller.done, ringer.done, answerer.done]);
    expect(a.code, a.output).toBe(0);
    expect(r.code, r.output).toBe(0); // INVITE, 180, CANCEL → 200 + 487, ACK
    expect(w.code, w.output).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000); // parallel, not one after the other (ring timeout 3 s)
    expect(r.messages).toMatch(/INVITE sip:alice-desk@127\.0\.3\.4:5080/);
    expect(w.messages).toMatch(/INVITE sip:alice-mobile@127\.0\.3\.5:5081/);
    expect(a.messages.match(/SIP\/2\.0 200 OK/g)?.length).toBe(2); // one 200 to the INVITE, one to the BYE
    await noCallsLeft();
  });

  it('answers 486 when every binding is busy, and the best response when they differ', async () => {
    // Fresh ports per case: late retransmissions for an earlier case's phone never reach the next one.
    const bindings = async (p1: number, p2: number) => {
      for (const r of await bed.repo.registrations(TENANT, 'alice')) await bed.repo.removeRegistration(TENANT, 'alice', r.contactId);
      await register(PHONE_IP, p1, 'alice-desk');
      await register(PHONE2_IP, p2, 'alice-mobile');
    };
    await bindings(5082, 5083);
    let p1 = await uas('uas-status.xml', PHONE_IP, 5082, { STATUS: '486' });
    let p2 = await uas('uas-status.xml', PHONE2_IP, 5083, { STATUS: '486' });
    let a = await uac('uac-fail.xml', { TO: '+15550003', STATUS: '486' }).done;
    expect(a.code, a.output).toBe(0);
    expect((await p1.done).code).toBe(0);
    expect((await p2.done).code).toBe(0);
    await bindings(5084, 5085);
    p1 = await uas('uas-status.xml', PHONE_IP, 5084, { STATUS: '503' });
    p2 = await uas('uas-status.xml', PHONE2_IP, 5085, { STATUS: '486' });
    a = await uac('uac-fail.xml', { TO: '+15550003', STATUS: '486' }).done; // 486 beats 503
    expect(a.code, a.output).toBe(0);
    expect((await p1.done).code).toBe(0);
    expect((await p2.done).code).toBe(0);
    await noCallsLeft();
  });
});
