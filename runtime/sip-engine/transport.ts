/**
 * SIP transports: UDP sockets and TCP listeners/connections, IPv4 and IPv6.
 *
 * TCP connections (accepted and dialled) are indexed by remote `ip:port` and reused for any message to
 * that peer (RFC 3261 §18); idle connections are closed after `tcpIdleMs`.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import { SipParseError, StreamFramer, uriHost } from './message.js';

export type Protocol = 'udp' | 'tcp';

export interface ListenSpec {
  transport: Protocol;
  host: string;
  port: number;
}

export interface Endpoint {
  transport: Protocol;
  host: string;
  port: number;
}

/** Where a message came from / goes to. */
export interface Peer {
  transport: Protocol;
  address: string;
  port: number;
}

export interface Inbound {
  data: Buffer;
  peer: Peer;
  local: Endpoint;
}

export interface TransportOptions {
  log: Logger;
  maxMessageSize: number;
  tcpIdleMs: number;
  onMessage: (msg: Inbound) => void;
  /** Called for a TCP stream that could not be framed, before it is closed. */
  onStreamError?: (peer: Peer, err: Error) => void;
}

interface Conn {
  socket: net.Socket;
  local: Endpoint;
  idle?: NodeJS.Timeout;
}

export const peerKey = (p: { address: string; port: number }): string => `${p.address}:${p.port}`;

export class Transports {
  readonly endpoints: Endpoint[] = [];
  private readonly udp: Array<{ ep: Endpoint; socket: dgram.Socket }> = [];
  private readonly tcpServers: Array<{ ep: Endpoint; server: net.Server }> = [];
  private readonly conns = new Map<string, Conn>();
  private readonly pending = new Map<string, Promise<Conn>>();
  private closed = false;

  constructor(private readonly opts: TransportOptions) {}

  async listen(specs: ListenSpec[]): Promise<void> {
    for (const spec of specs) {
      if (spec.transport === 'udp') {
        const socket = dgram.createSocket({ type: net.isIPv6(spec.host) ? 'udp6' : 'udp4', reuseAddr: false });
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(spec.port, spec.host, () => { socket.off('error', reject); resolve(); });
        });
        const ep: Endpoint = { transport: 'udp', host: spec.host, port: socket.address().port };
        socket.on('message', (data, rinfo) => {
          if (data.length > this.opts.maxMessageSize) return;
          this.deliver({ data, peer: { transport: 'udp', address: rinfo.address, port: rinfo.port }, local: ep });
        });
        socket.on('error', (err) => this.opts.log.warn({ err }, 'sip udp socket error'));
        this.udp.push({ ep, socket });
        this.endpoints.push(ep);
      } else {
        const server = net.createServer((socket) => this.adopt(socket, ep));
        const ep: Endpoint = { transport: 'tcp', host: spec.host, port: 0 };
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(spec.port, spec.host, () => { server.off('error', reject); resolve(); });
        });
        ep.port = (server.address() as net.AddressInfo).port;
        this.tcpServers.push({ ep, server });
        this.endpoints.push(ep);
      }
    }
  }

  /** The listening endpoint to use for a transport and address family. */
  endpointFor(transport: Protocol, address?: string): Endpoint | undefined {
    const v6 = address ? net.isIPv6(address) : false;
    const same = this.endpoints.filter((e) => e.transport === transport);
    return same.find((e) => net.isIPv6(e.host) === v6) ?? same[0];
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  async send(peer: Peer, data: Buffer, via?: Endpoint): Promise<Endpoint> {
    if (this.closed) throw new Error('transports closed');
    if (peer.transport === 'udp') {
      const u = this.udp.find((x) => x.ep === via) ??
        this.udp.find((x) => net.isIPv6(x.ep.host) === net.isIPv6(peer.address)) ?? this.udp[0];
      if (!u) throw new Error('no udp transport');
      await new Promise<void>((resolve, reject) =>
        u.socket.send(data, peer.port, peer.address, (err) => (err ? reject(err) : resolve())));
      return u.ep;
    }
    const conn = await this.connection(peer);
    this.touch(peerKey(peer), conn);
    conn.socket.write(data);
    return conn.local;
  }

  private async connection(peer: Peer): Promise<Conn> {
    const key = peerKey(peer);
    const existing = this.conns.get(key);
    if (existing && !existing.socket.destroyed) return existing;
    const inflight = this.pending.get(key);
    if (inflight) return inflight;
    const local = this.endpointFor('tcp', peer.address);
    if (!local) throw new Error('no tcp transport');
    const p = new Promise<Conn>((resolve, reject) => {
      const socket = net.connect({ host: peer.address, port: peer.port, family: net.isIPv6(peer.address) ? 6 : 4 });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(this.adopt(socket, local));
      });
    });
    this.pending.set(key, p);
    try {
      return await p;
    } finally {
      this.pending.delete(key);
    }
  }

  private adopt(socket: net.Socket, local: Endpoint): Conn {
    const peer: Peer = { transport: 'tcp', address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    const key = peerKey(peer);
    const conn: Conn = { socket, local };
    this.conns.set(key, conn);
    this.touch(key, conn);
    socket.setNoDelay(true);
    const framer = new StreamFramer(this.opts.maxMessageSize);
    socket.on('data', (chunk) => {
      this.touch(key, conn);
      let msgs: Buffer[];
      try {
        msgs = framer.push(chunk);
      } catch (err) {
        this.opts.log.warn({ err, peer }, 'unframeable sip stream, closing connection');
        this.opts.onStreamError?.(peer, err as SipParseError);
        socket.destroy();
        return;
      }
      for (const data of msgs) this.deliver({ data, peer, local });
    });
    socket.on('error', (err) => this.opts.log.debug({ err, peer }, 'sip tcp connection error'));
    socket.on('close', () => {
      if (conn.idle) clearTimeout(conn.idle);
      if (this.conns.get(key) === conn) this.conns.delete(key);
    });
    return conn;
  }

  private touch(key: string, conn: Conn): void {
    if (conn.idle) clearTimeout(conn.idle);
    conn.idle = setTimeout(() => {
      this.opts.log.debug({ peer: key }, 'closing idle sip tcp connection');
      conn.socket.destroy();
    }, this.opts.tcpIdleMs);
    conn.idle.unref();
  }

  private deliver(msg: Inbound): void {
    try {
      this.opts.onMessage(msg);
    } catch (err) {
      this.opts.log.error({ err, peer: msg.peer }, 'error handling sip message');
    }
  }

  /** `udp/1.2.3.4:5060,tcp/...` as drachtio reports its contacts. */
  hostports(publicAddress?: string): string {
    return this.endpoints.map((e) => `${e.transport}/${uriHost(publicAddress ?? e.host)}:${e.port}`).join(',');
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.conns.values()) {
      if (c.idle) clearTimeout(c.idle);
      c.socket.destroy();
    }
    this.conns.clear();
    await Promise.all([
      ...this.udp.map((u) => new Promise<void>((resolve) => u.socket.close(() => resolve()))),
      ...this.tcpServers.map((t) => new Promise<void>((resolve) => t.server.close(() => resolve()))),
    ]);
  }
}
