import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../core/logging.js';
import { startDaemon, tcpProbe, type Daemon } from './daemon.js';

export interface CoturnOptions {
  /** Working directory for the rendered config, pid file and user db. */
  dir: string;
  listenIp?: string;
  port?: number;
  minPort?: number;
  maxPort?: number;
  realm?: string;
  /** The TURN REST shared secret (the platform's turnSecret). */
  secret: string;
  /** Only for loopback tests and the local platform: lets TURN relay to 127.0.0.1 peers. */
  allowLoopbackPeers?: boolean;
  log?: Logger;
}

/** Renders a coturn config for TURN REST auth (`use-auth-secret`); no TLS (local use). */
export function renderCoturnConfig(o: CoturnOptions): string {
  const ip = o.listenIp ?? '127.0.0.1';
  return [
    `listening-ip=${ip}`,
    `relay-ip=${ip}`,
    `listening-port=${o.port ?? 3478}`,
    `min-port=${o.minPort ?? 49160}`,
    `max-port=${o.maxPort ?? 49999}`,
    `realm=${o.realm ?? 'cpaas.local'}`,
    'use-auth-secret',
    `static-auth-secret=${o.secret}`,
    'fingerprint',
    ...(o.allowLoopbackPeers ? ['allow-loopback-peers'] : []),
    'no-tls',
    'no-dtls',
    'no-cli',
    'no-multicast-peers',
    `pidfile=${join(o.dir, 'turnserver.pid')}`,
    `userdb=${join(o.dir, 'turndb.sqlite')}`,
    'log-file=stdout',
    'simple-log',
    '',
  ].join('\n');
}

/** Starts coturn in the foreground with a rendered config; returns the ICE URLs to hand to clients. */
export async function startCoturn(o: CoturnOptions): Promise<{ urls: string[]; daemon: Daemon; stop(): Promise<void> }> {
  mkdirSync(o.dir, { recursive: true });
  const file = join(o.dir, 'turnserver.conf');
  writeFileSync(file, renderCoturnConfig(o), { mode: 0o600 });
  const host = o.listenIp ?? '127.0.0.1';
  const port = o.port ?? 3478;
  // coturn's stdout is block-buffered on a pipe, so readiness is a TCP probe of its listener.
  const daemon = await startDaemon({ command: 'turnserver', args: ['-c', file], ready: () => tcpProbe(host, port), name: 'coturn', ...(o.log ? { log: o.log } : {}) });
  return {
    urls: [`stun:${host}:${port}`, `turn:${host}:${port}?transport=udp`, `turn:${host}:${port}?transport=tcp`],
    daemon,
    stop: () => daemon.stop(),
  };
}
