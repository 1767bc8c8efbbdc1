import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requires } from '../../support/requires.js';
import type { DynamoSipRepository } from '../../../runtime/core/storage/sip.js';
import { ENGINE_IP, SIP_PORT, UAC_IP, UAS_IP, haveRtpengine, haveSipp, seed, sipp, startBed, until, waitForBound, TENANT, type Bed } from './harness.js';

const run = requires('sipp', haveSipp, 'sipp (Debian sip-tester) not installed')
  && requires('rtpengine', haveRtpengine, 'rtpengine (Debian rtpengine-daemon) not installed');
const SBC = `${ENGINE_IP}:${SIP_PORT}`;

describe.runIf(run)('SBC calls: sipp → SBC (rtpengine) → sipp', () => {
  let bed: Bed;
  let trunks: Record<string, string>;
  /** Points trunk "main" at a fresh UAS port per test: late retransmissions from a previous test's sipp never hit the next one. */
  const mainGateway = (port: number) =>
    bed.repo.updateTrunk(TENANT, trunks.main!, { gateways: [{ id: 'gw-main', host: UAS_IP, port, transport: 'udp', priority: 1, cost: 1 }] });

  beforeAll(async () => {
    bed = await startBed();
    trunks = await seed(bed.repo);
  });
  afterAll(async () => {
    await bed?.close();
  });

  const uac = (scenario: string, vars: Record<string, string>, extra: string[] = []) =>
    sipp(scenario, [SBC, '-i', UAC_IP, '-p', '5061', '-m', '1', '-timeout', '20s', ...extra], { FROM: '+12125550100', HOLD_MS: '1500', ...vars });
  const uas = async (scenario: string, port: number, vars: Record<string, string> = {}, extra: string[] = []) => {
    const s = sipp(scenario, ['-i', UAS_IP, '-p', String(port), '-m', '1', '-timeout', '20s', ...extra], vars);
    await waitForBound('udp', UAS_IP, port);
    return s;
  };
  const noCallsLeft = () => until(() => bed.sbc.activeCalls().length === 0 && bed.engine.stats().dialogs === 0, 5000, 'calls and dialogs to end');

  it('carries a basic call with RTP relayed by rtpengine both ways, and hides the topology', async () => {
    const callee = await uas('uas-answer.xml', 5062, {}, ['-rtp_echo']);
    const caller = uac('uac-call.xml', { TO: '+15550001' });
    // While the call is up, rtpengine shows packets from both legs (the UAS echoes what the SBC relayed).
    let packets: Record<string, number> = {};
    await until(async () => {
      const call = bed.sbc.activeCalls()[0];
      const q = call?.state === 'answered' ? await call.media.query() : undefined;
      if (q) packets = q.packets;
      return (packets['a-leg'] ?? 0) >= 20 && (packets['b-leg'] ?? 0) >= 20;
    }, 10_000, 'RTP through rtpengine');
    const [a, b] = await Promise.all([caller.done, callee.done]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    // Topology hiding: the callee never sees the caller's Call-ID, address or internal headers, and vice versa.
    const callerCallId = /Call-ID: (\S+)/.exec(a.messages)![1]!;
    const calleeCallId = /Call-ID: (\S+)/.exec(b.messages)![1]!;
    expect(callerCallId).not.toBe(calleeCallId);
    expect(b.messages).not.toContain(callerCallId);
    expect(b.messages).not.toContain(UAC_IP);
    expect(b.messages).not.toMatch(/X-Internal-Secret|InternalPBX/);
    expect(b.messages).toContain('X-Carrier-Account: acct-42'); // trunk header rule
    expect(b.messages).toMatch(/Session-Expires: 1800/); // session timer headers pass through
    expect(b.messages).toMatch(/INVITE sip:\+15550001@127\.0\.3\.2:5062/);
    expect(a.messages).not.toContain(calleeCallId);
    expect(a.messages).not.toContain(UAS_IP);
    expect(a.messages).not.toMatch(/CarrierSwitch/);
    expect(a.messages).toMatch(/SIP\/2\.0 200 OK[\s\S]*Session-Expires: 1800;refresher=uac/); // passed back
    // SDP on both sides points at rtpengine, not at the other party.
    expect(a.messages).toMatch(/c=IN IP4 127\.0\.3\.9/);
    expect(b.messages).toMatch(/c=IN IP4 127\.0\.3\.9/);
    await noCallsLeft();
  });

  it('passes 486 back and does not fail over on it', async () => {
    const busy = await uas('uas-status.xml', 5065, { STATUS: '486' });
    const second = await uas('uas-answer.xml', 5066);
    const caller = uac('uac-fail.xml', { TO: '+15550005', STATUS: '486' });
    const [a, b] = await Promise.all([caller.done, busy.done]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    expect(second.proc.exitCode).toBeNull(); // never called
    second.kill();
    await noCallsLeft();
  });

  it('fails over to the next gateway on 503', async () => {
    const broken = await uas('uas-status.xml', 5063, { STATUS: '503' });
    const good = await uas('uas-answer.xml', 5064);
    const caller = uac('uac-call.xml', { TO: '+15550002', HOLD_MS: '200' });
    const [a, b, c] = await Promise.all([caller.done, broken.done, good.done]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    expect(c.code, c.output).toBe(0);
    expect(bed.sbc.metrics.gatewayFailovers.get()).toBeGreaterThanOrEqual(1);
    await noCallsLeft();
  });

  it('fails over on a gateway timeout and answers 504 when every gateway is silent', async () => {
    // Nothing listens on :5063/:5064: both attempts time out (1.5 s each in the test config).
    const caller = uac('uac-fail.xml', { TO: '+15550002', STATUS: '504' });
    const a = await caller.done;
    expect(a.code, a.output).toBe(0);
    expect(a.messages).toMatch(/Reason: SIP;cause=504;text="all gateways timed out"/);
    await noCallsLeft();
  });

  it('relays CANCEL to the callee', async () => {
    await mainGateway(5067);
    const callee = await uas('uas-ring.xml', 5067);
    const caller = uac('uac-cancel.xml', { TO: '+15550001' });
    const [a, b] = await Promise.all([caller.done, callee.done]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    await noCallsLeft();
  });

  it('gives up after the ring timeout with 480 and cancels the callee', async () => {
    await mainGateway(5068);
    const callee = await uas('uas-ring.xml', 5068);
    const caller = uac('uac-fail.xml', { TO: '+15550001', STATUS: '480' });
    const [a, b] = await Promise.all([caller.done, callee.done]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    await noCallsLeft();
  });

  it('relays hold/resume re-INVITEs and INFO', async () => {
    await mainGateway(5069);
    const callee = await uas('uas-indialog.xml', 5069);
    const caller = uac('uac-reinvite.xml', { TO: '+15550001' });
    const [a, b] = await Promise.all([caller.done, callee.done]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    await noCallsLeft();
  });

  it('turns SIP INFO DTMF into RFC 2833 toward a callee that negotiated telephone-event', async () => {
    await mainGateway(5073);
    const before = bed.sbc.metrics.dtmfConverted.get();
    // The callee fails on any INFO: the digit must reach it as RTP events injected by rtpengine.
    const callee = await uas('uas-answer-te.xml', 5073, {}, ['-rtp_echo']);
    const caller = uac('uac-info.xml', { TO: '+15550001', HOLD_MS: '300' });
    const [a, b] = await Promise.all([caller.done, callee.done]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    expect(bed.sbc.metrics.dtmfConverted.get()).toBe(before + 1);
    await noCallsLeft();
  });

  it('handles a BYE right after the ACK (both legs end)', async () => {
    await mainGateway(5070);
    const callee = await uas('uas-answer.xml', 5070);
    const caller = uac('uac-bye-after-ack.xml', { TO: '+15550001' });
    const [a, b] = await Promise.all([caller.done, callee.done]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    await noCallsLeft();
  });

  it('performs a blind transfer (REFER) from the callee to another number', async () => {
    await mainGateway(5071);
    const referrer = await uas('uas-refer.xml', 5071, { REFER_TO: '+442000000' });
    const target = await uas('uas-answer.xml', 5072, {}, ['-rtp_echo']);
    const caller = uac('uac-transferee.xml', { TO: '+15550001', HOLD_MS: '1200' });
    // The transferred caller's RTP reaches the target (rtpengine counts the target's echo on its new tag).
    await until(async () => {
      const q = await bed.sbc.activeCalls()[0]?.media.query();
      return Object.entries(q?.packets ?? {}).some(([tag, n]) => tag.startsWith('t') && n >= 10);
    }, 10_000, 'RTP between the caller and the transfer target');
    const [a, r, t] = await Promise.all([caller.done, referrer.done, target.done]);
    expect(r.code, r.output).toBe(0);
    expect(a.code, a.output).toBe(0);
    expect(t.code, t.output).toBe(0);
    expect(t.messages).toMatch(/INVITE sip:442000000@127\.0\.3\.2:5072/); // e164-no-plus trunk format
    await noCallsLeft();
  });

  it('answers 480 for a number routed to a WebRTC identity (no gateway yet) and 404 for unknown numbers', async () => {
    const a = await uac('uac-fail.xml', { TO: '+15550004', STATUS: '480' }).done;
    expect(a.code, a.output).toBe(0);
    const b = await uac('uac-fail.xml', { TO: '+15559999', STATUS: '404' }).done;
    expect(b.code, b.output).toBe(0);
    await noCallsLeft();
  });

  it('wrote call records with status, trunk, gateway and duration', async () => {
    await bed.sbc.cdr.flush();
    const page = await (bed.repo as DynamoSipRepository).listCalls(TENANT, {}, 100);
    const calls = page.items as Array<{ state: string; sip?: { sipStatus?: number; trunkId?: string; gatewayId?: string }; durationSeconds?: number; endReason?: string }>;
    expect(calls.length).toBeGreaterThanOrEqual(10);
    expect(calls.every((c) => c.state === 'ended')).toBe(true);
    expect(calls.some((c) => c.sip?.sipStatus === 486 && c.endReason === 'busy')).toBe(true);
    expect(calls.some((c) => c.sip?.gatewayId === 'gw-b' && c.sip.sipStatus === 200 && (c.durationSeconds ?? 0) > 0)).toBe(true);
    expect(calls.some((c) => c.endReason === 'cancelled')).toBe(true);
    const status = await (await fetch(`${bed.controlUrl}/v1/status`)).json() as { activeCalls: number; mediaNodes: unknown[] };
    expect(status.activeCalls).toBe(0);
    expect(status.mediaNodes).toHaveLength(1);
    const metrics = await (await fetch(`${bed.controlUrl}/metrics`)).text();
    expect(metrics).toMatch(/calls_started_total \d+/);
    expect(metrics).toMatch(/calls_failed_total \d+/);
    // Every path above (answered, busy, failover, timeouts, CANCEL, transfer, race) released its rtpengine call.
    expect(await bed.agentNode.activeSessions()).toBe(0);
  });
});
