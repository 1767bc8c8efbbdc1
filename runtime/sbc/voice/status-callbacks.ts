/**
 * Status callbacks of programmable calls (docs/api.md § Programmable voice, docs/webhooks.md § call.status):
 * every `CallStatusEvent` the engine emits for a call with a status callback is POSTed to it with the platform's
 * one webhook scheme (runtime/core/webhooks.ts: signed with the tenant's webhook secret, envelope
 * `{ id, type: "call.status", createdAt, tenantId, data: CallStatusEvent }`, retries with backoff on network
 * errors/5xx/429, then the fallback URL).
 *
 * In order per call: a call's next event waits until the previous one is delivered or finally given up on
 * (a per-call promise chain). Calls do not wait for each other. The event id is `evt_<callId>_<sequence>`: the
 * same on every retry, so receivers deduplicate on `X-Cpaas-Event-Id`.
 */
import type { Logger } from '../../core/logging.js';
import type { MetricsRegistry } from '../../core/metrics.js';
import type { CallStatusEvent } from '../../core/protocol/voice.js';
import { WebhookSender, type DeliveryResult, type WebhookSenderOptions } from '../../core/webhooks.js';
import type { VoiceEngine } from './contracts.js';

export const CALL_STATUS_EVENT_TYPE = 'call.status';

export interface StatusCallbackOptions {
  engine: Pick<VoiceEngine, 'onStatus'>;
  /** The tenant's webhook signing secret (TenantRepository.webhookSecret). */
  webhookSecret(tenantId: string): Promise<string | undefined>;
  log: Logger;
  metrics?: MetricsRegistry;
  /** Sender settings (attempts, backoff, timeouts); defaults are the platform's (docs/webhooks.md § Delivery). */
  sender?: Omit<WebhookSenderOptions, 'log' | 'metrics'>;
  /** Called after each event's final outcome (tests, metrics). */
  onDelivered?(e: CallStatusEvent, r: DeliveryResult | undefined): void;
}

export class StatusCallbacks {
  private readonly sender: WebhookSender;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly unsubscribe: () => void;
  private readonly log: Logger;

  constructor(private readonly o: StatusCallbackOptions) {
    this.log = o.log.child({ component: 'status-callbacks' });
    this.sender = new WebhookSender({ log: this.log, ...(o.metrics ? { metrics: o.metrics } : {}), ...(o.sender ?? {}) });
    this.unsubscribe = o.engine.onStatus((e, cb) => {
      if (cb) this.enqueue(e, cb);
    });
  }

  /** Calls with deliveries waiting or in flight. */
  get pendingCalls(): number {
    return this.chains.size;
  }

  private enqueue(e: CallStatusEvent, cb: { url: string; fallbackUrl?: string }): void {
    const prev = this.chains.get(e.callId) ?? Promise.resolve();
    const next = prev.then(() => this.deliver(e, cb)).catch((err: unknown) => this.log.error({ err, callId: e.callId }, 'status callback failed'));
    this.chains.set(e.callId, next);
    void next.finally(() => {
      if (this.chains.get(e.callId) === next) this.chains.delete(e.callId);
    });
  }

  private async deliver(e: CallStatusEvent, cb: { url: string; fallbackUrl?: string }): Promise<void> {
    const secret = await this.o.webhookSecret(e.tenantId);
    if (!secret) {
      this.log.warn({ tenantId: e.tenantId, callId: e.callId }, 'tenant has no webhook secret: status callback not sent');
      this.o.onDelivered?.(e, undefined);
      return;
    }
    const event = WebhookSender.event(e.tenantId, CALL_STATUS_EVENT_TYPE, e, Date.parse(e.timestamp) || Date.now(), `evt_${e.callId}_${e.sequence}`);
    const pending = this.sender.send(event, { url: cb.url, secret, ...(cb.fallbackUrl ? { fallbackUrl: cb.fallbackUrl } : {}) });
    if (!pending) {
      this.log.warn({ callId: e.callId, status: e.status }, 'status callback dropped (queue full or closing)');
      this.o.onDelivered?.(e, undefined);
      return;
    }
    const r = await pending;
    if (!r.ok && !r.cancelled) this.log.warn({ callId: e.callId, status: e.status, sequence: e.sequence, attempts: r.attempts, lastError: r.lastError }, 'status callback not delivered');
    this.o.onDelivered?.(e, r);
  }

  /** Waits until every queued status callback is delivered or given up on. */
  async drain(): Promise<void> {
    while (this.chains.size) await Promise.all([...this.chains.values()]);
  }

  /** Stops listening and aborts deliveries in flight (they resolve `cancelled`). */
  close(): void {
    this.unsubscribe();
    this.sender.close();
  }
}

export function startStatusCallbacks(o: StatusCallbackOptions): StatusCallbacks {
  return new StatusCallbacks(o);
}
