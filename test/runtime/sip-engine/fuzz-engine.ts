/**
 * Child process for the fuzz test: the engine plus an srf B2BUA in one Node process (run with
 * `--import tsx --expose-gc`), so a crash is visible as an exit and RSS is the engine's own.
 * IPC: → {cmd:'count'|'stats'|'close'}; ← {ready, udpPort, tcpPort} | {count} | {stats, rss, heapUsed}.
 */
import Srf from 'drachtio-srf';
import pino from 'pino';
import { startSipEngine } from '../../../runtime/sip-engine/index.js';

const ENGINE = process.env.FUZZ_ENGINE_IP ?? '127.0.6.21';
const UAS = process.env.FUZZ_UAS ?? '127.0.6.23:5062';
const SECRET = 'fuzz-secret';

async function main(): Promise<void> {
  const engine = await startSipEngine({
    sip: [{ transport: 'udp', host: ENGINE, port: 0 }, { transport: 'tcp', host: ENGINE, port: 0 }],
    admin: { host: '127.0.0.1', port: 0, secret: SECRET },
    log: pino({ level: 'silent' }),
    timers: { t1: 50, t2: 400, t4: 500 },
    tcpIdleMs: 5000,
  });
  const srf = new Srf();
  await new Promise<void>((resolve, reject) => {
    srf.on('connect', (err: Error | null) => (err ? reject(err) : resolve()));
    srf.on('error', () => undefined);
    srf.connect({ host: '127.0.0.1', port: engine.adminPort, secret: SECRET });
  });
  let realCalls = 0;
  srf.invite(async (req, res) => {
    if (!req.uri.startsWith('sip:realcall@')) return res.send(486);
    realCalls++;
    try {
      const { uas, uac } = await srf.createB2BUA(req, res, `sip:callee@${UAS}`, { localSdpB: req.body });
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
  const port = (t: string): number => engine.sipEndpoints.find((e) => e.transport === t)!.port;
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'count') return process.send!({ count: engine.stats().received });
    if (m.cmd === 'stats') {
      (globalThis as { gc?: () => void }).gc?.();
      const mem = process.memoryUsage();
      return process.send!({ stats: { ...engine.stats(), realCalls }, rss: mem.rss, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal, external: mem.external, arrayBuffers: mem.arrayBuffers });
    }
    if (m.cmd === 'close') {
      srf.disconnect();
      void engine.close().then(() => process.exit(0));
    }
  });
  process.send!({ ready: true, udpPort: port('udp'), tcpPort: port('tcp') });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
