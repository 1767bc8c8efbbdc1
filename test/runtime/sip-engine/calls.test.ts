import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Srf from 'drachtio-srf';
import type { SipEngine } from '../../../runtime/sip-engine/index.js';
import {
  ENGINE_IP, SCENARIOS, UAC_IP, UAS_IP, connectSrf, haveSipp, killAllSipp, sipPort, sipp, startEngine, until, waitForBound,
} from './harness.js';
import { requires } from '../../support/requires.js';

const run = requires('sipp', haveSipp, 'sipp (Debian sip-tester) not installed');

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.2.3\r\ns=-\r\nc=IN IP4 127.0.2.3\r\nt=0 0\r\nm=audio 16500 RTP/AVP 0\r\n';

describe.runIf(run)('sip engine: UAS, UAC, CANCEL, re-INVITE, INFO, route sets', () => {
  let engine: SipEngine;
  let srf: Srf;
  const seen: string[] = [];

  beforeAll(async () => {
    engine = await startEngine();
    srf = await connectSrf(engine);
    srf.invite(async (req, res) => {
      if (req.uri.startsWith('sip:cancelme@')) {
        req.on('cancel', () => seen.push('cancel'));
        res.send(180);
        return;
      }
      const dialog = await srf.createUAS(req, res, { localSdp: SDP });
      seen.push('uas-up');
      dialog.on('modify', (mreq: Srf.SrfRequest, mres: Srf.SrfResponse) => {
        seen.push(`modify:${mreq.body.includes('sendonly') ? 'sendonly' : 'other'}`);
        mres.send(200, { body: SDP.replace('m=audio', 'a=recvonly\r\nm=audio') });
      });
      dialog.on('info', (ireq: Srf.SrfRequest, ires: Srf.SrfResponse) => {
        seen.push(`info:${ireq.body.includes('Signal=5') ? 'dtmf5' : 'other'}`);
        ires.send(200);
      });
      dialog.on('destroy', () => seen.push('uas-destroy'));
    });
  });

  afterAll(async () => {
    killAllSipp();
    srf?.disconnect();
    await engine?.close();
  });

  async function uacScenario(file: string): Promise<void> {
    const uac = sipp(['-sf', `${SCENARIOS}/${file}`, `${ENGINE_IP}:${sipPort(engine, 'udp')}`, '-i', UAC_IP, '-p', '5063',
      '-m', '1', '-timeout', '15s']);
    const result = await uac.done;
    expect(result.code, result.output).toBe(0);
  }

  async function withUas<T>(file: string, port: number, fn: () => Promise<T>): Promise<T> {
    const uas = sipp(['-sf', `${SCENARIOS}/${file}`, '-i', UAS_IP, '-p', String(port), '-m', '1', '-timeout', '15s']);
    try {
      await waitForBound('udp', UAS_IP, port);
      const value = await fn();
      const result = await uas.done;
      expect(result.code, result.output).toBe(0);
      return value;
    } finally {
      uas.kill();
    }
  }

  it('createUAS: network re-INVITE and INFO reach the dialog; network BYE destroys it', async () => {
    seen.length = 0;
    await uacScenario('uac-indialog.xml');
    await until(() => seen.includes('uas-destroy'), 2000, 'destroy');
    expect(seen).toEqual(['uas-up', 'modify:sendonly', 'info:dtmf5', 'uas-destroy']);
    await until(() => engine.stats().dialogs === 0, 2000, 'no dialogs');
  });

  it('CANCEL from the network: 200 + 487 from the engine, srf sees cancel', async () => {
    seen.length = 0;
    await uacScenario('uac-cancel.xml');
    expect(seen).toEqual(['cancel']);
    expect(engine.stats().dialogs).toBe(0);
  });

  it('createUAC to sipp: app re-INVITE, INFO and BYE', async () => {
    await withUas('uas-indialog.xml', 5064, async () => {
      const uac = await srf.createUAC(`sip:callee@${UAS_IP}:5064`, { localSdp: SDP });
      expect(engine.stats().dialogs).toBe(1);
      const answer = await uac.modify(SDP.replace('m=audio', 'a=sendonly\r\nm=audio'));
      expect(answer).toContain('a=sendonly');
      const info = await uac.request({ method: 'INFO', headers: { 'Content-Type': 'application/dtmf-relay' }, body: 'Signal=1\r\n' } as never);
      expect((info as unknown as Srf.SrfResponse).status).toBe(200);
      await uac.destroy();
    });
    expect(engine.stats().dialogs).toBe(0);
  });

  it('CANCEL from the app: createUAC rejects with 487', async () => {
    await withUas('uas-cancel.xml', 5065, async () => {
      let outgoing: Srf.SrfRequest | undefined;
      // srf calls cbRequest(err, req); the bundled types say (req)
      const progress = {
        cbRequest: (_err: unknown, req: Srf.SrfRequest) => { outgoing = req; },
        cbProvisional: () => outgoing!.cancel(),
      } as unknown as { cbRequest: (req: Srf.SrfRequest) => void };
      const err = await srf.createUAC(`sip:callee@${UAS_IP}:5065`, { localSdp: SDP }, progress).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(Srf.SipError);
      expect((err as Srf.SipError).status).toBe(487);
    });
  });

  it('a 2xx with Record-Route: ACK and BYE follow the route set, not the Contact', async () => {
    await withUas('uas-rr.xml', 5066, async () => {
      const uac = await srf.createUAC(`sip:callee@${UAS_IP}:5066`, { localSdp: SDP });
      await new Promise((r) => setTimeout(r, 100));
      await uac.destroy();
    });
    expect(engine.stats().dialogs).toBe(0);
  });
});
