/**
 * TLS, WSS/WS (RFC 7118) and IPv6 through the engine, with an srf B2BUA: 127.0.6.0/24 and ::1 only,
 * sipp -cp 9050–9059, media 19000–19499, sipp on ::1 at 19990/19991.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Srf from 'drachtio-srf';
import WebSocket from 'ws';
import { ensureSelfSignedCert } from '../../../runtime/sip-engine/certs.js';
import type { SipEngine } from '../../../runtime/sip-engine/index.js';
import { loadConfig, resolveTls } from '../../../runtime/sip-engine/main.js';
import { SCENARIOS, connectSrf, haveSipp, killAllSipp, sipp, startEngine, until, waitForBound } from './harness.js';
import { StreamUa, clientSdp } from './sip-client.js';
import { hasCommand, requires } from '../../support/requires.js';

const ENGINE = '127.0.6.1';
const UAC = '127.0.6.2';
const UAS = '127.0.6.3';
const CLIENT = '127.0.6.4';
const V6_UAS_PORT = 19990;
const V6_UAC_PORT = 19991;

const run = requires('sipp', haveSipp, 'sipp (Debian sip-tester) not installed') &&
  requires('openssl', hasCommand('openssl'), 'openssl CLI not installed');

describe.runIf(run)('sip engine transports: TLS, WSS/WS, IPv6 and IPv4⇄IPv6', () => {
  let engine: SipEngine;
  let srf: Srf & Srf.SrfExtras;
  let dir: string;
  let cert: string;
  const protocols: string[] = [];
  const registered: Array<{ address: string; port: number; protocol: string }> = [];
  let cp = 9050;
  let mp = 19000;
  const ports = (): { cp: number; mp: number } => ({ cp: cp++, mp: (mp += 20) });
  const port = (t: string, v6 = false): number =>
    engine.sipEndpoints.find((e) => e.transport === t && e.host.includes(':') === v6)!.port;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sip-engine-tls-'));
    const pair = await ensureSelfSignedCert({ dir, hosts: ['localhost', ENGINE, '::1'] });
    cert = pair.cert;
    engine = await startEngine({
      sip: [
        { transport: 'udp', host: ENGINE, port: 0 }, { transport: 'udp', host: '::1', port: 0 },
        { transport: 'tls', host: ENGINE, port: 0 }, { transport: 'wss', host: ENGINE, port: 0 },
        { transport: 'ws', host: ENGINE, port: 0 },
      ],
      tls: { key: pair.key, cert: pair.cert },
      timers: { t1: 100, t2: 400, t4: 500 },
    });
    srf = await connectSrf(engine) as Srf & Srf.SrfExtras;
    srf.register((req, res) => {
      registered.push({ address: req.source_address, port: Number(req.source_port), protocol: req.protocol });
      res.send(200, { headers: { Expires: '60' } });
    });
    srf.invite(async (req, res) => {
      protocols.push(req.protocol);
      const uri = req.uri.startsWith('sip:v6@') ? `sip:callee@[::1]:${V6_UAS_PORT}` : `sip:callee@${UAS}:5062`;
      try {
        const { uas, uac } = await srf.createB2BUA(req, res, uri, { localSdpB: req.body });
        const link = (a: Srf.Dialog, b: Srf.Dialog): void => {
          a.on('destroy', () => { if (b.connected) void b.destroy(); });
          if (!a.connected && b.connected) void b.destroy();
        };
        link(uas, uac);
        link(uac, uas);
      } catch {
        if (!res.finalResponseSent) res.send(500);
      }
    });
  });

  afterAll(async () => {
    killAllSipp();
    srf?.disconnect();
    await engine?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function withUas(ip: string, p: number, fn: () => Promise<void>): Promise<void> {
    const uas = sipp(['-sf', `${SCENARIOS}/uas.xml`, '-i', ip, '-p', String(p), '-m', '1'], ports());
    try {
      await waitForBound('udp', ip, p);
      await fn();
      const r = await uas.done;
      expect(r.code, r.output).toBe(0);
    } finally {
      uas.kill();
    }
    await until(() => engine.stats().dialogs === 0, 3000, 'dialogs to drain');
  }

  it('reports tls/wss/ws hostports to srf like drachtio-server', () => {
    const hp = engine.sipEndpoints.map((e) => `${e.transport}/${e.host}`);
    expect(hp).toEqual(expect.arrayContaining([`tls/${ENGINE}`, `wss/${ENGINE}`, `ws/${ENGINE}`, 'udp/::1']));
  });

  it('TLS: a Node TLS UAC calls through the srf B2BUA to sipp (UDP), BYE from the TLS side', async () => {
    await withUas(UAS, 5062, async () => {
      const ua = await StreamUa.tls(ENGINE, port('tls'), CLIENT, cert);
      try {
        const ok = await ua.call(`sip:callee@${ENGINE}:${port('tls')};transport=tls`, CLIENT);
        expect(ok.get('contact')).toContain('transport=tls');
        expect(ok.body.toString()).toContain('m=audio');
      } finally {
        ua.close();
      }
    });
    expect(protocols).toContain('tls');
  });

  it('TLS: a client that does not trust the certificate fails the handshake; the engine keeps working', async () => {
    await expect(StreamUa.tls(ENGINE, port('tls'), CLIENT, '')).rejects.toThrow(/certificate/);
    await until(() => (engine.stats().dropped['tls-handshake'] ?? 0) >= 1, 2000, 'handshake failure counted');
  });

  it('WSS: a WebSocket SIP client (subprotocol sip, Via WSS) places a call and hangs up', async () => {
    await withUas(UAS, 5062, async () => {
      const ua = await StreamUa.ws(`wss://${ENGINE}:${port('wss')}`, CLIENT, cert);
      try {
        expect(ua.socket.protocol).toBe('sip');
        const ok = await ua.call(`sip:callee@${ENGINE};transport=wss`, CLIENT);
        expect(ok.get('via')).toMatch(/^SIP\/2.0\/WSS [0-9a-f]{8}\.invalid;.*received=127\.0\.6\.4/);
        expect(ok.get('contact')).toContain('transport=wss');
      } finally {
        ua.close();
      }
    });
    expect(protocols).toContain('wss');
  });

  it('WS: requests from the app reach a WebSocket client over the connection it opened (REGISTER, INVITE, BYE)', async () => {
    const ua = await StreamUa.ws(`ws://${ENGINE}:${port('ws')}`, CLIENT);
    try {
      const from = `<sip:alice@${ENGINE}>;tag=r1`;
      ua.send(ua.request('REGISTER', `sip:${ENGINE}`, { callId: 'reg-ws-1', from, to: `<sip:alice@${ENGINE}>`, seq: 1 }));
      await ua.waitFor((m) => m.status === 200 && m.callId === 'reg-ws-1', '200 to REGISTER');
      const flow = registered.at(-1)!;
      expect(flow).toMatchObject({ address: CLIENT, protocol: 'ws' });
      const answered = (async () => {
        const inv = await ua.waitFor((m) => m.method === 'INVITE', 'INVITE over the ws flow');
        ua.reply(inv, 200, 'OK', 'ws-tag', clientSdp(CLIENT, 19502));
        await ua.waitFor((m) => m.method === 'ACK', 'ACK over the ws flow');
      })();
      const dlg = await srf.createUAC(`sip:alice@${ua.via.host};transport=ws`, {
        proxy: `sip:${flow.address}:${flow.port};transport=ws`, localSdp: clientSdp(ENGINE, 19504),
      });
      await answered;
      const byeSeen = ua.waitFor((m) => m.method === 'BYE', 'BYE over the ws flow');
      const destroyed = dlg.destroy();
      const bye = await byeSeen;
      ua.reply(bye, 200, 'OK', 'ws-tag');
      await destroyed;
      await until(() => engine.stats().dialogs === 0, 3000, 'dialogs to drain');
    } finally {
      ua.close();
    }
    // no connection to the client any more: a request over ws fails cleanly instead of dialling
    await until(() => engine.stats().tcpConnections === 0, 2000, 'ws connection closed');
  });

  it('WS: a client that does not offer the sip subprotocol is closed with 1002', async () => {
    const ws = new WebSocket(`ws://${ENGINE}:${port('ws')}`, 'chat', { localAddress: CLIENT });
    ws.on('error', () => undefined);
    const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
    expect([1002, 1006]).toContain(code);
  });

  it('IPv6: sipp UAC on ::1 → engine [::1] → B leg to sipp on 127.0.6.3 (IPv6 → IPv4)', async () => {
    await withUas(UAS, 5062, async () => {
      const uac = sipp(['-sn', 'uac', `[::1]:${port('udp', true)}`, '-i', '::1', '-p', String(V6_UAC_PORT), '-s', 'callee',
        '-m', '1', '-d', '200', '-timeout', '15s'], ports());
      const r = await uac.done;
      expect(r.code, r.output).toBe(0);
    });
  });

  it('IPv4 → IPv6: sipp UAC on 127.0.6.2 → engine → B leg to sipp on [::1]', async () => {
    await withUas('::1', V6_UAS_PORT, async () => {
      const uac = sipp(['-sn', 'uac', `${ENGINE}:${port('udp')}`, '-i', UAC, '-p', '5061', '-s', 'v6',
        '-m', '1', '-d', '200', '-timeout', '15s'], ports());
      const r = await uac.done;
      expect(r.code, r.output).toBe(0);
    });
  });

  it('main.ts config: tls/ws/wss listeners, inline PEM or files, self-signed, errors listed', async () => {
    const env = (cfg: object, extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
      const f = path.join(dir, `cfg-${Math.random()}.json`);
      writeFileSync(f, JSON.stringify(cfg));
      return { CPAAS_CONFIG: f, SIP_ENGINE_SECRET: 'secret-123', ...extra };
    };
    expect(() => loadConfig(env({ sip: [{ transport: 'tls', host: ENGINE }] }))).toThrow(/tls\/wss listeners need/);
    const c = loadConfig(env({ sip: [{ transport: 'wss', host: ENGINE }], tls: { selfSignedDir: dir } }));
    const creds = await resolveTls(c.tls);
    expect(String(creds!.cert)).toContain('BEGIN CERTIFICATE');
    const fromEnv = loadConfig(env({ sip: [{ transport: 'tls', host: ENGINE }] }, {
      SIP_ENGINE_TLS_KEY: path.join(dir, 'sip-engine-key.pem'), SIP_ENGINE_TLS_CERT: cert,
    }));
    expect(String((await resolveTls(fromEnv.tls))!.key)).toContain('PRIVATE KEY');
  });
});
