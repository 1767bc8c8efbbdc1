/**
 * Builds the browser SDK into assets/sdk/dist:
 *   cpaas-sdk.<version>.mjs   ES module (socket.io-client bundled)      cpaas-sdk.mjs  stable alias
 *   cpaas-sdk.<version>.js    script-tag IIFE, global `Cpaas`            cpaas-sdk.js   stable alias
 *   cpaas-sdk[.<version>].d.ts / .d.mts + types/   declarations (tsc --emitDeclarationOnly)
 *   manifest.json             sizes (raw, min+gzip, with and without socket.io-client) and SRI hashes
 * Versioned names can be cached forever (CloudFront/S3 `immutable`); aliases should get a short max-age.
 * Fails when the bundle contains server code (the SDK may import only types from runtime/core/protocol).
 */
import { build, type Metafile } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const dist = join(here, 'dist');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const entry = join(here, 'src/index.ts');

const common = {
  entryPoints: [entry],
  bundle: true,
  minify: true,
  sourcemap: 'linked' as const,
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  define: { __SDK_VERSION__: JSON.stringify(version) },
  legalComments: 'none' as const,
  metafile: true,
  logLevel: 'warning' as const,
};

function assertClean(meta: Metafile, what: string): void {
  const bad = Object.keys(meta.inputs).filter((p) => p.includes('runtime/') || p.includes('node_modules/typebox'));
  if (bad.length) throw new Error(`${what}: server code leaked into the SDK bundle: ${bad.join(', ')}`);
}

const sizes = (buf: Buffer | Uint8Array) => ({ bytes: buf.length, gzip: gzipSync(buf, { level: 9 }).length });

export async function buildSdk(opts: { types?: boolean } = {}): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  const esm = `cpaas-sdk.${version}.mjs`;
  const iife = `cpaas-sdk.${version}.js`;
  const r1 = await build({ ...common, format: 'esm', outfile: join(dist, esm) });
  const r2 = await build({ ...common, format: 'iife', globalName: 'Cpaas', outfile: join(dist, iife) });
  assertClean(r1.metafile!, esm);
  assertClean(r2.metafile!, iife);
  // Size without socket.io-client (for apps that already ship it); measured only, not published.
  const r3 = await build({ ...common, format: 'esm', write: false, sourcemap: false, external: ['socket.io-client'], outfile: join(dist, 'core.mjs') });
  const core = r3.outputFiles.find((f) => f.path.endsWith('.mjs'))!.contents;

  copyFileSync(join(dist, esm), join(dist, 'cpaas-sdk.mjs'));
  copyFileSync(join(dist, iife), join(dist, 'cpaas-sdk.js'));
  // The copies point at the versioned source maps, which is what the browser should load.

  if (opts.types !== false) {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(here, 'tsconfig.json')], { stdio: 'inherit' });
    const dts = `// CPaaS browser SDK ${version}\nexport * from './types/assets/sdk/src/index.js';\n`;
    for (const n of [`cpaas-sdk.${version}.d.ts`, 'cpaas-sdk.d.ts', `cpaas-sdk.${version}.d.mts`, 'cpaas-sdk.d.mts']) writeFileSync(join(dist, n), dts);
  }

  const file = (n: string) => {
    const buf = readFileSync(join(dist, n));
    return { ...sizes(buf), integrity: `sha384-${createHash('sha384').update(buf).digest('base64')}` };
  };
  const manifest = {
    name: 'cpaas-sdk',
    version,
    builtAt: new Date().toISOString(),
    files: { [esm]: file(esm), [iife]: file(iife), 'cpaas-sdk.mjs': file('cpaas-sdk.mjs'), 'cpaas-sdk.js': file('cpaas-sdk.js') },
    sizes: {
      withSocketIo: { esm: sizes(readFileSync(join(dist, esm))), iife: sizes(readFileSync(join(dist, iife))) },
      withoutSocketIo: { esm: sizes(core) },
    },
    buildMs: Math.round(performance.now() - t0),
  };
  writeFileSync(join(dist, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const m = await buildSdk();
  const s = m.sizes as { withSocketIo: { esm: { bytes: number; gzip: number }; iife: { bytes: number; gzip: number } }; withoutSocketIo: { esm: { bytes: number; gzip: number } } };
  console.log(`cpaas-sdk ${m.version as string}: esm ${s.withSocketIo.esm.bytes} B (${s.withSocketIo.esm.gzip} B gz), iife ${s.withSocketIo.iife.bytes} B (${s.withSocketIo.iife.gzip} B gz), without socket.io-client ${s.withoutSocketIo.esm.bytes} B (${s.withoutSocketIo.esm.gzip} B gz) in ${m.buildMs as number} ms`);
}
