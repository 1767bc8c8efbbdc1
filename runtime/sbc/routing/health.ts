/**
 * OPTIONS health checks of trunk gateways. A gateway goes down after `failuresToDown` consecutive
 * failures (timeout, or any 5xx/6xx except 501 Not Implemented) and comes back up on the first answered ping. Only tenants the SBC has routed for (or that were `track()`ed) are checked:
 * the repository has no "all trunks" listing.
 */
import type { Logger } from '../../core/logging.js';
import type { Clock } from '../../core/clock.js';
import { isoTime } from '../../core/clock.js';
import type { GatewayHealth, SipRepository } from '../../core/storage/sip-types.js';

/** Sends one OPTIONS and resolves with the final status (408 on timeout). */
export type OptionsPinger = (uri: string, timeoutMs: number) => Promise<number>;

export interface HealthMonitorOptions {
  repo: Pick<SipRepository, 'listTrunks' | 'gatewayHealth' | 'putGatewayHealth'>;
  ping: OptionsPinger;
  intervalMs: number;
  failuresToDown: number;
  clock: Clock;
  log: Logger;
}

export const pingOk = (status: number): boolean => status !== 408 && (status < 500 || status === 501);

export class GatewayHealthMonitor {
  private readonly tenants = new Set<string>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly o: HealthMonitorOptions) {}

  track(tenantId: string): void {
    this.tenants.add(tenantId);
  }

  start(): void {
    if (this.o.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.runOnce(), this.o.intervalMs);
    this.timer.unref();
  }

  /** One round over every tracked tenant's gateways (coalesced). */
  runOnce(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<void> {
    for (const tenantId of this.tenants) {
      try {
        const [trunks, health] = await Promise.all([this.o.repo.listTrunks(tenantId), this.o.repo.gatewayHealth(tenantId)]);
        const hmap = new Map(health.map((h) => [`${h.trunkId}#${h.gatewayId}`, h]));
        await Promise.all(trunks.filter((t) => t.enabled).flatMap((t) => t.gateways.map(async (g) => {
          const uri = `sip:${g.host}:${g.port}${g.transport === 'udp' ? '' : `;transport=${g.transport}`}`;
          const status = await this.o.ping(uri, 2_000).catch(() => 408);
          const prev = hmap.get(`${t.id}#${g.id}`);
          const failures = pingOk(status) ? 0 : (prev?.consecutiveFailures ?? 0) + 1;
          const next: GatewayHealth = {
            tenantId, trunkId: t.id, gatewayId: g.id,
            status: failures >= this.o.failuresToDown ? 'down' : failures === 0 ? 'up' : (prev?.status ?? 'up'),
            lastCheckedAt: isoTime(this.o.clock.now()),
            consecutiveFailures: failures,
            calls: prev?.calls ?? 0,
            ...(prev?.mosAverage !== undefined ? { mosAverage: prev.mosAverage } : {}),
          };
          if (prev?.status !== next.status) this.o.log.info({ tenantId, trunk: t.name, gateway: g.id, status: next.status, sipStatus: status }, 'gateway health changed');
          await this.o.repo.putGatewayHealth(next);
        })));
      } catch (err) {
        this.o.log.warn({ err, tenantId }, 'gateway health round failed');
      }
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
