/**
 * `conference.*` events as signed tenant webhooks (docs/conferences.md § Events), the same way the recording
 * pipeline sends `recording.completed`: to the tenant's `webhookUrl`, signed with the tenant's webhook secret by
 * runtime/core/webhooks.ts (retries with backoff, optional fallback URL). Tenants without a webhook URL get none.
 * Events of one conference are delivered in order (each waits for the previous one of the same conference).
 */
import { WebhookSender } from '../../../core/webhooks.js';
import type { Logger } from '../../../core/logging.js';
import type { ConferenceEventSink } from './manager.js';

export interface ConferenceWebhookOptions {
  tenants: { get(id: string): Promise<{ webhookUrl?: string } | undefined>; webhookSecret(id: string): Promise<string | undefined> };
  webhooks: WebhookSender;
  fallbackUrl?: string;
  log: Logger;
  now?: () => number;
}

export function conferenceWebhookSink(o: ConferenceWebhookOptions): ConferenceEventSink & { idle(): Promise<void> } {
  const chains = new Map<string, Promise<void>>();
  const sink = (tenantId: string, type: Parameters<ConferenceEventSink>[1], data: Parameters<ConferenceEventSink>[2]) => {
    const event = WebhookSender.event(tenantId, type, data, (o.now ?? Date.now)());
    const k = `${tenantId}\u0000${data.conference}`;
    const prev = chains.get(k) ?? Promise.resolve();
    const next = prev.then(async () => {
      const tenant = await o.tenants.get(tenantId);
      if (!tenant?.webhookUrl) return;
      const secret = await o.tenants.webhookSecret(tenantId);
      if (!secret) {
        o.log.warn({ tenantId, type }, 'tenant has a webhook URL but no signing secret; conference event not sent');
        return;
      }
      const sent = o.webhooks.send(event, { url: tenant.webhookUrl, secret, ...(o.fallbackUrl ? { fallbackUrl: o.fallbackUrl } : {}) });
      if (!sent) {
        o.log.warn({ tenantId, type }, 'webhook queue full; conference event dropped');
        return;
      }
      const r = await sent;
      if (!r.ok) o.log.warn({ tenantId, type, lastError: r.lastError }, 'conference webhook not delivered');
    }).catch((err: unknown) => o.log.warn({ err, tenantId, type }, 'conference webhook failed'));
    chains.set(k, next);
    void next.then(() => {
      if (chains.get(k) === next) chains.delete(k);
    });
  };
  return Object.assign(sink, { idle: async () => void (await Promise.all([...chains.values()])) });
}
