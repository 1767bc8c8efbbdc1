/**
 * Counters, gauges and histograms with labels; rendered as Prometheus text at /metrics and as
 * CloudWatch Embedded Metric Format (EMF) JSON lines for the CloudWatch agent/Logs.
 */
type Labels = Record<string, string>;

const labelKey = (labels: Labels | undefined): string =>
  labels ? Object.keys(labels).sort().map((k) => `${k}="${String(labels[k]).replace(/["\\\n]/g, '_')}"`).join(',') : '';

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {}
  abstract render(): string[];
  abstract emf(): Array<{ labels: Labels; value: number }>;
}

export class Counter extends Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(labels?: Labels, by = 1): void {
    const k = labelKey(labels);
    const cur = this.values.get(k);
    if (cur) cur.value += by;
    else this.values.set(k, { labels: labels ?? {}, value: by });
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels))?.value ?? 0;
  }

  /** Sum over every label set. */
  total(): number {
    let sum = 0;
    for (const v of this.values.values()) sum += v.value;
    return sum;
  }
  /** A handle with the label set resolved once, for hot paths. */
  bind(labels?: Labels): { inc(by?: number): void } {
    const k = labelKey(labels);
    let entry = this.values.get(k);
    if (!entry) {
      entry = { labels: labels ?? {}, value: 0 };
      this.values.set(k, entry);
    }
    const e = entry;
    return {
      inc(by = 1) {
        e.value += by;
      },
    };
  }
  render(): string[] {
    return [...this.values.entries()].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v.value}`);
  }
  emf() {
    return [...this.values.values()];
  }
}

export class Gauge extends Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  private collector?: () => number;
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }
  set(value: number, labels?: Labels): void {
    this.values.set(labelKey(labels), { labels: labels ?? {}, value });
  }
  inc(labels?: Labels, by = 1): void {
    const k = labelKey(labels);
    const cur = this.values.get(k);
    this.values.set(k, { labels: labels ?? {}, value: (cur?.value ?? 0) + by });
  }
  dec(labels?: Labels, by = 1): void {
    this.inc(labels, -by);
  }
  /** Computes the value on every scrape (e.g. socket count). */
  collect(fn: () => number): this {
    this.collector = fn;
    return this;
  }
  get(labels?: Labels): number {
    if (this.collector && !labels) return this.collector();
    return this.values.get(labelKey(labels))?.value ?? 0;
  }
  render(): string[] {
    if (this.collector) return [`${this.name} ${this.collector()}`];
    return [...this.values.entries()].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v.value}`);
  }
  emf() {
    return this.collector ? [{ labels: {}, value: this.collector() }] : [...this.values.values()];
  }
}

export class Histogram extends Metric {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    readonly buckets: number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  ) {
    super(name, help, 'histogram');
  }
  observe(value: number, labels?: Labels): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { labels: labels ?? {}, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string[] {
    const out: string[] = [];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : '';
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{${sep}le="${b}"} ${s.counts[i]}`));
      out.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      out.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`);
      out.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    return out;
  }
  emf() {
    return [...this.series.values()].map((s) => ({ labels: s.labels, value: s.count ? s.sum / s.count : 0 }));
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  constructor(private readonly prefix = 'cpaas_') {}

  private add<M extends Metric>(m: M): M {
    const existing = this.metrics.get(m.name);
    if (existing) return existing as M;
    this.metrics.set(m.name, m);
    return m;
  }
  counter(name: string, help: string): Counter {
    return this.add(new Counter(this.prefix + name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(this.prefix + name, help));
  }
  histogram(name: string, help: string, buckets?: number[]): Histogram {
    return this.add(new Histogram(this.prefix + name, help, buckets));
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    const lines: string[] = [];
    for (const m of this.metrics.values()) {
      lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.render());
    }
    return lines.join('\n') + '\n';
  }

  /** One EMF document per label set, for CloudWatch (`{"_aws": {...}, "<metric>": value, dims…}`). */
  emf(namespace: string, service: string, nowMs: number): string[] {
    const docs: string[] = [];
    for (const m of this.metrics.values()) {
      for (const { labels, value } of m.emf()) {
        const dims = ['service', ...Object.keys(labels).sort()];
        docs.push(
          JSON.stringify({
            _aws: { Timestamp: nowMs, CloudWatchMetrics: [{ Namespace: namespace, Dimensions: [dims], Metrics: [{ Name: m.name, Unit: m.type === 'histogram' ? 'Seconds' : 'Count' }] }] },
            service,
            ...labels,
            [m.name]: value,
          }),
        );
      }
    }
    return docs;
  }
}
