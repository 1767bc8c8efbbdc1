import { afterAll, describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../../runtime/core/metrics.js';
import { startMetricsServer, type MetricsServer } from '../../../runtime/media-agent/metrics-server.js';

describe('media agent GET /metrics', () => {
  let server: MetricsServer | undefined;
  afterAll(async () => server?.close());

  it('serves the registry in Prometheus text format (spool depth, uploads, bytes, failures)', async () => {
    const registry = new MetricsRegistry();
    let pending = 3;
    registry.gauge('recordings_pending', 'Recordings waiting or in progress on this node').collect(() => pending);
    registry.counter('recordings_uploaded_total', 'Recordings confirmed in S3').inc(undefined, 2);
    registry.counter('recordings_uploaded_bytes_total', 'Bytes').inc(undefined, 12345);
    registry.counter('recordings_step_failures_total', 'Failed steps').inc();
    server = await startMetricsServer({ host: '127.0.13.20', port: 0, registry });
    const base = `http://${server.address.host}:${server.address.port}`;
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('# TYPE cpaas_recordings_pending gauge');
    expect(text).toMatch(/^cpaas_recordings_pending 3$/m);
    expect(text).toMatch(/^cpaas_recordings_uploaded_total 2$/m);
    expect(text).toMatch(/^cpaas_recordings_uploaded_bytes_total 12345$/m);
    expect(text).toMatch(/^cpaas_recordings_step_failures_total 1$/m);
    pending = 0;
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^cpaas_recordings_pending 0$/m);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
