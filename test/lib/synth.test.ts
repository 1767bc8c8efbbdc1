import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';

// The real `npm run synth` (scripts/synth.sh: no credentials, no IMDS, CLI notices/telemetry off): bundles the
// runtime entries with local esbuild and runs cdk-nag as a validation plugin.
const ENTRIES = ['runtime/signalling/main.ts', 'runtime/sbc/main.ts', 'runtime/media-agent/main.ts'];

describe('npm run synth (offline)', () => {
  it('synthesizes both stacks offline in well under a minute, or names the missing runtime entry', () => {
    const missing = ENTRIES.filter((e) => !fs.existsSync(e));
    expect(fs.existsSync('runtime/signalling/main.ts')).toBe(true);
    const started = Date.now();
    const r = spawnSync('npm', ['run', 'synth'], { encoding: 'utf8', timeout: 120_000 });
    const seconds = (Date.now() - started) / 1000;
    const out = `${r.stdout}\n${r.stderr}`;
    if (missing.length > 0) {
      console.warn(`synth test: runtime entries missing (${missing.join(', ')}); checking the failure names them`);
      expect(r.status).not.toBe(0);
      expect(missing.some((m) => out.includes(`Runtime entry ${m} does not exist`)), out.slice(-2000)).toBe(true);
      return;
    }
    expect(r.status, out.slice(-3000)).toBe(0);
    expect(seconds).toBeLessThan(60);
    expect(out).not.toMatch(/AwsSolutions-/);
    for (const stack of ['cpaas-data', 'cpaas-platform']) expect(fs.existsSync(`cdk.out/${stack}.template.json`)).toBe(true);
  });
});
