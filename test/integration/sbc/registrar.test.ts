import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requires } from '../../support/requires.js';
import { DOMAIN, ENGINE_IP, PASSWORDS, SIP_PORT, TENANT, UAC_IP, UAS_IP, haveRtpengine, haveSipp, seed, sipp, startBed, until, waitForBound, type Bed } from './harness.js';

const run = requires('sipp', haveSipp, 'sipp (Debian sip-tester) not installed')
  && requires('rtpengine', haveRtpengine, 'rtpengine (Debian rtpengine-daemon) not installed');
const SBC = `${ENGINE_IP}:${SIP_PORT}`;
const PHONE_IP = '127.0.3.4';
const PHONE2_IP = '127.0.3.5';

describe.runIf(run)('SBC registrar, device auth, OPTIONS and gateway health', () => {
  let bed: Bed;
  let trunks: Record<string, string>;

  beforeAll(async () => {
    bed = await startBed();
    trunks = await seed(bed.repo);
  });
  afterAll(async () => {
    await bed?.close();
  });

  const register = (o: { ip: string; port: number; user?: string; contact: string; expires: number; status?: number; password?: string }) =>
    sipp('uac-register.xml', [SBC, '-i', o.ip, '-p', String(o.port), '-m', '1', '-timeout', '10s'], {
      USER: o.user ?? 'alice', DOMAIN, CONTACT: o.contact, EXPIRES: String(o.expires), STATUS: String(o.status ?? 200),
      PASSWORD: o.password ?? PASSWORDS.alice,
    }).done;

  it('answers OPTIONS', async () => {
    const r = await sipp('uac-options.xml', [SBC, '-i', UAC_IP, '-p', '5061', '-m', '1', '-timeout', '10s']).done;
    expect(r.code, r.output).toBe(0);
  });

  it('registers with digest, keeps several contacts, refuses short expiry and bad passwords, unregisters', async () => {
    let r = await register({ ip: PHONE_IP, port: 5080, contact: 'alice-desk', expires: 120 });
    expect(r.code, r.output).toBe(0);
    expect(r.messages).toMatch(/WWW-Authenticate: Digest realm="acme\.sip\.test"/);
    expect(r.messages).toMatch(/Contact: <sip:alice-desk@127\.0\.3\.4:5080>;expires=(119|120)/);
    r = await register({ ip: PHONE2_IP, port: 5081, contact: 'alice-mobile', expires: 300 });
    expect(r.code, r.output).toBe(0);
    let regs = await bed.repo.registrations(TENANT, 'alice');
    expect(regs.map((x) => x.contact).sort()).toEqual(['sip:alice-desk@127.0.3.4:5080', 'sip:alice-mobile@127.0.3.5:5081']);
    expect(regs.find((x) => x.contact.includes('desk'))!.source).toEqual({ address: PHONE_IP, port: 5080, transport: 'udp' });
    r = await register({ ip: PHONE2_IP, port: 5081, contact: 'alice-mobile', expires: 10, status: 423 });
    expect(r.code, r.output).toBe(0);
    expect(r.messages).toMatch(/Min-Expires: 30/);
    r = await register({ ip: PHONE2_IP, port: 5081, contact: 'alice-mobile', expires: 120, status: 403, password: 'wrong-password' });
    expect(r.code, r.output).toBe(0);
    r = await register({ ip: PHONE2_IP, port: 5081, contact: 'alice-mobile', expires: 0 });
    expect(r.code, r.output).toBe(0);
    regs = await bed.repo.registrations(TENANT, 'alice');
    expect(regs.map((x) => x.contact)).toEqual(['sip:alice-desk@127.0.3.4:5080']);
  });

  it('routes a carrier call for a number to the registered device at its source address', async () => {
    const phone = sipp('uas-answer.xml', ['-i', PHONE_IP, '-p', '5080', '-m', '1', '-timeout', '15s']);
    await waitForBound('udp', PHONE_IP, 5080);
    const caller = sipp('uac-call.xml', [SBC, '-i', UAC_IP, '-p', '5061', '-m', '1', '-timeout', '15s'], { FROM: '+12125550100', TO: '+15550003', HOLD_MS: '200' });
    const [a, b] = await Promise.all([caller.done, phone.done]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    expect(b.messages).toMatch(/INVITE sip:alice-desk@127\.0\.3\.4:5080 SIP\/2\.0/);
    expect(b.messages).toMatch(/From: <sip:\+12125550100@127\.0\.3\.3:5060>/);
  });

  it('challenges a device call (407) and connects it after digest', async () => {
    const phone = sipp('uas-answer.xml', ['-i', PHONE_IP, '-p', '5080', '-m', '1', '-timeout', '15s']);
    await waitForBound('udp', PHONE_IP, 5080);
    const bob = sipp('uac-digest.xml', [SBC, '-i', PHONE2_IP, '-p', '5082', '-m', '1', '-timeout', '15s'],
      { USER: 'bob', PASSWORD: PASSWORDS.bob, DOMAIN, TO: 'alice', HOLD_MS: '200' });
    const [a, b] = await Promise.all([bob.done, phone.done]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    expect(a.messages).toMatch(/Proxy-Authenticate: Digest realm="acme\.sip\.test"/);
    expect(b.messages).toMatch(/From: <sip:bob@127\.0\.3\.3:5060>/);
    await until(() => bed.sbc.activeCalls().length === 0, 5000, 'calls to end');
  });

  it('refuses unknown sources and answers 480 for a user without bindings', async () => {
    const r = await sipp('uac-fail.xml', [SBC, '-i', '127.0.3.6', '-p', '5061', '-m', '1', '-timeout', '10s'], { FROM: '+12125550100', TO: '+15550001', STATUS: '403' }).done;
    expect(r.code, r.output).toBe(0);
    await bed.repo.removeRegistration(TENANT, 'alice', (await bed.repo.registrations(TENANT, 'alice'))[0]!.contactId);
    const r2 = await sipp('uac-fail.xml', [SBC, '-i', UAC_IP, '-p', '5061', '-m', '1', '-timeout', '10s'], { FROM: '+12125550100', TO: '+15550003', STATUS: '480' }).done;
    expect(r2.code, r2.output).toBe(0);
  });

  it('takes a gateway out when OPTIONS go unanswered and puts it back when it answers', async () => {
    bed.sbc.health.track(TENANT);
    await bed.sbc.health.runOnce();
    const down = (await bed.repo.gatewayHealth(TENANT)).find((h) => h.trunkId === trunks.failover && h.gatewayId === 'gw-a');
    expect(down?.status).toBe('down');
    const gw = sipp('uas-answer.xml', ['-i', UAS_IP, '-p', '5063', '-m', '1', '-aa', '-timeout', '10s']);
    await waitForBound('udp', UAS_IP, 5063);
    await bed.sbc.health.runOnce();
    const up = (await bed.repo.gatewayHealth(TENANT)).find((h) => h.trunkId === trunks.failover && h.gatewayId === 'gw-a');
    expect(up?.status).toBe('up');
    gw.kill();
  });
});
