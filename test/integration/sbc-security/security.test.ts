/**
 * The SBC firewall against real tools on 127.0.7.0/24: sipvicious svmap/svwar/svcrack, a sipp flood beside
 * legitimate sipp calls, lists and policies changed in the table while the SBC runs, CAC and emergency bypass.
 * Figures (time to ban, success ratio) are printed as `FIGURE …` lines and recorded in docs/security.md.
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, requires } from '../../support/requires.js';
import { SCANNER_USER_AGENTS } from '../../../runtime/sbc/security/config.js';
import { CARRIER_IP, DOMAIN, ENGINE_IP, PASSWORDS, PHONE_IP, SBC, TENANT, UAS_IP, metric, sipp, sipvicious, startBed, type Bed } from './bed.js';

const run = requires('sipp', hasCommand('sipp'), 'sipp (Debian sip-tester) not installed')
  && requires('rtpengine', hasCommand('rtpengine'), 'rtpengine (Debian rtpengine-daemon) not installed')
  && requires('sipvicious', hasCommand('svmap') && hasCommand('svwar') && hasCommand('svcrack'), 'sipvicious not installed');

const until = async (cond: () => boolean | Promise<boolean>, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.runIf(run)('SBC firewall with real traffic', () => {
  let bed: Bed;
  const fw = () => bed.sbc.security.firewall;
  const register = (o: { ip: string; port: number; password: string; status: number }) =>
    sipp('sbc:uac-register.xml', [SBC, '-i', o.ip, '-p', String(o.port), '-m', '1', '-timeout', '10s'],
      { USER: 'alice', DOMAIN, CONTACT: 'alice', EXPIRES: '120', STATUS: String(o.status), PASSWORD: o.password }).done;

  beforeAll(async () => {
    bed = await startBed({
      banSeconds: 3, maxBanSeconds: 60, lockSeconds: 12, windowSeconds: 30, listCacheSeconds: 1,
      rates: { INVITE: { perSecond: 20, burst: 40 }, REGISTER: { perSecond: 200, burst: 400 }, OPTIONS: { perSecond: 5, burst: 10 }, other: { perSecond: 20, burst: 40 } },
      rateViolationsToBan: 20, unknownUsersToBan: 10, authFailuresPerUser: 5, authFailuresPerSource: 10,
      emergencyNumbers: ['911', '112'],
    });
  }, 60_000);
  afterAll(async () => {
    await bed?.close();
  });

  it('svmap (friendly-scanner) is banned at its first request and finds nothing', async () => {
    const t0 = Date.now();
    const svmap = sipvicious('svmap', ['-b', '127.0.7.20', '-P', '5090', '-p', '5060', ENGINE_IP]);
    await until(() => fw().isBanned('127.0.7.20'), 10_000, 'svmap ban');
    const timeToBan = Date.now() - t0;
    const r = await svmap.done;
    const dropped = await metric(bed.controlUrl, 'security_dropped_total{reason="scanner"}');
    console.log(`FIGURE svmap: banned ${timeToBan} ms after start (process start included), requests before ban: ${dropped}`);
    expect(dropped).toBeLessThanOrEqual(20);
    expect(r.output).not.toMatch(/127\.0\.7\.3:5060\s*\|/);
  }, 30_000);

  it('svwar enumerates 0 users although alice and bob exist (signatures off: behaviour only)', async () => {
    fw().config.scannerSignatures = [];
    const dir = mkdtempSync(path.join(tmpdir(), 'svwar-'));
    const dict = path.join(dir, 'users.txt');
    writeFileSync(dict, ['alice', 'bob', ...Array.from({ length: 48 }, (_, i) => `user${i}`)].join('\n') + '\n');
    const challengedBefore = bed.sbc.metrics.registrations.get({ result: 'challenged' });
    const r = await sipvicious('svwar', ['-b', '127.0.7.22', '-P', '5092', '--domain', DOMAIN, '-d', dict, '-m', 'REGISTER', '--force', '--maximumtime', '3', `udp://${SBC}`]).done;
    console.log(`FIGURE svwar: output\n${r.output.slice(-600)}`);
    expect(bed.sbc.metrics.registrations.get({ result: 'challenged' })).toBeGreaterThan(challengedBefore); // it did get answers
    expect(r.output).not.toMatch(/\|\s*(alice|bob)\s*\|/);
  }, 60_000);

  it('svcrack finds 0 passwords in 1,000 tries, locks the user; the right password fails until the lock expires', async () => {
    fw().config.scannerSignatures = [];
    const dir = mkdtempSync(path.join(tmpdir(), 'svcrack-'));
    const dict = path.join(dir, 'passwords.txt');
    writeFileSync(dict, Array.from({ length: 1000 }, (_, i) => `wrong-${i}-pw`).join('\n') + '\n');
    const lockBefore = await metric(bed.controlUrl, 'security_lockouts_total');
    const t0 = Date.now();
    const crack = sipvicious('svcrack', ['-b', '127.0.7.23', '-P', '5093', '--domain', DOMAIN, '-u', 'alice', '-d', dict, '--maximumtime', '3', `udp://${SBC}`]);
    await until(() => fw().isLocked(`${DOMAIN}|alice`), 20_000, 'lockout');
    const lockMs = Date.now() - t0;
    // svcrack 0.3.3 sends from 127.0.0.1 whatever -b says (seen in the SBC's logs): take the banned source from the list.
    await until(() => fw().listBans().some((b) => b.reason === 'auth-failures'), 20_000, 'svcrack source ban');
    const failures = await metric(bed.controlUrl, 'security_auth_failures_total');
    crack.kill();
    const r = await crack.done;
    console.log(`FIGURE svcrack: user locked after ${lockMs} ms, source banned after ${Date.now() - t0} ms, wrong digest responses answered: ${failures} (the other tries were dropped)`);
    expect(r.output).not.toMatch(/\|\s*alice\s*\|\s*\S+/);
    expect(await metric(bed.controlUrl, 'security_lockouts_total')).toBeGreaterThan(lockBefore);
    // The locked user with the right password: challenged as always, then the same 403 as a wrong password.
    const locked = await register({ ip: PHONE_IP, port: 5080, password: PASSWORDS.alice, status: 403 });
    expect(locked.code, locked.output).toBe(0);
    expect(locked.messages).toMatch(/WWW-Authenticate: Digest realm="127\.0\.7\.3"/);
    await until(() => !fw().isLocked(`${DOMAIN}|alice`), 20_000, 'unlock');
    const ok = await register({ ip: PHONE_IP, port: 5080, password: PASSWORDS.alice, status: 200 });
    expect(ok.code, ok.output).toBe(0);
    fw().config.scannerSignatures = [...SCANNER_USER_AGENTS];
  }, 60_000);

  it('an unknown user gets exactly the responses of a real one (401 then 403)', async () => {
    const a = await register({ ip: PHONE_IP, port: 5081, password: 'nope', status: 403 });
    const b = await sipp('sbc:uac-register.xml', [SBC, '-i', PHONE_IP, '-p', '5081', '-m', '1', '-timeout', '10s'],
      { USER: 'nobody', DOMAIN, CONTACT: 'x', EXPIRES: '120', STATUS: '403', PASSWORD: 'nope' }).done;
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    const shape = (m: string) => m.split('\n').filter((l) => /^SIP\/2\.0|^[A-Za-z-]+:/.test(l) && !/^(Via|From|To|Call-ID|CSeq|Contact|Expires|Max-Forwards|User-Agent|Content-Length|Authorization)/i.test(l))
      .map((l) => l.replace(/nonce="[^"]+"/, 'nonce=*').trim());
    expect(shape(b.messages)).toEqual(shape(a.messages));
  }, 30_000);

  it('flood: one source at 10× the normal rate is banned and later unbanned; ≥ 99 % of legitimate calls succeed', async () => {
    const calls = 60;
    const uas = sipp('sbc:uas-answer.xml', ['-i', UAS_IP, '-p', '5062', '-m', String(calls), '-timeout', '60s']);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const flood = sipp('flood.xml', [SBC, '-i', '127.0.7.21', '-p', '5091', '-r', '100', '-m', '1500', '-timeout', '30s'], { METHOD: 'INVITE' });
    const legit = sipp('sbc:uac-call.xml', [SBC, '-i', CARRIER_IP, '-p', '5061', '-r', '10', '-m', String(calls), '-l', '40', '-timeout', '60s'], { FROM: '+12125550100', TO: '+15550001', HOLD_MS: '300' });
    await until(() => fw().isBanned('127.0.7.21'), 10_000, 'flood ban');
    const banMs = Date.now() - t0;
    const [l] = await Promise.all([legit.done, uas.done]);
    flood.kill();
    const ok = Number(/Successful call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(l.output)?.[1] ?? 0);
    const ratio = ok / calls;
    console.log(`FIGURE flood: flooder banned after ${banMs} ms, legitimate calls ${ok}/${calls} (${(ratio * 100).toFixed(1)} %)`);
    expect(ratio).toBeGreaterThanOrEqual(0.99);
    await until(() => !fw().isBanned('127.0.7.21'), 10_000, 'unban');
    expect(await metric(bed.controlUrl, 'security_unbans_total{why="expired"}')).toBeGreaterThan(0);
  }, 90_000);

  it('tenant lists changed in the table apply without restart; CAC 503 names the limit; emergency bypasses it', async () => {
    await bed.security.putTenantLists(TENANT, { allowCidrs: [], blockCidrs: [], blockCallers: [], blockCallees: ['15550001'] });
    await new Promise((r) => setTimeout(r, 1100));
    let r = await sipp('sbc:uac-fail.xml', [SBC, '-i', CARRIER_IP, '-p', '5061', '-m', '1', '-timeout', '10s'], { FROM: '+12125550100', TO: '+15550001', STATUS: '403' }).done;
    expect(r.code, r.output).toBe(0);
    expect(r.messages).toMatch(/Reason: SIP;cause=403;text="called number blocked"/);
    await bed.security.putTenantLists(TENANT, { allowCidrs: [], blockCidrs: [], blockCallers: [], blockCallees: [] });
    await bed.security.putPolicy(TENANT, { allowedPrefixes: [], blockedPrefixes: [], usualPrefixes: [], maxConcurrent: 1 });
    await bed.repo.putNumber({ tenantId: TENANT, e164: '+1911', destination: { type: 'trunk', trunkId: bed.trunks.out! } });
    await new Promise((r2) => setTimeout(r2, 1100));
    const uas = sipp('sbc:uas-answer.xml', ['-i', UAS_IP, '-p', '5062', '-m', '2', '-timeout', '20s']);
    await new Promise((r2) => setTimeout(r2, 300));
    const held = sipp('sbc:uac-call.xml', [SBC, '-i', CARRIER_IP, '-p', '5061', '-m', '1', '-timeout', '15s'], { FROM: '+12125550100', TO: '+15550001', HOLD_MS: '3000' });
    await until(() => bed.sbc.security.calls.activeCalls(`tenant:${TENANT}`) === 1, 5000, 'first call');
    r = await sipp('sbc:uac-fail.xml', [SBC, '-i', CARRIER_IP, '-p', '5063', '-m', '1', '-timeout', '10s'], { FROM: '+12125550100', TO: '+15550001', STATUS: '503' }).done;
    expect(r.code, r.output).toBe(0);
    expect(r.messages).toMatch(/Reason: SIP;cause=503;text="tenant concurrent call limit"/);
    const em = await sipp('sbc:uac-call.xml', [SBC, '-i', CARRIER_IP, '-p', '5064', '-m', '1', '-timeout', '15s'], { FROM: '+12125550100', TO: '911', HOLD_MS: '200' }).done;
    expect(em.code, em.output).toBe(0);
    expect((await held.done).code).toBe(0);
    await uas.done;
    expect(await metric(bed.controlUrl, 'security_emergency_calls_total')).toBeGreaterThan(0);
  }, 60_000);
});
