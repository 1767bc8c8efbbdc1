/**
 * coturn on loopback for the browser tests (FACTS §5.1): foreground process, explicit config, readiness from its log,
 * SIGTERM then SIGKILL. Listening ports 13478–13499 and relay range 23000–23999 belong to the SDK e2e suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  const conf = [
    'listening-ip=127.0.0.1',
    'relay-ip=127.0.0.1',
    `listening-port=${port}`,
    `min-port=${minPort}`,
    `max-port=${maxPort}`,
    `realm=${opts.realm ?? 'e2e.local'}`,
    'use-auth-secret',
    `static-auth-secret=${opts.secret}`,
    'fingerprint',
    'allow-loopback-peers',
    'no-tls',
    'no-dtls',
    'no-cli',
    'no-multicast-peers',
    `pidfile=${join(dir, 'turnserver.pid')}`,
    `userdb=${join(dir, 'turndb.sqlite')}`,
    'log-file=stdout',
    'simple-log',
    'verbose',
  ].join('\n');
  writeFileSync(join(dir, 'turnserver.conf'), conf + '\n');
  const child: ChildProcess = spawn('turnserver', ['-c', join(dir, 'turnserver.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`coturn did not start:\n${out}`)), 10_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes(`UDP listener opened on: 127.0.0.1:${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`coturn exited with ${code}:\n${out}`));
    });
  });
  return {
    urls: [`turn:127.0.0.1:${port}?transport=udp`],
    port,
    secret: opts.secret,
    log: () => out,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
