/**
 * The media agent's Prometheus endpoint (docs/recordings.md § Metrics): `GET /metrics` (text format 0.0.4) and
 * `GET /healthz`. Recording pipeline figures: spool depth (`cpaas_recordings_pending`), conversions, uploads, bytes,
 * failed steps, completions, webhook counters. Bind it to a private address (the CDK opens it to the VPC only).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsRegistry } from '../core/metrics.js';

export interface MetricsServer {
  address: { host: string; port: number };
  close(): Promise<void>;
}

export async function startMetricsServer(o: { host: string; port: number; registry: MetricsRegistry }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(o.registry.render());
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"code":"ROUTE_NOT_FOUND"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    address: { host: a.address, port: a.port },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
