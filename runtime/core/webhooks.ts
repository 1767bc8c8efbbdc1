/**
 * Platform webhooks: one signing scheme for every event the platform sends to a tenant (docs/webhooks.md).
 *
 *   POST <webhookUrl>
 *   Content-Type: application/json
 *   X-Cpaas-Timestamp: <unix seconds>
 *   X-Cpaas-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *   X-Cpaas-Event-Id: <id>             (same id on every retry: receivers deduplicate on it)
 *   { "id", "type", "createdAt", "tenantId", "data" }
 *
 * `WebhookSender` delivers with a bounded queue, bounded concurrency, a per-attempt timeout, retries with
 * exponential backoff + full jitter on network errors, 5xx and 429 (never on other 4xx), and an optional
 * fallback URL once the primary is exhausted. Each attempt is re-signed with a fresh timestamp.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Logger } from './logging.js';
import type { MetricsRegistry } from './metrics.js';
import { newId } from './ids.js';
import { systemClock, type Clock } from './clock.js';

export const SIGNATURE_HEADER = 'x-cpaas-signature';
export const TIMESTAMP_HEADER = 'x-cpaas-timestamp';
export const EVENT_ID_HEADER = 'x-cpaas-event-id';

export interface WebhookEvent<T = unknown> {
  id: string;
  type: string;
  createdAt: string;
  tenantId: string;
  data: T;
}

/** `v1=<hex>` for the given timestamp (unix seconds) and raw body. */
export function signWebhook(secret: string, timestamp: number | string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Headers for one delivery attempt. */
export function webhookHeaders(secret: string, body: string, eventId: string, nowMs: number): Record<string, string> {
  const ts = Math.floor(nowMs / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': 'cpaas-webhooks/1',
    [TIMESTAMP_HEADER]: String(ts),
    [SIGNATURE_HEADER]: signWebhook(secret, ts, body),
    [EVENT_ID_HEADER]: eventId,
  };
}

/**
 * Checks a received webhook: the signature header may carry several comma-separated `v1=` values (secret
 * rotation); any match passes. Rejects timestamps further than `toleranceSeconds` from now (replays).
 */
export function verifyWebhook(secret: string, timestamp: string | number | undefined, body: string | Buffer, signature: string | undefined, toleranceSeconds = 300, nowMs = Date.now()): boolean {
  if (timestamp === undefined || signature === undefined) return false;
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowMs / 1000 - ts) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, String(timestamp), Buffer.isBuffer(body) ? body.toString('utf8') : body));
  return signature
    .split(',')
    .map((s) => Buffer.from(s.trim()))
    .some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected));
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** Exponential backoff with full jitter: uniform in [0, min(max, base × 2^attempt)] (attempt from 0). */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const cap = Math.min(o.maxMs, o.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

/** Whether an HTTP status is worth retrying: 5xx, 429 and 408. Other 4xx mean the receiver refused it. */
export const retryableStatus = (status: number): boolean => status >= 500 || status === 429 || status === 408;

export interface WebhookTarget {
  url: string;
  secret: string;
  fallbackUrl?: string;
}

export interface WebhookSenderOptions {
  log: Logger;
  metrics?: MetricsRegistry;
  clock?: Clock;
  /** Attempts per URL (primary, then fallback). */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  attemptTimeoutMs?: number;
  /** Deliveries waiting or in flight; `send` refuses more (returns false). */
  maxQueue?: number;
  concurrency?: number;
  fetch?: typeof fetch;
  random?: () => number;
}

/** `cancelled`: the sender was closed before the event was delivered (the producer should keep it for later). */
export type DeliveryResult = { ok: true; url: string; attempts: number; status: number } | { ok: false; attempts: number; lastError: string; cancelled?: true };

interface Job {
  event: WebhookEvent;
  target: WebhookTarget;
  resolve(r: DeliveryResult): void;
}

export class WebhookSender {
  private readonly queue: Job[] = [];
  private active = 0;
  private closed = false;
  private readonly idle = new Set<() => void>();
  private readonly o: Required<Omit<WebhookSenderOptions, 'metrics'>> & Pick<WebhookSenderOptions, 'metrics'>;
  private readonly delivered?: { inc(labels?: Record<string, string>, by?: number): void };
  private readonly failed?: { inc(labels?: Record<string, string>, by?: number): void };
  private readonly retries?: { inc(labels?: Record<string, string>, by?: number): void };
  private readonly timers = new Set<{ t: NodeJS.Timeout; done: () => void }>();
  /** Aborts in-flight requests on close(). */
  private readonly aborter = new AbortController();

  constructor(opts: WebhookSenderOptions) {
    this.o = {
      clock: systemClock,
      maxAttempts: 6,
      backoff: { baseMs: 500, maxMs: 30_000 },
      attemptTimeoutMs: 10_000,
      maxQueue: 10_000,
      concurrency: 8,
      fetch: globalThis.fetch,
      random: Math.random,
      ...opts,
    };
    this.delivered = opts.metrics?.counter('webhooks_delivered_total', 'Webhooks delivered (2xx)');
    this.failed = opts.metrics?.counter('webhooks_failed_total', 'Webhooks given up on (all attempts and the fallback exhausted, or refused with 4xx)');
    this.retries = opts.metrics?.counter('webhook_retries_total', 'Webhook attempts retried after a network error, 5xx or 429');
  }

  /** Builds an event with a fresh id. */
  static event<T>(tenantId: string, type: string, data: T, nowMs = Date.now(), id = newId('evt', nowMs)): WebhookEvent<T> {
    return { id, type, createdAt: new Date(nowMs).toISOString(), tenantId, data };
  }

  get pending(): number {
    return this.queue.length + this.active;
  }

  /**
   * Queues a delivery. Resolves when it is delivered or given up on; resolves `undefined` at once when the
   * queue is full or the sender is closed (the caller decides whether to keep the event for later).
   */
  send(event: WebhookEvent, target: WebhookTarget): Promise<DeliveryResult> | undefined {
    if (this.closed || this.pending >= this.o.maxQueue) return undefined;
    return new Promise<DeliveryResult>((resolve) => {
      this.queue.push({ event, target, resolve });
      this.pump();
    });
  }

  /** Waits until nothing is queued or in flight. */
  async drain(): Promise<void> {
    if (this.pending === 0) return;
    await new Promise<void>((r) => this.idle.add(r));
  }

  /** Stops accepting work, aborts requests in flight and backoff waits; unfinished jobs resolve `cancelled`. */
  close(): void {
    this.closed = true;
    this.aborter.abort();
    for (const t of this.timers) {
      clearTimeout(t.t);
      t.done();
    }
    this.timers.clear();
  }

  private pump(): void {
    while (this.active < this.o.concurrency && this.queue.length) {
      const job = this.queue.shift()!;
      this.active++;
      void this.deliver(job.event, job.target)
        .then(job.resolve, (err: unknown) => job.resolve({ ok: false, attempts: 0, lastError: String(err) }))
        .finally(() => {
          this.active--;
          this.pump();
          if (this.pending === 0) {
            const waiters = [...this.idle];
            this.idle.clear();
            for (const r of waiters) r();
          }
        });
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        t: setTimeout(() => {
          this.timers.delete(entry);
          resolve();
        }, ms),
        done: resolve,
      };
      this.timers.add(entry);
    });
  }

  private async deliver(event: WebhookEvent, target: WebhookTarget): Promise<DeliveryResult> {
    const body = JSON.stringify(event);
    const urls = [target.url, ...(target.fallbackUrl ? [target.fallbackUrl] : [])];
    let attempts = 0;
    let lastError = '';
    for (const url of urls) {
      for (let i = 0; i < this.o.maxAttempts && !this.closed; i++) {
        attempts++;
        const r = await this.attempt(url, body, event.id, target.secret);
        if (r.ok) {
          this.delivered?.inc({ type: event.type });
          if (attempts > 1) this.o.log.info({ eventId: event.id, url, attempts }, 'webhook delivered after retries');
          return { ok: true, url, attempts, status: r.status };
        }
        lastError = r.error;
        if (!r.retry) {
          this.failed?.inc({ type: event.type, reason: 'refused' });
          this.o.log.warn({ eventId: event.id, url, status: r.status }, 'webhook refused by receiver (4xx), not retried');
          return { ok: false, attempts, lastError };
        }
        if (i + 1 < this.o.maxAttempts) {
          this.retries?.inc({ type: event.type });
          this.o.log.debug({ eventId: event.id, url, attempt: attempts, error: r.error }, 'webhook attempt failed; backing off');
          await this.sleep(backoffDelay(i, this.o.backoff, this.o.random));
        }
      }
      if (this.closed) return { ok: false, attempts, lastError: lastError || 'sender closed', cancelled: true };
      if (url !== urls[urls.length - 1]) this.o.log.warn({ eventId: event.id, url, lastError }, 'webhook primary URL exhausted; trying the fallback URL');
    }
    this.failed?.inc({ type: event.type, reason: 'exhausted' });
    this.o.log.warn({ eventId: event.id, type: event.type, attempts, lastError }, 'webhook delivery failed');
    return { ok: false, attempts, lastError };
  }

  private async attempt(url: string, body: string, eventId: string, secret: string): Promise<{ ok: true; status: number } | { ok: false; retry: boolean; status?: number; error: string }> {
    try {
      const res = await this.o.fetch(url, {
        method: 'POST',
        headers: webhookHeaders(secret, body, eventId, this.o.clock.now()),
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.o.attemptTimeoutMs), this.aborter.signal]),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
      return { ok: false, retry: retryableStatus(res.status), status: res.status, error: `HTTP ${res.status}` };
    } catch (err) {
      return { ok: false, retry: true, error: (err as Error).name === 'TimeoutError' ? 'timeout' : String((err as Error).message ?? err) };
    }
  }
}
