/**
 * Optional OGG/Opus output of the recording pipeline (docs/recordings.md § The file): the converted WAV piped through
 * `opusenc` (Debian `opus-tools`, Xiph.Org). A fixed Ogg serial number (from the recording id) keeps the output
 * deterministic, like the WAV path, so a re-conversion after a crash produces the same bytes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';

export const OPUSENC = 'opusenc';

/** Whether `opusenc` can be run here. */
export function opusencAvailable(bin = OPUSENC): boolean {
  return spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A 31-bit Ogg serial number derived from a string (the recording id). */
export const oggSerial = (seed: string): number => createHash('sha256').update(seed).digest().readUInt32BE(0) & 0x7fffffff;

/** WAV bytes → OGG/Opus bytes (`bitrateKbps` per file, default 24; stereo stays stereo). */
export function encodeOgg(wav: Buffer, o: { serial: number; bitrateKbps?: number; bin?: string; timeoutMs?: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn(o.bin ?? OPUSENC, ['--quiet', '--serial', String(o.serial), '--bitrate', String(o.bitrateKbps ?? 24), '-', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), o.timeoutMs ?? 120_000);
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`opusenc exited ${code}: ${err.trim().slice(0, 300)}`));
    });
    p.stdin.on('error', () => undefined); // EPIPE when opusenc dies early: reported by 'close'
    p.stdin.end(wav);
  });
}
