/** Small building blocks of the firewall: token buckets, sliding-window counters, prefix matching. */

/** A token bucket refilled continuously at `perSecond`, holding at most `burst` tokens. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(private readonly perSecond: number, private readonly burst: number, nowMs: number) {
    this.tokens = burst;
    this.at = nowMs;
  }

  take(nowMs: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.at) / 1000) * this.perSecond);
    this.at = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whether the bucket is back to full (the entry can be forgotten). */
  full(nowMs: number): boolean {
    return this.tokens + ((nowMs - this.at) / 1000) * this.perSecond >= this.burst;
  }
}

/** Events per key within a sliding window (timestamps kept, bounded). */
export class WindowCounter {
  private readonly hits = new Map<string, number[]>();

  constructor(private readonly windowMs: number, private readonly maxPerKey = 1000) {}

  add(key: string, nowMs: number): number {
    const list = (this.hits.get(key) ?? []).filter((t) => nowMs - t < this.windowMs);
    list.push(nowMs);
    if (list.length > this.maxPerKey) list.shift();
    this.hits.set(key, list);
    return list.length;
  }

  count(key: string, nowMs: number): number {
    return (this.hits.get(key) ?? []).filter((t) => nowMs - t < this.windowMs).length;
  }

  reset(key: string): void {
    this.hits.delete(key);
  }

  prune(nowMs: number): void {
    for (const [k, list] of this.hits) if (!list.some((t) => nowMs - t < this.windowMs)) this.hits.delete(k);
  }

  get size(): number {
    return this.hits.size;
  }
}

/** Distinct values per key within a window (e.g. unknown usernames asked for by one source). */
export class DistinctCounter {
  private readonly seen = new Map<string, Map<string, number>>();

  constructor(private readonly windowMs: number) {}

  add(key: string, value: string, nowMs: number): number {
    const m = this.seen.get(key) ?? new Map<string, number>();
    for (const [v, t] of m) if (nowMs - t >= this.windowMs) m.delete(v);
    if (m.size < 10_000) m.set(value, nowMs);
    this.seen.set(key, m);
    return m.size;
  }

  prune(nowMs: number): void {
    for (const [k, m] of this.seen) if (![...m.values()].some((t) => nowMs - t < this.windowMs)) this.seen.delete(k);
  }
}

/** Digits of a user part / number: `+44 20…` → `4420…`; `sip:911@x` style inputs must be reduced first. */
export const digits = (s: string): string => s.replace(/^\+/, '').replace(/[^0-9]/g, '');

/** The longest prefix of `list` that `number` (digits) starts with, or undefined. */
export function longestPrefix(number: string, list: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const p of list) if (number.startsWith(p) && (best === undefined || p.length > best.length)) best = p;
  return best;
}
