import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Srf from 'drachtio-srf';
import type { SipEngine } from '../../../runtime/sip-engine/index.js';
import {
  ENGINE_IP, SCENARIOS, UAC_IP, UAS_IP, connectSrf, haveSipp, killAllSipp, sipPort, sipp, startEngine, until, waitForBound,
} from './harness.js';
import { requires } from '../../support/requires.js';

const run = requires('sipp', haveSipp, 'sipp (Debian sip-tester) not installed');

describe.runIf(run)('sip engine: srf createB2BUA carries sipp calls', () => {
  let engine: SipEngine;
  let srf: Srf;
  const cdrs: string[] = [];

  beforeAll(async () => {
    engine = await startEngine();
    srf = await connectSrf(engine, undefined, (s) => {
      s.on('cdr:attempt', () => cdrs.push('attempt'));
      s.on('cdr:start', (_src, _t, role) => cdrs.push(`start:${role}`));
      s.on('cdr:stop', (_src, _t, reason) => cdrs.push(`stop:${reason}`));
    });
    srf.invite(async (req, res) => {
      const uri = req.uri.includes('transport=tcp') || req.protocol === 'tcp'
        ? `sip:callee@${UAS_IP}:5072;transport=tcp` : `sip:callee@${UAS_IP}:5062`;
      try {
        const { uas, uac } = await srf.createB2BUA(req, res, uri, { localSdpB: req.body });
        // FACTS 7.3: a BYE may already have been handled before this line runs.
        const link = (a: Srf.Dialog, b: Srf.Dialog): void => {
          a.on('destroy', () => { if (b.connected) void b.destroy(); });
          if (!a.connected && b.connected) void b.destroy();
        };
        link(uas, uac);
        link(uac, uas);
      } catch (err) {
        if (!res.finalResponseSent) res.send(500);
        void err;
      }
    });
  });

  afterAll(async () => {
    killAllSipp();
    srf?.disconnect();
    await engine?.close();
  });

  async function calls(transport: 'udp' | 'tcp', count: number, duration: number): Promise<void> {
    const t = transport === 'tcp' ? ['-t', 't1'] : [];
    const uasPort = transport === 'tcp' ? 5072 : 5062;
    const uas = sipp(['-sf', `${SCENARIOS}/uas.xml`, '-i', UAS_IP, '-p', String(uasPort), ...t, '-m', String(count)]);
    try {
      await waitForBound(transport, UAS_IP, uasPort);
      const uac = sipp(['-sn', 'uac', `${ENGINE_IP}:${sipPort(engine, transport)}`, '-i', UAC_IP, '-p', '5061', ...t,
        '-s', transport === 'tcp' ? 'callee;transport=tcp' : 'callee',
        '-r', '20', '-m', String(count), '-d', String(duration), '-timeout', '20s', '-max_socket', '100']);
      const result = await uac.done;
      expect(result.code, result.output).toBe(0);
      const uasResult = await uas.done;
      expect(uasResult.code, uasResult.output).toBe(0);
    } finally {
      uas.kill();
    }
    await until(() => engine.stats().dialogs === 0, 3000, 'dialogs to drain');
  }

  it('authenticates and routes invite', () => {
    expect(engine.stats().applications).toBe(1);
  });

  it('UDP: 10 calls, BYE from the caller reaches the callee, no dialogs left', async () => {
    await calls('udp', 10, 200);
    expect(engine.stats().dialogs).toBe(0);
  });

  it('TCP: 10 calls over TCP on both legs', async () => {
    await calls('tcp', 10, 200);
    expect(engine.stats().dialogs).toBe(0);
  });

  it('BYE right after ACK (sipp built-in uac, -d 0) still tears down the B leg', async () => {
    await calls('udp', 5, 0);
    expect(engine.stats().dialogs).toBe(0);
  });

  it('emitted cdr events', () => {
    expect(cdrs).toContain('attempt');
    expect(cdrs).toContain('start:uas');
    expect(cdrs).toContain('start:uac');
    expect(cdrs).toContain('stop:normal-release');
  });
});
