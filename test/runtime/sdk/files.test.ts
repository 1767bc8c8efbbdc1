import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Sha256, sha256OfBlob } from '../../../assets/sdk/src/sha256.js';
import { CHUNK_SIZE, chunkRanges } from '../../../assets/sdk/src/files.js';

const nodeSha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('incremental sha-256', () => {
  it('matches the NIST vectors', () => {
    expect(new Sha256().hex()).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(new Sha256().update(new TextEncoder().encode('abc')).hex()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(new Sha256().update(new TextEncoder().encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).hex()).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('matches node:crypto for every length around block boundaries, fed in odd pieces', () => {
    const data = randomBytes(300);
    for (let len = 0; len <= 200; len++) {
      const h = new Sha256();
      const d = data.subarray(0, len);
      for (let i = 0; i < len; i += 7) h.update(d.subarray(i, Math.min(len, i + 7)));
      expect(h.hex(), `len ${len}`).toBe(nodeSha(d));
    }
  });

  it('hashes a 1 MB blob in slices like node:crypto', async () => {
    const data = randomBytes(1024 * 1024 + 13);
    expect(await sha256OfBlob(new Blob([data]), 100_000)).toBe(nodeSha(data));
  });
});

describe('chunking', () => {
  it('covers the file exactly with chunks of at most CHUNK_SIZE', () => {
    for (const size of [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 1024 * 1024]) {
      const r = chunkRanges(size);
      expect(r.reduce((n, [a, b]) => n + (b - a), 0)).toBe(size);
      for (let i = 0; i < r.length; i++) {
        expect(r[i]![1] - r[i]![0]).toBeLessThanOrEqual(CHUNK_SIZE);
        if (i > 0) expect(r[i]![0]).toBe(r[i - 1]![1]);
      }
    }
    expect(chunkRanges(1024 * 1024)).toHaveLength(64);
  });
});

describe('SDK boundaries', () => {
  it('imports nothing but types from the server tree', () => {
    const dir = join(import.meta.dirname, '../../../assets/sdk/src');
    for (const f of readdirSync(dir)) {
      const src = readFileSync(join(dir, f), 'utf8');
      for (const m of src.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms)) {
        if (m[3]!.includes('runtime/')) expect(m[2], `${f}: ${m[0]}`).toBe('type ');
      }
    }
  });
});
