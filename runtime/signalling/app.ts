import { Server as IoServer, type ServerOptions } from 'socket.io';
import type { Services } from './services.js';
import { buildHttp, type HttpOptions } from './http/server.js';
import type { Http } from './http/types.js';
import { attachSocketLayer, type Io } from './socket/index.js';
import { gatewayEventSink } from './http/routes/internal-gateway.js'; // gateway (docs/gateway.md)

export interface SignallingApp {
  services: Services;
  http: Http;
  io: Io;
  /** Starts listening; returns the base URL (http://host:port). */
  listen(host: string, port: number): Promise<string>;
  /** Stops accepting, disconnects sockets, closes HTTP. */
  close(): Promise<void>;
}

export interface SignallingAppOptions extends HttpOptions {
  /** socket.io adapter (the Redis adapter when several instances run). */
  adapter?: ServerOptions['adapter'];
}

/** Builds REST + socket.io on one HTTP server from the given services (no env, no filesystem). */
export async function buildSignallingApp(services: Services, opts: SignallingAppOptions = {}): Promise<SignallingApp> {
  const http = await buildHttp(services, opts);
  const io: Io = new IoServer(http.server, {
    path: '/socket.io/',
    transports: ['websocket'],
    serveClient: false,
    // Oversized events are answered with PAYLOAD_TOO_LARGE by the socket layer; this bound only protects memory.
    maxHttpBufferSize: Math.max(1_000_000, services.config.limits.maxSocketPayloadBytes * 4),
    pingInterval: 10_000,
    pingTimeout: 10_000,
    ...(opts.adapter ? { adapter: opts.adapter } : {}),
  });
  const socketLayer = attachSocketLayer(io, services);
  services.gatewayEvents = gatewayEventSink(io); // gateway (docs/gateway.md): SBC events → sockets
  let closed = false;
  return {
    services,
    http,
    io,
    async listen(host, port) {
      await http.listen({ host, port });
      const addr = http.server.address();
      const actual = typeof addr === 'object' && addr ? addr.port : port;
      const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      services.log.info({ host, port: actual }, 'signalling listening');
      return `http://${shownHost}:${actual}`;
    },
    async close() {
      if (closed) return;
      closed = true;
      io.disconnectSockets(true);
      await socketLayer.stop();
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await http.close().catch(() => undefined);
    },
  };
}
