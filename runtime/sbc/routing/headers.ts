/**
 * Topology hiding and per-trunk header rules. The B leg is built from scratch (new Call-ID, Via, Contact,
 * tags from the engine); only headers on the allow list below are copied from the A leg, then the trunk's
 * rules (remove / rename / add) apply.
 */
import type { HeaderRule } from '../../core/storage/sip-types.js';

/** Headers copied from the caller's INVITE to the B leg (case-insensitive). Everything else is dropped. */
export const PASS_HEADERS = ['Session-Expires', 'Min-SE', 'Privacy', 'P-Asserted-Identity', 'Alert-Info', 'Subject'] as const;

/** Headers that must never leave the SBC, whatever a rule says (they would reveal the inside). */
export const FORBIDDEN_HEADERS = new Set(['via', 'record-route', 'route', 'call-id', 'contact', 'cseq', 'max-forwards', 'content-length']);

export function passHeaders(get: (name: string) => string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of PASS_HEADERS) {
    const v = get(h);
    if (v) out[h] = v;
  }
  return out;
}

export function applyHeaderRules(headers: Record<string, string>, rules: readonly HeaderRule[]): Record<string, string> {
  const out: Record<string, string> = { ...headers };
  const find = (name: string) => Object.keys(out).find((k) => k.toLowerCase() === name.toLowerCase());
  for (const r of rules) {
    if (FORBIDDEN_HEADERS.has(r.header.toLowerCase()) || (r.newName && FORBIDDEN_HEADERS.has(r.newName.toLowerCase()))) continue;
    const key = find(r.header);
    if (r.action === 'remove') {
      if (key) delete out[key];
    } else if (r.action === 'rename') {
      if (key && r.newName) {
        out[r.newName] = out[key]!;
        delete out[key];
      }
    } else if (r.action === 'add' && r.value !== undefined) {
      out[key ?? r.header] = r.value;
    }
  }
  return out;
}
