/** A raw ng `ping` over UDP without a client instance (readiness probes of a just-started rtpengine). */
import { createSocket } from 'node:dgram';

export function ngPing(host: string, port: number, timeoutMs = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const done = (ok: boolean) => {
      clearTimeout(t);
      sock.close();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    sock.on('message', (m) => done(m.toString().includes('pong')));
    sock.on('error', () => done(false));
    sock.send('probe1 d7:command4:pinge', port, host);
  });
}
