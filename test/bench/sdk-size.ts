/**
 * SDK size: builds the SDK and reports raw and min+gzip sizes with and without socket.io-client (target ≤ 40 kB).
 * Run: npx tsx test/bench/sdk-size.ts
 */
import { buildSdk } from '../../assets/sdk/build.js';

type S = { bytes: number; gzip: number };
export async function sdkSize(): Promise<Record<string, S>> {
  const m = (await buildSdk({ types: false })) as { sizes: { withSocketIo: { esm: S; iife: S }; withoutSocketIo: { esm: S } } };
  return { 'esm (with socket.io-client)': m.sizes.withSocketIo.esm, 'iife (with socket.io-client)': m.sizes.withSocketIo.iife, 'esm (without socket.io-client)': m.sizes.withoutSocketIo.esm };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await sdkSize();
  let ok = true;
  for (const [k, v] of Object.entries(r)) {
    const kb = v.gzip / 1000;
    ok &&= kb <= 40;
    console.log(`${k.padEnd(32)} ${(v.bytes / 1000).toFixed(1).padStart(6)} kB min   ${kb.toFixed(1).padStart(5)} kB min+gzip ${kb <= 40 ? 'OK' : 'OVER 40 kB'}`);
  }
  process.exitCode = ok ? 0 : 1;
}
