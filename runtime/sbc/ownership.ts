/**
 * Several SBC instances behind one control NLB (docs/sbc.md § Several SBC instances). Every live call (SIP B2BUA,
 * gateway, programmable voice) and every conference is registered in the table (runtime/core/storage/call-owners.ts)
 * with this instance's private control URL before its id is handed out. A control request about a call or a
 * conference that is not on this instance is forwarded to its owner (same method, headers, body) with the hop header
 * `x-cpaas-forwarded: 1`, so signalling keeps talking to the NLB and never needs to know which SBC holds what.
 *
 * - owner is this instance, no owner known, or the request was already forwarded → handled here (an unknown call
 *   answers the normal CALL_NOT_FOUND);
 * - owner is another instance → proxied; owner unreachable → SERVICE_UNAVAILABLE (retryable).
 */
import type { Logger } from '../core/logging.js';
import { AppError } from '../core/errors.js';
import { CALL_OWNER_TTL_SECONDS, type CallOwnerRepository, type OwnedKind } from '../core/storage/call-owners.js';
import type { ControlRequest, ControlResponse, ControlServer, OwnedBy } from './control/server.js';

export const FORWARDED_HEADER = 'x-cpaas-forwarded';

/** The hook the call-creating parts get (app.ts, gateway, voice engine, conferences). Never rejects. */
export interface CallOwnershipHook {
  /** Registers a live call; resolves once the registry has it (or the write failed, logged). */
  claim(callId: string, tenantId: string): Promise<void>;
  release(callId: string): void;
  claimConference(tenantId: string, name: string): Promise<void>;
  releaseConference(tenantId: string, name: string): void;
}

export interface CallOwnershipOptions {
  repo: CallOwnerRepository;
  /** This SBC instance. */
  instanceId: string;
  /** This instance's private control URL as the other instances reach it (`control.advertiseUrl`). */
  controlUrl: string;
  log: Logger;
  ttlSeconds?: number;
  /** How often live items are re-written (default 30 min). */
  refreshSeconds?: number;
  /** Forwarding timeout (default 10 s). */
  forwardTimeoutMs?: number;
  fetch?: typeof fetch;
}

/** `written`: the registry write in flight or done (a release waits for it, so a fast hang-up leaves no stale item). */
interface Local { kind: OwnedKind; id: string; tenantId: string; written?: Promise<void> }

const localKey = (kind: OwnedKind, id: string, tenantId?: string) => (kind === 'call' ? `call:${id}` : `conf:${tenantId ?? ''}:${id}`);

/** Headers passed on to the owner (the shared secret, content type, correlation ids). */
const PASSED_HEADERS = /^(content-type|accept|x-cpaas-|x-request-id|traceparent)/i;

export class CallOwnership implements CallOwnershipHook {
  private readonly local = new Map<string, Local>();
  private readonly timer: NodeJS.Timeout;
  private readonly ttl: number;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly o: CallOwnershipOptions) {
    this.ttl = o.ttlSeconds ?? CALL_OWNER_TTL_SECONDS;
    this.fetchFn = o.fetch ?? fetch;
    this.timer = setInterval(() => void this.refresh(), (o.refreshSeconds ?? 1800) * 1000);
    this.timer.unref();
  }

  get instanceId(): string {
    return this.o.instanceId;
  }

  get controlUrl(): string {
    return this.o.controlUrl;
  }

  /** Ids held here (tests, status). */
  get size(): number {
    return this.local.size;
  }

  isLocal(kind: OwnedKind, id: string, tenantId?: string): boolean {
    return this.local.has(localKey(kind, id, tenantId));
  }

  private async write(l: Local): Promise<void> {
    try {
      await this.o.repo.put(l.kind, l.id, { tenantId: l.tenantId, ownerId: this.o.instanceId, controlUrl: this.o.controlUrl }, this.ttl);
    } catch (err) {
      this.o.log.warn({ err, kind: l.kind, id: l.id }, 'registering call ownership failed (control requests through another SBC will miss it)');
    }
  }

  private remove(kind: OwnedKind, id: string, tenantId?: string): void {
    const key = localKey(kind, id, tenantId);
    const l = this.local.get(key);
    if (!l) return;
    this.local.delete(key);
    void (l.written ?? Promise.resolve()).then(() => this.o.repo.delete(kind, id, this.o.instanceId, tenantId)).catch((err: unknown) => this.o.log.warn({ err, kind, id }, 'releasing call ownership failed (the TTL will)'));
  }

  claim(callId: string, tenantId: string): Promise<void> {
    const l: Local = { kind: 'call', id: callId, tenantId };
    this.local.set(localKey('call', callId), l);
    return (l.written = this.write(l));
  }

  release(callId: string): void {
    this.remove('call', callId);
  }

  claimConference(tenantId: string, name: string): Promise<void> {
    const l: Local = { kind: 'conference', id: name, tenantId };
    this.local.set(localKey('conference', name, tenantId), l);
    return (l.written = this.write(l));
  }

  releaseConference(tenantId: string, name: string): void {
    this.remove('conference', name, tenantId);
  }

  /** Re-writes every live item (long calls outlive the TTL otherwise). */
  async refresh(): Promise<void> {
    for (const l of [...this.local.values()]) await this.write(l);
  }

  /**
   * The forwarding decision for a control request about `id`: undefined = handle it here; otherwise the owner's
   * answer (or SERVICE_UNAVAILABLE when the owner cannot be reached).
   */
  async forward(kind: OwnedKind, id: string, tenantId: string | undefined, req: ControlRequest, rawBody: string): Promise<ControlResponse | undefined> {
    if (req.headers[FORWARDED_HEADER]) return undefined;
    if (this.isLocal(kind, id, tenantId)) return undefined;
    if (kind === 'conference' && !tenantId) return undefined;
    const owner = await this.o.repo.get(kind, id, tenantId).catch((err: unknown) => {
      this.o.log.warn({ err, kind, id }, 'call ownership lookup failed; handling the request here');
      return undefined;
    });
    if (!owner || owner.ownerId === this.o.instanceId) return undefined;
    const headers: Record<string, string> = { [FORWARDED_HEADER]: '1' };
    for (const [k, v] of Object.entries(req.headers)) if (PASSED_HEADERS.test(k) && typeof v === 'string') headers[k] = v;
    const qs = req.query.toString();
    const url = `${owner.controlUrl.replace(/\/+$/, '')}${req.path}${qs ? `?${qs}` : ''}`;
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        method: req.method, headers, ...(rawBody && req.method !== 'GET' ? { body: rawBody } : {}),
        signal: AbortSignal.timeout(this.o.forwardTimeoutMs ?? 10_000),
      });
    } catch (err) {
      this.o.log.warn({ err, kind, id, owner: owner.ownerId, url }, 'the SBC owning the call is unreachable');
      throw new AppError('SERVICE_UNAVAILABLE', `the SBC holding ${kind} ${id} is unreachable, retry later`, { retryable: true }, { cause: err });
    }
    const text = await res.text();
    this.o.log.debug({ kind, id, owner: owner.ownerId, status: res.status }, 'control request forwarded');
    return { status: res.status, body: text, contentType: res.headers.get('content-type') ?? 'application/json' };
  }

  /** Ids still held (released at shutdown: the calls are hung up). */
  close(): void {
    clearInterval(this.timer);
    for (const l of [...this.local.values()]) this.remove(l.kind, l.id, l.tenantId);
  }
}

/** `control.advertiseUrl`: `auto` → `http://<privateHost>:<port>`; anything else unchanged. */
export function resolveAdvertiseUrl(advertiseUrl: string, port: number, privateHost: string): string {
  return advertiseUrl === 'auto' ? `http://${privateHost.includes(':') ? `[${privateHost}]` : privateHost}:${port}` : advertiseUrl;
}

/** Control paths that name a call or a conference (all methods). */
export const OWNED_ROUTES: ReadonlyArray<{ path: string; ownedBy: OwnedBy }> = [
  { path: '/v1/gateway/calls/:callId/control', ownedBy: 'callId' },
  { path: '/v1/gateway/calls/:callId/answer', ownedBy: 'callId' },
  { path: '/v1/calls/:callId/recording', ownedBy: 'callId' },
  { path: '/v1/calls/:callId/play', ownedBy: 'callId' },
  { path: '/v1/calls/:callId/dtmf', ownedBy: 'callId' },
  { path: '/v1/calls/:callId/capture', ownedBy: 'callId' },
  { path: '/v1/voice/calls/:callId', ownedBy: 'callId' },
  { path: '/v1/conferences/:name', ownedBy: 'conference' },
  { path: '/v1/conferences/:name/participants', ownedBy: 'conference' },
  { path: '/v1/conferences/:name/participants/:participantId', ownedBy: 'conference' },
];

/** Marks the owned routes and installs the forwarder on the control server. */
export function mountOwnershipForwarding(control: ControlServer, ownership: CallOwnership, routes: ReadonlyArray<{ path: string; ownedBy: OwnedBy }> = OWNED_ROUTES): void {
  for (const r of routes) control.markOwned(r.path, r.ownedBy);
  control.setForwarder((ownedBy, req, raw) => ownedBy === 'callId'
    ? ownership.forward('call', req.params.callId ?? '', undefined, req, raw)
    : ownership.forward('conference', req.params.name ?? '', req.query.get('tenantId') ?? undefined, req, raw));
}
