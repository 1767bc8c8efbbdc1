/** E.164 normalization of dialled/received numbers and per-trunk presentation. */
import type { Trunk } from '../../core/storage/sip-types.js';

/** The user part of a SIP/tel URI, visual separators removed (`sip:+1 (555) 010-0000@h` → `+15550100000`). */
export function userOf(uri: string): string {
  const m = /^(?:sips?:|tel:)?([^@;>]*)/i.exec(uri.replace(/^.*</, ''));
  return decodeURIComponent(m?.[1] ?? '').replace(/[\s().-]/g, '');
}

export const isNumberLike = (user: string): boolean => /^\+?\d{3,15}$/.test(user);

/**
 * To E.164 (`+<digits>`), or undefined when it is not a number. `00…` is international; a leading `0` with a
 * country code is national; bare digits get the country code when shorter than 11 digits.
 */
export function toE164(user: string, countryCode?: string): string | undefined {
  const u = user.replace(/[\s().-]/g, '');
  if (!isNumberLike(u) && !/^00\d{3,15}$/.test(u)) return undefined;
  if (u.startsWith('+')) return u;
  if (u.startsWith('00')) return `+${u.slice(2)}`;
  if (countryCode) {
    if (u.startsWith('0')) return `+${countryCode}${u.slice(1)}`;
    if (u.startsWith(countryCode) && u.length >= 11) return `+${u}`;
    if (u.length < 11) return `+${countryCode}${u}`;
  }
  return `+${u}`;
}

/** The number as the trunk wants it in the Request-URI/To (`national` drops the trunk's country code and prefixes 0). */
export function formatForTrunk(e164: string, trunk: Pick<Trunk, 'numberFormat' | 'countryCode'>): string {
  const digits = e164.replace(/^\+/, '');
  switch (trunk.numberFormat) {
    case 'e164':
      return `+${digits}`;
    case 'e164-no-plus':
      return digits;
    case 'national':
      return trunk.countryCode && digits.startsWith(trunk.countryCode) ? `0${digits.slice(trunk.countryCode.length)}` : digits;
  }
}
