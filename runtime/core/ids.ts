import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Lower-case random string of `n` characters from [0-9a-z]. */
export function randomToken(n: number): string {
  const bytes = randomBytes(n);
  let out = '';
  for (let i = 0; i < n; i++) out += ALPHABET[bytes[i]! % 36];
  return out;
}

/**
 * Time-sortable id: `<prefix>_<9 chars of base36 milliseconds><12 random chars>`.
 * Ids created later sort after earlier ones (to the millisecond), which keeps listings in creation order.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  return `${prefix}_${now.toString(36).padStart(9, '0')}${randomToken(12)}`;
}
