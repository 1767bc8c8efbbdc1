/**
 * SIP transports, IPv4 and IPv6: UDP sockets, TCP and TLS listeners/connections, and SIP over WebSocket
 * (RFC 7118, WS and WSS, subprotocol `sip`).
 *
 * Connections (accepted and dialled) are indexed by transport + remote `ip:port` and reused for any message
 * to that peer (RFC 3261 §18, RFC 5626 flows): a request to a WebSocket client goes over the connection
 * the client opened. Idle connections are closed after `tcpIdleMs`. No input can throw out of a socket
 * handler: framing errors close the connection, handler errors are logged and counted.
 */
import dgram from 'node:dgram';
import { isUtf8 } from 'node:buffer';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { SipParseError, StreamFramer, uriHost } from './message.js';

export type Protocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** Default listening ports when a ListenSpec has none. */
export const DEFAULT_PORTS: Readonly<Record<Protocol, number>> = { udp: 5060, tcp: 5060, tls: 5061, ws: 8080, wss: 8443 };

/** PEM key and certificate (chain) for TLS/WSS listeners and TLS client connections. */
export interface TlsCredentials {
  key: string | Buffer;
  cert: string | Buffer;
  /** Trusted CAs for connections the engine dials (default: Node's bundle). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Verify the peer certificate on connections the engine dials (default true). */
  rejectUnauthorized?: boolean;
}

export interface ListenSpec {
  transport: Protocol;
  host: string;
  /** 0 = ephemeral; default from DEFAULT_PORTS. */
  port?: number;
  /** TLS/WSS credentials for this listener (default: the engine's `tls`). */
  tls?: TlsCredentials;
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
  /** Engine-wide TLS credentials (TLS/WSS listeners without their own, and dialled TLS connections). */
  tls?: TlsCredentials;
  onMessage: (msg: Inbound) => void;
  /** Called for a stream that could not be framed, before it is closed. */
  onStreamError?: (peer: Peer, err: Error) => void;
  /** A message was discarded by the transport layer (`oversize`, `unframeable`, `ws-subprotocol`, `tls-handshake`). */
  onDrop?: (reason: string) => void;
}

interface Conn {
  transport: Protocol;
  local: Endpoint;
  write(data: Buffer): void;
  destroy(): void;
  readonly destroyed: boolean;
  idle?: NodeJS.Timeout;
}

export const peerKey = (p: { transport?: Protocol; address: string; port: number }): string =>
  `${p.transport ?? 'tcp'}|${p.address}:${p.port}`;

const isWs = (t: Protocol): t is 'ws' | 'wss' => t === 'ws' || t === 'wss';

export class Transports {
  readonly endpoints: Endpoint[] = [];
  private readonly udp: Array<{ ep: Endpoint; socket: dgram.Socket }> = [];
  private readonly servers: Array<{ ep: Endpoint; server: net.Server; wss?: WebSocketServer }> = [];
  private readonly conns = new Map<string, Conn>();
  private readonly pending = new Map<string, Promise<Conn>>();
  private closed = false;

  constructor(private readonly opts: TransportOptions) {}

  async listen(specs: ListenSpec[]): Promise<void> {
    for (const spec of specs) {
      const port = spec.port ?? DEFAULT_PORTS[spec.transport];
      if (spec.transport === 'udp') {
        const socket = dgram.createSocket({ type: net.isIPv6(spec.host) ? 'udp6' : 'udp4', reuseAddr: false });
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(port, spec.host, () => { socket.off('error', reject); resolve(); });
        });
        const ep: Endpoint = { transport: 'udp', host: spec.host, port: socket.address().port };
        socket.on('message', (data, rinfo) => {
          if (data.length > this.opts.maxMessageSize) return this.opts.onDrop?.('oversize');
          this.deliver({ data, peer: { transport: 'udp', address: rinfo.address, port: rinfo.port }, local: ep });
        });
        socket.on('error', (err) => this.opts.log.warn({ err }, 'sip udp socket error'));
        this.udp.push({ ep, socket });
        this.endpoints.push(ep);
        continue;
      }
      const ep: Endpoint = { transport: spec.transport, host: spec.host, port: 0 };
      const creds = spec.tls ?? this.opts.tls;
      if ((spec.transport === 'tls' || spec.transport === 'wss') && !creds) {
        throw new Error(`${spec.transport} listener on ${spec.host} needs tls { key, cert }`);
      }
      let server: net.Server;
      let wss: WebSocketServer | undefined;
      if (spec.transport === 'tcp') {
        server = net.createServer((socket) => this.adoptStream(socket, ep));
      } else if (spec.transport === 'tls') {
        server = tls.createServer({ key: creds!.key, cert: creds!.cert }, (socket) => this.adoptStream(socket, ep));
        server.on('tlsClientError', (err) => {
          this.opts.log.debug({ err }, 'sip tls handshake failed');
          this.opts.onDrop?.('tls-handshake');
        });
      } else {
        const httpServer = spec.transport === 'wss'
          ? https.createServer({ key: creds!.key, cert: creds!.cert })
          : http.createServer();
        httpServer.on('request', (_req, res) => { res.writeHead(426, { Connection: 'close' }); res.end(); });
        httpServer.on('tlsClientError', () => this.opts.onDrop?.('tls-handshake'));
        wss = new WebSocketServer({
          server: httpServer,
          maxPayload: this.opts.maxMessageSize,
          handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
        });
        wss.on('error', (err) => this.opts.log.warn({ err }, 'sip websocket server error'));
        wss.on('connection', (ws, req) => {
          if (ws.protocol !== 'sip') {
            this.opts.onDrop?.('ws-subprotocol');
            ws.on('error', () => undefined);
            ws.close(1002, 'subprotocol sip required');
            return;
          }
          this.adoptWs(ws, req.socket, ep);
        });
        server = httpServer;
      }
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, spec.host, () => { server.off('error', reject); resolve(); });
      });
      server.on('error', (err) => this.opts.log.warn({ err }, 'sip listener error'));
      ep.port = (server.address() as net.AddressInfo).port;
      this.servers.push({ ep, server, wss });
      this.endpoints.push(ep);
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
      const u = this.udp.find((x) => x.ep === via && net.isIPv6(x.ep.host) === net.isIPv6(peer.address)) ??
        this.udp.find((x) => net.isIPv6(x.ep.host) === net.isIPv6(peer.address)) ?? this.udp[0];
      if (!u) throw new Error('no udp transport');
      await new Promise<void>((resolve, reject) =>
        u.socket.send(data, peer.port, peer.address, (err) => (err ? reject(err) : resolve())));
      return u.ep;
    }
    const conn = await this.connection(peer);
    this.touch(peerKey(peer), conn);
    conn.write(data);
    return conn.local;
  }

  private async connection(peer: Peer): Promise<Conn> {
    const key = peerKey(peer);
    const existing = this.conns.get(key);
    if (existing && !existing.destroyed) return existing;
    if (isWs(peer.transport)) {
      // RFC 7118 §5: the server reaches a WebSocket client only over the connection the client opened
      throw new Error(`no ${peer.transport} connection from ${uriHost(peer.address)}:${peer.port}`);
    }
    const inflight = this.pending.get(key);
    if (inflight) return inflight;
    const local = this.endpointFor(peer.transport, peer.address);
    if (!local) throw new Error(`no ${peer.transport} transport`);
    const creds = this.opts.tls;
    const p = new Promise<Conn>((resolve, reject) => {
      const family = net.isIPv6(peer.address) ? 6 : 4;
      const socket = peer.transport === 'tls'
        ? tls.connect({
          host: peer.address, port: peer.port,
          ...(creds ? { key: creds.key, cert: creds.cert } : {}),
          ca: creds?.ca, rejectUnauthorized: creds?.rejectUnauthorized ?? true,
        })
        : net.connect({ host: peer.address, port: peer.port, family });
      socket.once('error', reject);
      const ready = (): void => {
        socket.off('error', reject);
        resolve(this.adoptStream(socket, local));
      };
      if (socket instanceof tls.TLSSocket) socket.once('secureConnect', ready);
      else socket.once('connect', ready);
    });
    this.pending.set(key, p);
    try {
      return await p;
    } finally {
      this.pending.delete(key);
    }
  }

  private register(key: string, conn: Conn): void {
    const old = this.conns.get(key);
    if (old && old !== conn && !old.destroyed) old.destroy();
    this.conns.set(key, conn);
    this.touch(key, conn);
  }

  private unregister(key: string, conn: Conn): void {
    if (conn.idle) clearTimeout(conn.idle);
    if (this.conns.get(key) === conn) this.conns.delete(key);
  }

  private adoptStream(socket: net.Socket, local: Endpoint): Conn {
    const transport = local.transport;
    const peer: Peer = { transport, address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    const key = peerKey(peer);
    const conn: Conn = {
      transport, local,
      write: (data) => { socket.write(data); },
      destroy: () => { socket.destroy(); },
      get destroyed() { return socket.destroyed; },
    };
    this.register(key, conn);
    socket.setNoDelay(true);
    const framer = new StreamFramer(this.opts.maxMessageSize);
    socket.on('data', (chunk: Buffer) => {
      this.touch(key, conn);
      let msgs: Buffer[];
      try {
        msgs = framer.push(chunk);
      } catch (err) {
        this.opts.log.debug({ err, peer }, 'unframeable sip stream, closing connection');
        this.opts.onDrop?.('unframeable');
        this.opts.onStreamError?.(peer, err as SipParseError);
        socket.destroy();
        return;
      }
      for (const data of msgs) this.deliver({ data, peer, local });
    });
    socket.on('error', (err) => this.opts.log.debug({ err, peer }, `sip ${transport} connection error`));
    socket.on('close', () => this.unregister(key, conn));
    return conn;
  }

  private adoptWs(ws: WebSocket, raw: net.Socket, local: Endpoint): void {
    const transport = local.transport;
    const peer: Peer = { transport, address: raw.remoteAddress ?? '', port: raw.remotePort ?? 0 };
    const key = peerKey(peer);
    const conn: Conn = {
      transport, local,
      // RFC 7118 §4.2: text frames for UTF-8 messages, binary otherwise
      write: (data) => ws.send(data, { binary: !isUtf8(data) }),
      destroy: () => ws.terminate(),
      get destroyed() { return ws.readyState !== ws.OPEN; },
    };
    this.register(key, conn);
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      this.touch(key, conn);
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      // one SIP message per WebSocket message (RFC 7118 §5.2); keep-alive CRLFs are ignored by the engine
      this.deliver({ data: buf, peer, local });
    });
    ws.on('error', (err) => {
      this.opts.log.debug({ err, peer }, `sip ${transport} connection error`);
      if (/max payload/i.test(err.message)) this.opts.onDrop?.('oversize');
    });
    ws.on('close', () => this.unregister(key, conn));
  }

  private touch(key: string, conn: Conn): void {
    if (conn.idle) clearTimeout(conn.idle);
    conn.idle = setTimeout(() => {
      this.opts.log.debug({ peer: key }, 'closing idle sip connection');
      conn.destroy();
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

  /** `udp/1.2.3.4:5060,tcp/...,tls/...,wss/...` as drachtio reports its contacts. */
  hostports(publicAddress?: string): string {
    return this.endpoints.map((e) => `${e.transport}/${uriHost(publicAddress ?? e.host)}:${e.port}`).join(',');
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.conns.values()) {
      if (c.idle) clearTimeout(c.idle);
      c.destroy();
    }
    this.conns.clear();
    await Promise.all([
      ...this.udp.map((u) => new Promise<void>((resolve) => u.socket.close(() => resolve()))),
      ...this.servers.map((t) => new Promise<void>((resolve) => {
        t.wss?.close();
        const s = t.server as net.Server & { closeAllConnections?: () => void };
        s.closeAllConnections?.();
        t.server.close(() => resolve());
      })),
    ]);
  }
}
