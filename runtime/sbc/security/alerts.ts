/**
 * `security.alert` webhooks (docs/security.md § Alerts): anomaly alerts of the call guard (calls-per-minute
 * spikes, unusual destinations) and bans of sources that attacked a tenant's SIP domain are delivered to the
 * tenant's `webhookUrl`, signed with its webhook secret (runtime/core/webhooks.ts, X-Cpaas-Signature v1), and
 * counted in `security_alert_webhooks_total{kind,result}`.
 *
 *   { "id", "type": "security.alert", "createdAt", "tenantId",
 *     "data": { "kind": "calls-per-minute" | "unusual-destination" | "ban", ...details } }
 *
 * A ban whose source attacked no known tenant domain (scanners probing the IP) is only logged and counted.
 */
import { WebhookSender } from '../../core/webhooks.js';
import type { Logger } from '../../core/logging.js';
import type { MetricsRegistry } from '../../core/metrics.js';
import type { SecurityAlert } from './call-guard.js';
import type { BanEvent } from './firewall.js';

export interface AlertTenants {
  get(id: string): Promise<{ webhookUrl?: string } | undefined>;
  webhookSecret(id: string): Promise<string | undefined>;
}

export interface SecurityAlertNotifier {
  alert(a: SecurityAlert): void;
  ban(e: BanEvent): void;
  /** Deliveries still in flight (tests). */
  idle(): Promise<void>;
}

export function createSecurityAlertNotifier(o: {
  tenants: AlertTenants;
  webhooks: WebhookSender;
  log: Logger;
  metrics: MetricsRegistry;
  /** Tenant of a SIP domain (ban alerts). */
  tenantByDomain?: (domain: string) => Promise<string | undefined>;
  fallbackUrl?: string;
  now?: () => number;
}): SecurityAlertNotifier {
  const sent = o.metrics.counter('security_alert_webhooks_total', 'security.alert webhooks, by kind and result (delivered, failed, no-webhook, dropped)');
  const inflight = new Set<Promise<unknown>>();
  const now = o.now ?? Date.now;

  const deliver = (tenantId: string, kind: string, data: Record<string, unknown>) => {
    const p = (async () => {
      const tenant = await o.tenants.get(tenantId);
      const secret = tenant?.webhookUrl ? await o.tenants.webhookSecret(tenantId) : undefined;
      if (!tenant?.webhookUrl || !secret) {
        sent.inc({ kind, result: 'no-webhook' });
        return;
      }
      const event = WebhookSender.event(tenantId, 'security.alert', { kind, ...data }, now());
      const r = o.webhooks.send(event, { url: tenant.webhookUrl, secret, ...(o.fallbackUrl ? { fallbackUrl: o.fallbackUrl } : {}) });
      if (!r) {
        sent.inc({ kind, result: 'dropped' });
        o.log.warn({ tenantId, kind }, 'security alert webhook dropped (queue full or closed)');
        return;
      }
      const res = await r;
      sent.inc({ kind, result: res.ok ? 'delivered' : 'failed' });
      if (!res.ok) o.log.warn({ tenantId, kind, error: res.lastError }, 'security alert webhook failed');
    })().catch((err: unknown) => {
      sent.inc({ kind, result: 'failed' });
      o.log.warn({ err, tenantId, kind }, 'security alert webhook failed');
    });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  return {
    alert: (a) => deliver(a.tenantId, a.kind, a.data),
    ban: (e) => {
      if (!e.domain || !o.tenantByDomain) return;
      const domain = e.domain;
      void o.tenantByDomain(domain).then((tenantId) => {
        if (tenantId) deliver(tenantId, 'ban', { source: e.source, reason: e.reason, seconds: e.seconds, offence: e.offence, domain });
      }, (err: unknown) => o.log.warn({ err, domain }, 'resolving the tenant of a ban failed'));
    },
    async idle() {
      while (inflight.size) await Promise.all([...inflight]);
    },
  };
}
