/**
 * `npm start`: runs the whole platform on this machine. The only file of the local platform that reads
 * the environment: CPAAS_PORT (8080), CPAAS_HOST (127.0.0.1), CPAAS_DATA_DIR (.cpaas), CPAAS_ADMIN_KEY,
 * CPAAS_LOG_LEVEL (info), CPAAS_TURN (on|off).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import closeWithGrace from 'close-with-grace';
import { createLogger, type LogLevel } from '../core/logging.js';
import { startLocalPlatform } from './platform.js';

const rootDir = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const env = process.env;
const port = Number(env.CPAAS_PORT ?? 8080);
const host = env.CPAAS_HOST ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`CPAAS_PORT must be a port number, got ${env.CPAAS_PORT}`);
  process.exit(2);
}
const log = createLogger({ service: 'local', level: (env.CPAAS_LOG_LEVEL ?? 'info') as LogLevel, pretty: false });

// Build the SDK when its sources are newer than the bundle (or it was never built).
const sdkBuild = join(rootDir, 'assets', 'sdk', 'build.ts');
const sdkDist = join(rootDir, 'assets', 'sdk', 'dist');
const newest = (dir: string): number => {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? (e.name === 'dist' ? 0 : newest(p)) : statSync(p).mtimeMs);
  }
  return t;
};
if (existsSync(sdkBuild) && (!existsSync(sdkDist) || newest(join(rootDir, 'assets', 'sdk')) > statSync(sdkDist).mtimeMs)) {
  console.log('building the SDK (npm run build:sdk)…');
  const r = spawnSync(process.execPath, ['--import', 'tsx', sdkBuild], { cwd: rootDir, stdio: 'inherit' });
  if (r.status !== 0) console.warn('SDK build failed; the demo pages will not work until `npm run build:sdk` succeeds');
}

const platform = await startLocalPlatform({
  dataDir: resolve(rootDir, env.CPAAS_DATA_DIR ?? '.cpaas'),
  rootDir,
  host,
  port,
  ...(env.CPAAS_ADMIN_KEY ? { adminKey: env.CPAAS_ADMIN_KEY } : {}),
  turn: { enabled: env.CPAAS_TURN !== 'off', port: 3478, minPort: 49160, maxPort: 49999 },
  log,
});

const lines = [
  '',
  `CPaaS local platform is up: ${platform.baseUrl}`,
  `  demo      ${platform.baseUrl}/demo/`,
  `  API docs  ${platform.baseUrl}/docs`,
  `  admin key ${platform.secrets.adminKey}${platform.secretsCreated ? '   (generated now, stored in .cpaas/secrets.json)' : '   (from .cpaas/secrets.json)'}`,
  `  try       curl -s -X POST ${platform.baseUrl}/v1/tenants -H "Authorization: Bearer <admin key>" -H 'content-type: application/json' -d '{"name":"acme"}'`,
  '',
  'components:',
  ...platform.components.map((c) => `  ${c.running ? '[running]' : '[missing]'} ${c.name}: ${c.detail}${c.fix ? `  → ${c.fix}` : ''}`),
  '',
  'Ctrl-C stops everything.',
  '',
];
console.log(lines.join('\n'));

closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err) log.error({ err }, 'stopping after an error');
  else console.log(`\n${signal ?? 'stop'}: stopping the local platform…`);
  await platform.stop();
});
