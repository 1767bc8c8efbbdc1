/**
 * In-memory SipRepository for unit tests and for the benchmark's storage-free variant. Same contract as
 * DynamoSipRepository for what the SBC uses (expired bindings and media nodes filtered on read); no paging.
 */
import { createHash } from 'node:crypto';
import type {
  GatewayHealth, MediaNode, PhoneNumber, Registration, Route, SipCallRecord, SipRepository, SipUser, Trunk,
} from '../../../../runtime/core/storage/sip-types.js';
import type { PageResult } from '../../../../runtime/core/storage/db.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

function inCidr(address: string, cidr: string): boolean {
  const [net, bitsS] = cidr.split('/');
  const bits = Number(bitsS ?? 32);
  const toInt = (ip: string) => ip.split('.').reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (toInt(address) & mask) === (toInt(net!) & mask);
}

export class MemorySipRepository implements SipRepository {
  domains = new Map<string, string>();
  users = new Map<string, SipUser>();
  regs = new Map<string, Registration>();
  trunks = new Map<string, Trunk>();
  routes = new Map<string, Route>();
  numbers = new Map<string, PhoneNumber>();
  health = new Map<string, GatewayHealth>();
  nodes = new Map<string, MediaNode>();
  calls = new Map<string, SipCallRecord>();
  private seq = 0;
  constructor(private readonly now: () => number = Date.now) {}
  private id(p: string) { return `${p}_${(++this.seq).toString(36)}`; }
  private nowSec() { return Math.floor(this.now() / 1000); }

  async tenantByDomain(domain: string) { return this.domains.get(domain.toLowerCase()); }
  async setTenantDomain(tenantId: string, domain: string) { this.domains.set(domain.toLowerCase(), tenantId); }
  async tenantByNumber(e164: string) { return this.numbers.get(e164); }
  async createUser(u: Omit<SipUser, 'createdAt' | 'ha1'> & { password: string }) {
    const { password, ...rest } = u;
    const user: SipUser = { ...rest, ha1: md5(`${u.username}:${u.domain}:${password}`), createdAt: new Date(this.now()).toISOString() };
    this.users.set(`${u.tenantId}/${u.username}`, user);
    return user;
  }
  async getUser(tenantId: string, username: string) { return this.users.get(`${tenantId}/${username}`); }
  async listUsers(tenantId: string): Promise<PageResult<SipUser>> { return { items: [...this.users.values()].filter((u) => u.tenantId === tenantId) }; }
  async deleteUser(tenantId: string, username: string) { this.users.delete(`${tenantId}/${username}`); }
  async putRegistration(r: Registration) { this.regs.set(`${r.tenantId}/${r.username}/${r.contactId}`, r); }
  async removeRegistration(tenantId: string, username: string, contactId: string) { this.regs.delete(`${tenantId}/${username}/${contactId}`); }
  async registrations(tenantId: string, username: string) {
    return [...this.regs.values()].filter((r) => r.tenantId === tenantId && r.username === username && r.expiresAt > this.nowSec());
  }
  async createTrunk(t: Omit<Trunk, 'id' | 'createdAt'>) {
    const trunk: Trunk = { ...t, id: this.id('tr'), createdAt: new Date(this.now()).toISOString() };
    this.trunks.set(trunk.id, trunk);
    return trunk;
  }
  async getTrunk(tenantId: string, trunkId: string) { const t = this.trunks.get(trunkId); return t?.tenantId === tenantId ? t : undefined; }
  async listTrunks(tenantId: string) { return [...this.trunks.values()].filter((t) => t.tenantId === tenantId); }
  async updateTrunk(tenantId: string, trunkId: string, patch: Partial<Omit<Trunk, 'id' | 'tenantId' | 'createdAt'>>) {
    const t = { ...(await this.getTrunk(tenantId, trunkId))!, ...patch };
    this.trunks.set(trunkId, t);
    return t;
  }
  async deleteTrunk(_tenantId: string, trunkId: string) { this.trunks.delete(trunkId); }
  async trunksForSource(address: string) { return [...this.trunks.values()].filter((t) => t.enabled && t.inboundCidrs.some((c) => inCidr(address, c))); }
  async createRoute(r: Omit<Route, 'id' | 'createdAt'>) {
    const route: Route = { ...r, id: this.id('rt'), createdAt: '' };
    this.routes.set(route.id, route);
    return route;
  }
  async listRoutes(tenantId: string) { return [...this.routes.values()].filter((r) => r.tenantId === tenantId); }
  async deleteRoute(_tenantId: string, routeId: string) { this.routes.delete(routeId); }
  async putNumber(n: Omit<PhoneNumber, 'createdAt'>) { const p = { ...n, createdAt: '' }; this.numbers.set(n.e164, p); return p; }
  async listNumbers(tenantId: string) { return [...this.numbers.values()].filter((n) => n.tenantId === tenantId); }
  async deleteNumber(_tenantId: string, e164: string) { this.numbers.delete(e164); }
  async putGatewayHealth(h: GatewayHealth) { this.health.set(`${h.tenantId}/${h.trunkId}/${h.gatewayId}`, { ...this.health.get(`${h.tenantId}/${h.trunkId}/${h.gatewayId}`), ...h }); }
  async gatewayHealth(tenantId: string) { return [...this.health.values()].filter((h) => h.tenantId === tenantId); }
  async recordGatewayQuality(tenantId: string, trunkId: string, gatewayId: string, mos: number) {
    const k = `${tenantId}/${trunkId}/${gatewayId}`;
    const cur = this.health.get(k) ?? { tenantId, trunkId, gatewayId, status: 'up' as const, lastCheckedAt: '', consecutiveFailures: 0, calls: 0 };
    this.health.set(k, { ...cur, calls: cur.calls + 1, mosAverage: cur.mosAverage === undefined ? mos : 0.2 * mos + 0.8 * cur.mosAverage });
  }
  async heartbeatMediaNode(n: Omit<MediaNode, 'expiresAt' | 'lastHeartbeat'>, ttlSeconds: number) {
    this.nodes.set(n.id, { ...n, lastHeartbeat: new Date(this.now()).toISOString(), expiresAt: this.nowSec() + ttlSeconds });
  }
  async mediaNodes() { return [...this.nodes.values()]; }
  async putCall(c: SipCallRecord) { this.calls.set(`${c.tenantId}/${c.id}`, c); }
  async updateCall(tenantId: string, callId: string, patch: Partial<SipCallRecord>) {
    const cur = this.calls.get(`${tenantId}/${callId}`);
    if (!cur) return;
    this.calls.set(`${tenantId}/${callId}`, { ...cur, ...patch, sip: { ...cur.sip, ...(patch.sip ?? {}) } });
  }
}
