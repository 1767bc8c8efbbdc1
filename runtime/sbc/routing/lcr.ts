/**
 * Least-cost routing: routes whose prefix matches the number, longest prefix first; inside one prefix
 * length, gateways ordered by cost, then measured MOS (better first; unknown counts as 4.0), then route
 * priority and gateway priority. Gateways marked down by the OPTIONS monitor are skipped. Each gateway
 * appears once.
 */
import type { Gateway, GatewayHealth, Route, SipRepository, Trunk } from '../../core/storage/sip-types.js';
import { applyHeaderRules } from './headers.js';
import { formatForTrunk } from './numbers.js';
import type { DialTarget } from './target.js';

const UNKNOWN_MOS = 4.0;

export interface LcrCandidate { route: Route; trunk: Trunk; gateway: Gateway; health?: GatewayHealth }

export function rankCandidates(digits: string, routes: Route[], trunks: Map<string, Trunk>, health: GatewayHealth[]): LcrCandidate[] {
  const hmap = new Map(health.map((h) => [`${h.trunkId}#${h.gatewayId}`, h]));
  const matching = routes.filter((r) => digits.startsWith(r.prefix));
  const out: Array<LcrCandidate & { plen: number }> = [];
  for (const route of matching) {
    const trunk = trunks.get(route.trunkId);
    if (!trunk?.enabled) continue;
    for (const gateway of trunk.gateways) {
      const h = hmap.get(`${trunk.id}#${gateway.id}`);
      if (h?.status === 'down') continue;
      out.push({ route, trunk, gateway, ...(h ? { health: h } : {}), plen: route.prefix.length });
    }
  }
  out.sort((a, b) =>
    b.plen - a.plen ||
    a.gateway.cost - b.gateway.cost ||
    (b.health?.mosAverage ?? UNKNOWN_MOS) - (a.health?.mosAverage ?? UNKNOWN_MOS) ||
    a.route.priority - b.route.priority ||
    a.gateway.priority - b.gateway.priority);
  const seen = new Set<string>();
  return out.filter((c) => {
    const k = `${c.trunk.id}#${c.gateway.id}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function gatewayTarget(c: { trunk: Trunk; gateway: Gateway }, e164: string, fromUser: string, baseHeaders: Record<string, string>): DialTarget {
  const { trunk, gateway } = c;
  const toUser = formatForTrunk(e164, trunk);
  const hostport = `${gateway.host}:${gateway.port}`;
  return {
    kind: 'gateway',
    uri: `sip:${toUser}@${hostport}${gateway.transport === 'udp' ? '' : `;transport=${gateway.transport}`}`,
    fromUser: /^\+?\d+$/.test(fromUser) ? formatForTrunk(fromUser.startsWith('+') ? fromUser : `+${fromUser}`, trunk) : fromUser,
    toUser,
    toHost: gateway.host,
    headers: applyHeaderRules(baseHeaders, trunk.headerRules),
    ...(trunk.outboundAuth ? { auth: trunk.outboundAuth } : {}),
    trunkId: trunk.id,
    gatewayId: gateway.id,
    ...(trunk.record ? { trunkRecord: true } : {}), // media-services
    ...(trunk.codecs?.length ? { trunkCodecs: trunk.codecs } : {}), // media-services
    label: `${trunk.name}/${gateway.id}`,
  };
}

/** Outbound targets for an E.164 number, optionally restricted to one trunk (a number's `trunk` destination). */
export async function planOutbound(
  repo: Pick<SipRepository, 'listRoutes' | 'listTrunks' | 'gatewayHealth'>,
  o: { tenantId: string; e164: string; fromUser: string; headers: Record<string, string>; onlyTrunkId?: string },
): Promise<DialTarget[]> {
  const [routes, trunks, health] = await Promise.all([repo.listRoutes(o.tenantId), repo.listTrunks(o.tenantId), repo.gatewayHealth(o.tenantId)]);
  const tmap = new Map(trunks.map((t) => [t.id, t]));
  const digits = o.e164.replace(/^\+/, '');
  const effective = o.onlyTrunkId ? [{ id: 'direct', tenantId: o.tenantId, prefix: '', trunkId: o.onlyTrunkId, priority: 0, createdAt: '' }] : routes;
  return rankCandidates(digits, effective, tmap, health).map((c) => gatewayTarget(c, o.e164, o.fromUser, o.headers));
}
