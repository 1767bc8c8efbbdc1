/**
 * Registrar for the tenants' SIP users. Digest (HA1 only) with the user's SIP domain as realm; bindings in
 * DynamoDB with their expiry; several contacts per user (oldest dropped beyond `maxContacts`); `*` with
 * Expires: 0 removes all. NAT: each binding remembers the REGISTER's source address/port/transport, and
 * calls to the binding are sent there (Request-URI = the Contact as registered). Keep-alives: CRLF on TCP is
 * handled by the engine; OPTIONS pings are answered 200 by the SBC; short re-REGISTER intervals work.
 */
import { createHash } from 'node:crypto';
import type Srf from 'drachtio-srf';
import type { Logger } from '../../core/logging.js';
import type { Clock } from '../../core/clock.js';
import type { Registration, SipRepository } from '../../core/storage/sip-types.js';
import { parseAuthorization, type DigestAuthenticator } from '../auth/digest.js';
import { hostOf } from '../auth/admission.js';
import { userOf } from '../routing/numbers.js';
import type { SbcMetrics } from '../control/metrics.js';

export interface RegistrarOptions {
  repo: SipRepository;
  digest: DigestAuthenticator;
  clock: Clock;
  log: Logger;
  metrics: SbcMetrics;
  limits: { minExpires: number; maxExpires: number; defaultExpires: number; maxContacts: number };
  instanceId: string;
  /** Tenants seen (for gateway health tracking, status). */
  onTenant?(tenantId: string): void;
}

interface ContactEntry { uri: string; expires: number; instance?: string; raw: string }

export function parseContacts(header: string | undefined, defaultExpires: number): ContactEntry[] | '*' {
  if (!header) return [];
  if (header.trim() === '*') return '*';
  const out: ContactEntry[] = [];
  // Split on commas outside <> and quotes.
  const parts: string[] = [];
  let depth = 0, quoted = false, cur = '';
  for (const ch of header) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && ch === '<') depth++;
    if (!quoted && ch === '>') depth--;
    if (ch === ',' && depth === 0 && !quoted) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) parts.push(cur);
  for (const p of parts) {
    const m = /<([^>]+)>(.*)$/.exec(p) ?? /^\s*([^;\s]+)(.*)$/.exec(p);
    if (!m) continue;
    const params = m[2] ?? '';
    const exp = /;\s*expires\s*=\s*(\d+)/i.exec(params)?.[1];
    const inst = /;\s*\+sip\.instance\s*=\s*"?([^";]+)"?/i.exec(params)?.[1];
    out.push({ uri: m[1]!.trim(), expires: exp !== undefined ? Number(exp) : defaultExpires, raw: p.trim(), ...(inst ? { instance: inst } : {}) });
  }
  return out;
}

export const contactIdOf = (c: { uri: string; instance?: string }): string => createHash('sha1').update(c.instance ?? c.uri).digest('hex').slice(0, 16);

export class Registrar {
  constructor(private readonly o: RegistrarOptions) {}

  async handle(req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<void> {
    const { repo, digest, limits, metrics } = this.o;
    const to = req.get('To');
    const domain = hostOf(to);
    const username = userOf(to);
    const tenantId = await repo.tenantByDomain(domain);
    const user = tenantId ? await repo.getUser(tenantId, username) : undefined;
    const realm = user?.domain ?? domain;
    const creds = parseAuthorization(req.get('Authorization'));
    if (!creds || creds.username !== username) {
      metrics.registrations.inc({ result: 'challenged' });
      return void res.send(401, { headers: { 'WWW-Authenticate': digest.challenge(realm) } });
    }
    // Unknown users are challenged like known ones (no enumeration), then refused.
    const verdict = user && user.enabled ? digest.verify(creds, 'REGISTER', user.ha1) : 'invalid';
    if (verdict === 'stale') return void res.send(401, { headers: { 'WWW-Authenticate': digest.challenge(realm, true) } });
    if (verdict === 'invalid' || !user || !tenantId) {
      metrics.registrations.inc({ result: 'forbidden' });
      this.o.log.info({ username, domain, source: req.source_address }, 'REGISTER refused');
      return void res.send(403);
    }
    this.o.onTenant?.(tenantId);

    const headerExpires = req.has('Expires') ? Number(req.get('Expires')) : undefined;
    const contacts = parseContacts(req.has('Contact') ? req.get('Contact') : undefined, headerExpires ?? limits.defaultExpires);
    const existing = await repo.registrations(tenantId, username);
    if (contacts === '*') {
      if (headerExpires !== 0) return void res.send(400, 'Invalid Wildcard', {});
      await Promise.all(existing.map((r) => repo.removeRegistration(tenantId, username, r.contactId)));
      metrics.registrations.inc({ result: 'unregistered' });
      this.o.log.info({ username, tenantId }, 'all bindings removed');
      return void res.send(200);
    }
    const tooBrief = contacts.find((c) => c.expires > 0 && c.expires < limits.minExpires);
    if (tooBrief) return void res.send(423, 'Interval Too Brief', { headers: { 'Min-Expires': String(limits.minExpires) } });

    const nowSec = Math.floor(this.o.clock.now() / 1000);
    const transport = (String(req.protocol ?? 'udp').toLowerCase().startsWith('tcp') ? 'tcp' : 'udp') as Registration['source']['transport'];
    const cseq = Number(/^(\d+)/.exec(req.get('CSeq'))?.[1] ?? 0);
    const bindings = new Map(existing.map((r) => [r.contactId, r]));
    for (const c of contacts) {
      const contactId = contactIdOf(c);
      if (c.expires === 0) {
        bindings.delete(contactId);
        await repo.removeRegistration(tenantId, username, contactId);
        continue;
      }
      const reg: Registration = {
        tenantId, username, contactId,
        contact: c.uri,
        source: { address: req.source_address, port: Number(req.source_port), transport },
        expiresAt: nowSec + Math.min(c.expires, limits.maxExpires),
        callId: req.get('Call-ID'),
        cseq,
        sbcInstance: this.o.instanceId,
        ...(req.has('User-Agent') ? { userAgent: req.get('User-Agent').slice(0, 200) } : {}),
      };
      bindings.set(contactId, reg);
      await repo.putRegistration(reg);
    }
    // Too many contacts: the ones expiring first go.
    const all = [...bindings.values()].sort((a, b) => b.expiresAt - a.expiresAt);
    for (const r of all.slice(limits.maxContacts)) await repo.removeRegistration(tenantId, username, r.contactId);
    const kept = all.slice(0, limits.maxContacts);
    metrics.registrations.inc({ result: contacts.length === 0 ? 'query' : 'ok' });
    if (contacts.length) this.o.log.info({ username, tenantId, contacts: kept.length, source: `${req.source_address}:${req.source_port}` }, 'registered');
    const contactHeader = kept.map((r) => `<${r.contact}>;expires=${Math.max(0, r.expiresAt - nowSec)}`).join(', ');
    res.send(200, { headers: { ...(contactHeader ? { Contact: contactHeader } : {}), Date: new Date(this.o.clock.now()).toUTCString() } });
  }
}
