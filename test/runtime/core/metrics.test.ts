import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../../runtime/core/metrics.js';

describe('metrics', () => {
  it('renders counters, gauges and histograms as Prometheus text', () => {
    const m = new MetricsRegistry();
    const req = m.counter('http_requests_total', 'HTTP requests');
    req.inc({ route: '/v1/rooms', status: '2xx' });
    req.inc({ status: '2xx', route: '/v1/rooms' }, 2); // label order does not matter
    req.inc({ route: '/v1/"odd"\nroute', status: '4xx' });
    expect(m.counter('http_requests_total', 'again')).toBe(req); // registered once
    m.gauge('sockets', 'Connected sockets').collect(() => 7);
    const rooms = m.gauge('rooms_open', 'Open rooms');
    rooms.inc({ tenant: 'a' }, 3);
    rooms.dec({ tenant: 'a' });
    const lat = m.histogram('latency_seconds', 'Latency', [0.01, 0.1, 1]);
    lat.observe(0.005, { route: 'r' });
    lat.observe(0.05, { route: 'r' });
    lat.observe(5, { route: 'r' });

    expect(m.render()).toBe(
      [
        '# HELP cpaas_http_requests_total HTTP requests',
        '# TYPE cpaas_http_requests_total counter',
        'cpaas_http_requests_total{route="/v1/rooms",status="2xx"} 3',
        'cpaas_http_requests_total{route="/v1/_odd__route",status="4xx"} 1',
        '# HELP cpaas_sockets Connected sockets',
        '# TYPE cpaas_sockets gauge',
        'cpaas_sockets 7',
        '# HELP cpaas_rooms_open Open rooms',
        '# TYPE cpaas_rooms_open gauge',
        'cpaas_rooms_open{tenant="a"} 2',
        '# HELP cpaas_latency_seconds Latency',
        '# TYPE cpaas_latency_seconds histogram',
        'cpaas_latency_seconds_bucket{route="r",le="0.01"} 1',
        'cpaas_latency_seconds_bucket{route="r",le="0.1"} 2',
        'cpaas_latency_seconds_bucket{route="r",le="1"} 2',
        'cpaas_latency_seconds_bucket{route="r",le="+Inf"} 3',
        'cpaas_latency_seconds_sum{route="r"} 5.055',
        'cpaas_latency_seconds_count{route="r"} 3',
        '',
      ].join('\n'),
    );
    expect(req.get({ route: '/v1/rooms', status: '2xx' })).toBe(3);
    expect(m.gauge('sockets', '').get()).toBe(7);
  });

  it('renders unlabelled series without braces', () => {
    const m = new MetricsRegistry('x_');
    m.counter('c', 'c').inc();
    m.histogram('h', 'h', [1]).observe(0.5);
    expect(m.render()).toContain('\nx_c 1\n');
    expect(m.render()).toContain('x_h_bucket{le="1"} 1');
    expect(m.render()).toContain('x_h_sum 0.5');
  });

  it('emits one CloudWatch EMF document per label set', () => {
    const m = new MetricsRegistry();
    m.counter('invites_total', 'Invites').inc({ status: 'sent' }, 4);
    m.histogram('latency_seconds', 'Latency').observe(0.2);
    m.histogram('latency_seconds', 'Latency').observe(0.4);
    const docs = m.emf('CPaaS', 'signalling', 1_700_000_000_000).map((d) => JSON.parse(d));
    expect(docs).toEqual([
      {
        _aws: { Timestamp: 1_700_000_000_000, CloudWatchMetrics: [{ Namespace: 'CPaaS', Dimensions: [['service', 'status']], Metrics: [{ Name: 'cpaas_invites_total', Unit: 'Count' }] }] },
        service: 'signalling',
        status: 'sent',
        cpaas_invites_total: 4,
      },
      {
        _aws: { Timestamp: 1_700_000_000_000, CloudWatchMetrics: [{ Namespace: 'CPaaS', Dimensions: [['service']], Metrics: [{ Name: 'cpaas_latency_seconds', Unit: 'Seconds' }] }] },
        service: 'signalling',
        cpaas_latency_seconds: expect.closeTo(0.3, 10),
      },
    ]);
  });
});
