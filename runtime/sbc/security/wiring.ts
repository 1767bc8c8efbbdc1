/**
 * Composition helper for main.ts / local.ts (docs/security.md): builds the security dependencies of buildSbcApp from
 * the `security` config and the table — tenant lists/policies, shared bans, `security.alert` webhooks, lawful
 * interception (secret resolved by the caller), per-call capture.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Value } from 'typebox/value';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logging.js';
import type { MetricsRegistry } from '../../core/metrics.js';
import { Db } from '../../core/storage/db.js';
import { BanStore, LiRepository, SecurityRepository } from '../../core/storage/security.js';
import { TenantRepository } from '../../core/storage/tenants.js';
import { WebhookSender } from '../../core/webhooks.js';
import type { SbcDeps } from '../app.js';
import { createSecurityAlertNotifier } from './alerts.js';
import { SecurityConfig } from './config.js';

export function securityDeps(o: {
  security: Partial<SecurityConfig> | undefined;
  doc: DynamoDBDocumentClient;
  tableName: string;
  clock: Clock;
  log: Logger;
  metrics: MetricsRegistry;
  tenantByDomain: (domain: string) => Promise<string | undefined>;
  /** The resolved `security.lawfulInterception.secret`. */
  liSecret?: string;
}): { deps: Pick<SbcDeps, 'securitySource' | 'sharedBans' | 'onSecurityAlert' | 'onSecurityBan' | 'lawfulInterception' | 'capture'>; close(): void } {
  const cfg = Value.Default(SecurityConfig, Value.Clone(o.security ?? {})) as SecurityConfig;
  const db = new Db(o.doc, o.tableName, o.clock);
  const log = o.log.child({ component: 'security' });
  const webhooks = new WebhookSender({ log, metrics: o.metrics });
  const notifier = cfg.alertWebhooks
    ? createSecurityAlertNotifier({ tenants: new TenantRepository(db), webhooks, log, metrics: o.metrics, tenantByDomain: o.tenantByDomain })
    : undefined;
  const deps: ReturnType<typeof securityDeps>['deps'] = {
    securitySource: new SecurityRepository(db),
    ...(cfg.sharedBans.enabled ? { sharedBans: { store: new BanStore(db), pollMs: cfg.sharedBans.pollSeconds * 1000 } } : {}),
    ...(notifier ? { onSecurityAlert: (a) => notifier.alert(a), onSecurityBan: (e) => notifier.ban(e) } : {}),
    ...(cfg.lawfulInterception && o.liSecret
      ? { lawfulInterception: { source: new LiRepository(db), secret: o.liSecret, cacheSeconds: cfg.lawfulInterception.cacheSeconds, webhooks } }
      : {}),
    ...(cfg.capture ? { capture: { dir: cfg.capture.dir, host: cfg.capture.host } } : {}),
  };
  return { deps, close: () => webhooks.close() };
}
