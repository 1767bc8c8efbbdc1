/**
 * The SIP side's data contract (SBC, registrar, trunks, routing, call records). Implemented over the
 * single table by runtime/core/storage/sip.ts; used by runtime/sbc and by the REST routes.
 *
 * Keys (all carry the tenant, except the two global lookups that map a SIP domain or a number to it):
 * | item           | pk                          | sk                     | notes                          |
 * |----------------|-----------------------------|------------------------|--------------------------------|
 * | sip user       | T#<tid>#SIPUSER             | <username>             | HA1 only, never the password   |
 * | registration   | T#<tid>#REG#<username>      | <contact-id>           | expiresAt = binding expiry     |
 * | trunk          | T#<tid>#TRUNK               | <trunkId>              | gateways inside                |
 * | route (LCR)    | T#<tid>#ROUTE               | <routeId>              |                                |
 * | number (DID)   | T#<tid>#NUMBER              | <e164>                 | + global NUMBER#<e164>         |
 * | domain lookup  | SIPDOMAIN#<domain>          | META                   | → tenantId                     |
 * | number lookup  | NUMBER#<e164>               | META                   | → tenantId                     |
 * | gateway health | T#<tid>#GWHEALTH            | <trunkId>#<gatewayId>  | status, MOS average            |
 * | media node     | MEDIANODE                   | <nodeId>               | heartbeat, load; expiresAt     |
 * | call record    | T#<tid>#CALL                | <callId>               | shared with 1:1 WebRTC calls   |
 * | sip address    | T#<tid>#SIPADDR             | <user part>            | → voice applicationId          |
 */
import type { CallRecord } from './calls.js';
import type { PageResult } from './db.js';

export interface SipUser {
  tenantId: string;
  username: string;
  /** The tenant's SIP domain (realm of the digest challenge). */
  domain: string;
  /** md5(username:realm:password), hex. The password itself is never stored. */
  ha1: string;
  displayName?: string;
  /** A WebRTC identity that also rings when this user is called (optional). */
  identity?: string;
  enabled: boolean;
  createdAt: string;
}

export interface Registration {
  tenantId: string;
  username: string;
  /** Stable id of the binding (hash of the Contact URI or +sip.instance). */
  contactId: string;
  contact: string;
  /** Where the REGISTER came from (NAT: we send requests there, not to the Contact host). */
  source: { address: string; port: number; transport: 'udp' | 'tcp' | 'tls' | 'ws' | 'wss' };
  expiresAt: number; // epoch seconds
  userAgent?: string;
  callId: string;
  cseq: number;
  /** Which SBC instance holds the flow (TCP/WS connections). */
  sbcInstance?: string;
}

export interface Gateway {
  id: string;
  host: string;
  port: number;
  transport: 'udp' | 'tcp' | 'tls';
  /** Lower is tried first among gateways of one trunk. */
  priority: number;
  /** Relative cost per minute, for least-cost routing across trunks. */
  cost: number;
}

export interface HeaderRule {
  action: 'remove' | 'rename' | 'add';
  header: string;
  value?: string;
  newName?: string;
}

export interface Trunk {
  id: string;
  tenantId: string;
  name: string;
  enabled: boolean;
  /** Inbound: carrier traffic accepted from these CIDRs (and/or by digest credentials below). */
  inboundCidrs: string[];
  /**
   * `ha1` = md5(username:realm:password). The REST API sets `realm` to the tenant's SIP domain (optional only for
   * records written before it existed); challenge carriers of this tenant with that realm.
   */
  inboundDigest?: { username: string; ha1: string; realm?: string };
  /** Outbound: where calls go, in priority order, with optional registration/auth credentials. */
  gateways: Gateway[];
  outboundAuth?: { username: string; password: string };
  /** How the called number is presented to the carrier. */
  numberFormat: 'e164' | 'e164-no-plus' | 'national';
  /** Country calling code used for 'national' formatting and for normalizing inbound numbers. */
  countryCode?: string;
  headerRules: HeaderRule[];
  // --- media-services (docs/recordings.md): record every call through the trunk; the codecs the carrier takes ---
  record?: boolean;
  /** rtpengine codec names in preference order (e.g. `['PCMA']`, `['G722', 'PCMA']`); a caller sharing none is transcoded. */
  codecs?: string[];
  // --- end media-services ---
  createdAt: string;
}

export interface Route {
  id: string;
  tenantId: string;
  /** E.164 digits prefix without '+', '' = default route. Longest prefix wins, then cost, then priority. */
  prefix: string;
  trunkId: string;
  priority: number;
  createdAt: string;
}

export type Destination =
  | { type: 'sip-user'; username: string }
  | { type: 'identity'; identity: string }
  | { type: 'trunk'; trunkId: string; number?: string }
  // --- voice-api: a number runs a voice application (stored, `applicationId`) or a webhook URL directly ---
  | { type: 'application'; url?: string; applicationId?: string };
  // --- end voice-api ---

export interface PhoneNumber {
  tenantId: string;
  e164: string;
  destination: Destination;
  createdAt: string;
}

export interface GatewayHealth {
  tenantId: string;
  trunkId: string;
  gatewayId: string;
  status: 'up' | 'down';
  lastCheckedAt: string;
  consecutiveFailures: number;
  /** Exponential moving average of the MOS measured on calls through this gateway. */
  mosAverage?: number;
  calls: number;
}

export interface MediaNode {
  id: string;
  /** rtpengine ng control address. */
  ngHost: string;
  ngPort: number;
  /** Current load: active sessions (from rtpengine) and the agent's own view. */
  activeSessions: number;
  capacity: number;
  lastHeartbeat: string;
  expiresAt: number; // epoch seconds: heartbeat + 3 × interval
  // --- media-services: the media agent's play-source endpoint (docs/recordings.md § Playback on AWS) ---
  playSourcesUrl?: string;
  // --- end media-services ---
}

/** SIP and gateway calls are CallRecords with kind 'sip' | 'gateway' plus these fields. */
export interface SipCallDetails {
  direction: 'inbound' | 'outbound';
  fromUri: string;
  toUri: string;
  trunkId?: string;
  gatewayId?: string;
  sipStatus?: number;
  sipReason?: string;
  mediaNodeId?: string;
  quality?: { mos?: number; packetLossPct?: number; jitterMs?: number; rttMs?: number };
  // --- voice: data attached by the `tag` verb / originate `tag` (docs/voice.md) ---
  tags?: Record<string, string | number | boolean>;
  // --- end voice ---
}

export type SipCallRecord = CallRecord & { sip: SipCallDetails };

export interface SipRepository {
  // tenants by SIP domain / number
  tenantByDomain(domain: string): Promise<string | undefined>;
  setTenantDomain(tenantId: string, domain: string): Promise<void>;
  tenantByNumber(e164: string): Promise<PhoneNumber | undefined>;

  // sip users
  createUser(u: Omit<SipUser, 'createdAt' | 'ha1'> & { password: string }): Promise<SipUser>;
  getUser(tenantId: string, username: string): Promise<SipUser | undefined>;
  listUsers(tenantId: string, limit: number, cursor?: string): Promise<PageResult<SipUser>>;
  deleteUser(tenantId: string, username: string): Promise<void>;

  // registrations
  putRegistration(r: Registration): Promise<void>;
  removeRegistration(tenantId: string, username: string, contactId: string): Promise<void>;
  registrations(tenantId: string, username: string): Promise<Registration[]>;

  // trunks, routes, numbers
  createTrunk(t: Omit<Trunk, 'id' | 'createdAt'>): Promise<Trunk>;
  getTrunk(tenantId: string, trunkId: string): Promise<Trunk | undefined>;
  listTrunks(tenantId: string): Promise<Trunk[]>;
  updateTrunk(tenantId: string, trunkId: string, patch: Partial<Omit<Trunk, 'id' | 'tenantId' | 'createdAt'>>): Promise<Trunk>;
  deleteTrunk(tenantId: string, trunkId: string): Promise<void>;
  /** Trunks of every tenant whose inbound CIDRs contain this address (carrier identification). */
  trunksForSource(address: string): Promise<Trunk[]>;
  createRoute(r: Omit<Route, 'id' | 'createdAt'>): Promise<Route>;
  listRoutes(tenantId: string): Promise<Route[]>;
  deleteRoute(tenantId: string, routeId: string): Promise<void>;
  putNumber(n: Omit<PhoneNumber, 'createdAt'>): Promise<PhoneNumber>;
  listNumbers(tenantId: string): Promise<PhoneNumber[]>;
  deleteNumber(tenantId: string, e164: string): Promise<void>;

  // gateway health and quality
  putGatewayHealth(h: GatewayHealth): Promise<void>;
  gatewayHealth(tenantId: string): Promise<GatewayHealth[]>;
  recordGatewayQuality(tenantId: string, trunkId: string, gatewayId: string, mos: number): Promise<void>;

  // media nodes
  heartbeatMediaNode(n: Omit<MediaNode, 'expiresAt' | 'lastHeartbeat'>, ttlSeconds: number): Promise<void>;
  mediaNodes(): Promise<MediaNode[]>;

  // --- voice-sip-address: `sip:<name>@<tenant domain>` → the voice application it runs (item T#<tid>#SIPADDR / <name>,
  // written with the application by runtime/core/storage/applications.ts); optional for test doubles ---
  applicationBySipAddress?(tenantId: string, name: string): Promise<string | undefined>;
  // --- end voice-sip-address ---

  // call records (same partition as 1:1 calls; GET /v1/calls lists both)
  putCall(c: SipCallRecord): Promise<void>;
  updateCall(tenantId: string, callId: string, patch: Partial<SipCallRecord>): Promise<void>;
}
