/**
 * (runtime/core/media: imported by the SBC and the media agent; no SBC-only dependencies.)
 * Play sources → a local WAV file (docs/recordings.md § Playback). Shared by the SBC's REST-driven playback
 * (media-services/routes.ts → rtpengine playMedia) and programmable voice (its own RTP endpoint).
 *
 *   const { path, cleanup } = await resolvePlaySource({ tone: { frequencies: [440], durationMs: 500 } }, { tenantId });
 *   try { play(path) } finally { cleanup() }      // cleanup AFTER playback ended (rtpengine reads the file while playing)
 *
 * Every file returned is **8 kHz mono 16-bit PCM WAV**, with `loop` already applied:
 * - `tone`: rendered into a temp file (removed by cleanup()).
 * - `url`: fetched over http(s) (size limit, timeout, private/loopback addresses refused unless allowed), validated
 *   and normalized into a temp file (removed by cleanup()).
 * - `media`: the tenant's media library file (S3 `media/<tenant>/<name>.wav`), kept in a local cache keyed by ETag
 *   (cleanup() is a no-op; a later upload under the same name gets a new ETag and replaces the cached copy).
 *
 * Configure once per process with `configurePlaySources()` (the SBC's composition does it); a ctx may also carry its
 * own `deps`. Errors are AppErrors: INVALID_PAYLOAD (bad source / not a WAV / too large), NOT_FOUND (library file),
 * SERVICE_UNAVAILABLE (S3 or the URL unreachable; retryable).
 */
import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import type { PlaySource } from '../protocol/voice.js';
import { isMediaName, type MediaLibrary } from '../storage/media-library.js';
import { normalizeWav, toneWav, WavError } from './play-wav.js';

export interface PlaySourceDeps {
  /** The tenant media library (S3); without it `media` sources are SERVICE_UNAVAILABLE. */
  library?: MediaLibrary;
  /** Where library files are cached (default `<tmp>/cpaas-media-cache`). Must be readable by rtpengine. */
  cacheDir?: string;
  /** Where tones and fetched URLs are written (default `<tmp>/cpaas-play`). Must be readable by rtpengine. */
  tmpDir?: string;
  /** Largest `url` download (default 10 MiB). */
  maxUrlBytes?: number;
  /** Timeout of a `url` download (default 10 s). */
  fetchTimeoutMs?: number;
  /** Allow `url`s resolving to loopback/private/link-local addresses (default false: no SSRF into the VPC). */
  allowPrivateUrls?: boolean;
}

export interface ResolvedPlaySource {
  /** Absolute path of an 8 kHz mono 16-bit PCM WAV. */
  path: string;
  /** Length of the file's audio (loop included). */
  durationMs: number;
  /** Removes the file when it is temporary; idempotent; never throws. */
  cleanup(): void;
}

let defaults: PlaySourceDeps = {};

/** Sets the process-wide dependencies of resolvePlaySource (merged over the previous ones). */
export function configurePlaySources(deps: PlaySourceDeps): void {
  defaults = { ...defaults, ...deps };
}

const invalid = (m: string) => AppError.invalid(m, 'source');

export async function resolvePlaySource(src: PlaySource, ctx: { tenantId: string; deps?: PlaySourceDeps }): Promise<ResolvedPlaySource> {
  const d = { ...defaults, ...ctx.deps };
  const kinds = [src.url, src.media, src.tone].filter((x) => x !== undefined).length;
  if (kinds !== 1) throw invalid('source needs exactly one of url, media, tone');
  const loop = src.loop ?? 1;
  const tmp = d.tmpDir ?? join(tmpdir(), 'cpaas-play');
  if (src.tone) {
    if (src.tone.durationMs * loop > 600_000) throw invalid('tone longer than 10 minutes');
    return tempFile(tmp, toneWav(src.tone, loop));
  }
  if (src.url !== undefined) {
    const raw = await fetchLimited(src.url, d);
    return tempFile(tmp, normalized(raw, loop).wav);
  }
  // media library
  const name = src.media!;
  if (!isMediaName(name)) throw invalid(`bad media name ${JSON.stringify(name)}`);
  if (!d.library) throw new AppError('SERVICE_UNAVAILABLE', 'the media library is not configured on this node', { retryable: false });
  const lib = d.library;
  const head = await lib.head(ctx.tenantId, name).catch((err: unknown) => {
    throw new AppError('SERVICE_UNAVAILABLE', 'media library unreachable', { retryable: true }, { cause: err });
  });
  if (!head) throw AppError.notFound('media', name);
  const dir = join(d.cacheDir ?? join(tmpdir(), 'cpaas-media-cache'), ctx.tenantId);
  const tag = (head.etag ?? head.sha256 ?? String(head.sizeBytes)).replace(/[^A-Za-z0-9]/g, '').slice(0, 40);
  const cached = join(dir, `${name}@${tag}.wav`);
  if (!existsSync(cached)) {
    const bytes = await lib.get(ctx.tenantId, name).catch((err: unknown) => {
      throw new AppError('SERVICE_UNAVAILABLE', 'media library unreachable', { retryable: true }, { cause: err });
    });
    if (!bytes) throw AppError.notFound('media', name);
    mkdirSync(dir, { recursive: true });
    // Library files are stored normalized; normalizing again is cheap and guards against foreign objects.
    const wav = normalized(bytes, 1).wav;
    const part = `${cached}.${randomUUID()}.part`;
    writeFileSync(part, wav);
    renameSync(part, cached);
    for (const f of readdirSync(dir)) if (f.startsWith(`${name}@`) && join(dir, f) !== cached && !f.endsWith('.part')) rmSync(join(dir, f), { force: true });
  }
  if (loop === 1) return { path: cached, durationMs: head.durationMs ?? 0, cleanup: () => undefined };
  return tempFile(tmp, normalized(readFileSync(cached), loop).wav);
}

function normalized(raw: Buffer, loop: number): { wav: Buffer; durationMs: number } {
  try {
    const n = normalizeWav(raw, loop);
    if (n.durationMs > 600_000) throw invalid('audio longer than 10 minutes');
    return n;
  } catch (err) {
    if (err instanceof WavError) throw invalid(`not a playable WAV: ${err.message}`);
    throw err;
  }
}

function tempFile(dir: string, wav: Buffer): ResolvedPlaySource {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `play-${randomUUID()}.wav`);
  writeFileSync(path, wav);
  let done = false;
  return {
    path,
    durationMs: Math.round(((wav.length - 44) / 2 / 8000) * 1000),
    cleanup: () => {
      if (done) return;
      done = true;
      try {
        rmSync(path, { force: true });
      } catch {
        /* already gone */
      }
    },
  };
}

/** true for loopback, RFC 1918, link-local (incl. 169.254.169.254), CGNAT, unspecified, ULA and multicast addresses. */
export function isPrivateAddress(ip: string): boolean {
  if (isIP(ip) === 4) {
    const [a, b] = ip.split('.').map(Number) as [number, number];
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || a >= 224;
  }
  const v = ip.toLowerCase();
  if (v.startsWith('::ffff:')) return isPrivateAddress(v.slice(7));
  return v === '::' || v === '::1' || v.startsWith('fc') || v.startsWith('fd') || v.startsWith('fe8') || v.startsWith('fe9') || v.startsWith('fea') || v.startsWith('feb') || v.startsWith('ff');
}

async function fetchLimited(url: string, d: PlaySourceDeps): Promise<Buffer> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid('url is not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid('url must be http(s)');
  if (!d.allowPrivateUrls) {
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const addrs = isIP(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
    if (addrs.length === 0) throw new AppError('SERVICE_UNAVAILABLE', `cannot resolve ${host}`, { retryable: true });
    if (addrs.some(isPrivateAddress)) throw invalid('url points to a private or loopback address');
  }
  const max = d.maxUrlBytes ?? 10 * 1024 * 1024;
  let res: Response;
  try {
    res = await fetch(url, { redirect: d.allowPrivateUrls ? 'follow' : 'error', signal: AbortSignal.timeout(d.fetchTimeoutMs ?? 10_000) });
  } catch (err) {
    throw new AppError('SERVICE_UNAVAILABLE', `fetching the url failed: ${String((err as Error).message ?? err)}`, { retryable: true }, { cause: err });
  }
  if (!res.ok) throw invalid(`fetching the url answered HTTP ${res.status}`);
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > max) throw invalid(`the file is larger than ${max} bytes`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
    total += c.length;
    if (total > max) throw invalid(`the file is larger than ${max} bytes`);
    chunks.push(Buffer.from(c));
  }
  return Buffer.concat(chunks);
}
