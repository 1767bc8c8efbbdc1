/** Injected wherever time matters, so tests can fix it. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };
export const isoTime = (ms: number): string => new Date(ms).toISOString();
export const epochSeconds = (ms: number): number => Math.floor(ms / 1000);
