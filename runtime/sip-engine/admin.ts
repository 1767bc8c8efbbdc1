/**
 * The application side: drachtio's admin protocol over TCP (what drachtio-srf's `srf.connect()` dials).
 *
 * Framing is `<N>#<payload>` with N the UTF-8 byte length of the payload. Every payload starts with
 * `<msgId>|<type>|…`; SIP-carrying messages continue after the first CRLF with the raw SIP text.
 */
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';

/** drachtio-server refuses length prefixes of 6 digits or more. */
export const MAX_FRAME = 99_999;

export class AppClient {
  readonly id = randomUUID();
  authenticated = false;
  tags: string[] = [];
  readonly routes = new Set<string>();

  constructor(readonly socket: net.Socket) {}

  get connected(): boolean {
    return !this.socket.destroyed;
  }

  /** Sends one frame; returns its msgId. */
  send(payloadAfterId: string): string {
    const msgId = randomUUID();
    const payload = `${msgId}|${payloadAfterId}`;
    if (!this.socket.destroyed) this.socket.write(`${Buffer.byteLength(payload, 'utf8')}#${payload}`);
    return msgId;
  }

  reply(msgId: string, tokens: Array<string | number>, sip?: string): void {
    this.send(`response|${msgId}|${tokens.join('|')}${sip === undefined ? '' : `\r\n${sip}`}`);
  }
}

export interface AppMessage {
  msgId: string;
  type: string;
  tokens: string[];
  /** Text after the first CRLF (the SIP message), if any. */
  body?: string;
}

export interface AdminOptions {
  host: string;
  port: number;
  log: Logger;
  onMessage: (client: AppClient, msg: AppMessage) => void;
  onClose: (client: AppClient) => void;
}

export class AdminServer {
  readonly clients = new Set<AppClient>();
  private server?: net.Server;

  constructor(private readonly opts: AdminOptions) {}

  async listen(): Promise<number> {
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => { server.off('error', reject); resolve(); });
    });
    return (server.address() as net.AddressInfo).port;
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    const client = new AppClient(socket);
    this.clients.add(client);
    this.opts.log.debug({ client: client.id, remote: socket.remoteAddress }, 'application connected');
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        const hash = buf.indexOf('#');
        if (hash < 0) {
          if (buf.length > 6) return this.protocolError(client, 'missing length prefix');
          return;
        }
        const lenText = buf.subarray(0, hash).toString('latin1');
        if (!/^\d{1,5}$/.test(lenText) || Number(lenText) === 0) return this.protocolError(client, 'bad length prefix');
        const end = hash + 1 + Number(lenText);
        if (buf.length < end) return;
        const payload = buf.subarray(hash + 1, end).toString('utf8');
        buf = buf.subarray(end);
        this.dispatch(client, payload);
        if (socket.destroyed) return;
      }
    });
    socket.on('error', (err) => this.opts.log.debug({ err, client: client.id }, 'application socket error'));
    socket.on('close', () => {
      this.clients.delete(client);
      this.opts.log.debug({ client: client.id }, 'application disconnected');
      this.opts.onClose(client);
    });
  }

  private dispatch(client: AppClient, payload: string): void {
    const crlf = payload.indexOf('\r\n');
    const leader = crlf < 0 ? payload : payload.slice(0, crlf);
    const tokens = leader.split('|');
    const msg: AppMessage = {
      msgId: tokens[0] ?? '',
      type: tokens[1] ?? '',
      tokens: tokens.slice(2),
      body: crlf < 0 ? undefined : payload.slice(crlf + 2),
    };
    try {
      this.opts.onMessage(client, msg);
    } catch (err) {
      this.opts.log.error({ err, type: msg.type }, 'error handling application message');
      if (msg.msgId) client.reply(msg.msgId, ['NOK', 'internal error']);
    }
  }

  private protocolError(client: AppClient, why: string): void {
    this.opts.log.warn({ client: client.id, why }, 'drachtio protocol error, closing application connection');
    client.socket.destroy();
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.socket.destroy();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
