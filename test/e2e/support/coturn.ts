/**
 * coturn on loopback for the browser tests, through the platform's launcher (runtime/local/coturn.ts), on a free port
 * of this suite's range. Listening ports 13478–13499 and relay range 23000–23999 belong to the SDK e2e suite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoturn } from '../../../runtime/local/coturn.js';

export interface Coturn {
  urls: string[];
  port: number;
  secret: string;
  log: () => string;
  stop(): Promise<void>;
}

async function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function startE2eCoturn(opts: { secret: string; realm?: string; ports?: [number, number]; relay?: [number, number] }): Promise<Coturn> {
  const [lo, hi] = opts.ports ?? [13478, 13499];
  const [minPort, maxPort] = opts.relay ?? [23000, 23999];
  let port = 0;
  for (let p = lo; p <= hi; p += 2) {
    if ((await udpPortFree(p)) && (await udpPortFree(p + 1))) {
      port = p;
      break;
    }
  }
  if (!port) throw new Error(`no free coturn port in ${lo}-${hi}`);
  const dir = mkdtempSync(join(tmpdir(), 'cpaas-e2e-turn-'));
  const coturn = await startCoturn({ dir, port, minPort, maxPort, realm: opts.realm ?? 'e2e.local', secret: opts.secret, allowLoopbackPeers: true });
  return {
    urls: [`turn:127.0.0.1:${port}?transport=udp`],
    port,
    secret: opts.secret,
    log: () => coturn.daemon.output(),
    async stop() {
      await coturn.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
