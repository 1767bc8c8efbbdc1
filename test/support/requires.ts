import { execFileSync } from 'node:child_process';

/** Whether an executable is on PATH. */
export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * No silent skips: returns true when the component is there. When it is missing, under CI it throws
 * (the suite fails); locally it prints `SKIPPED <name>: <why>` and returns false so the caller can skip.
 */
export function requires(name: string, available: boolean, why: string): boolean {
  if (available) return true;
  const msg = `SKIPPED ${name}: ${why}`;
  if (process.env.CI) throw new Error(`missing component under CI: ${msg}`);
  console.warn(msg);
  return false;
}
