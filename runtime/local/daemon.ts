import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../core/logging.js';

export interface Daemon {
  pid: number;
  /** Everything the process printed so far (bounded). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a daemon in the foreground, waits for a readiness line on stdout/stderr, and stops it by PID
 * (SIGTERM, then SIGKILL after 3 s). Never by name: other instances may run on the machine.
 */
export async function startDaemon(opts: {
  command: string;
  args: string[];
  /** Ready when this matches the output, or when this probe resolves true (polled every 50 ms). */
  ready: RegExp | (() => Promise<boolean>);
  name: string;
  log?: Logger;
  timeoutMs?: number;
  cwd?: string;
}): Promise<Daemon> {
  const child: ChildProcess = spawn(opts.command, opts.args, { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.cwd ? { cwd: opts.cwd } : {}) });
  let out = '';
  let exited = false;
  const onData = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exitedP = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`${opts.name} not ready after ${opts.timeoutMs ?? 10_000} ms: ${out.slice(-2000)}`));
    }, opts.timeoutMs ?? 10_000);
    let probing = false;
    const check = () => {
      if (opts.ready instanceof RegExp && opts.ready.test(out)) {
        cleanup();
        resolve();
      }
    };
    const poll = opts.ready instanceof RegExp
      ? undefined
      : setInterval(() => {
          if (probing) return;
          probing = true;
          void (opts.ready as () => Promise<boolean>)()
            .then((ok) => {
              if (ok) {
                cleanup();
                resolve();
              }
            })
            .catch(() => undefined)
            .finally(() => (probing = false));
        }, 50);
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${opts.name} exited with ${code} before ready: ${out.slice(-2000)}`));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new Error(`${opts.name} could not start: ${err.message}`));
    };
    function cleanup() {
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      child.off('exit', onExit);
      child.off('error', onError);
    }
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', onExit);
    child.once('error', onError);
  });
  opts.log?.info({ pid: child.pid, daemon: opts.name }, 'daemon started');
  return {
    pid: child.pid!,
    output: () => out,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exitedP;
      clearTimeout(t);
    },
  };
}

/** Resolves true when a TCP connection to host:port succeeds. */
export async function tcpProbe(host: string, port: number): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(500, () => done(false));
  });
}

/** A free TCP port on loopback (for daemons that cannot report an ephemeral port). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as import('node:net').AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
