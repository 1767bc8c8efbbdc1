/**
 * The agent's local spool: one directory per recording (`<spool>/<base>/`) holding the converted WAV and a
 * write-ahead journal (`journal.json`). Every state change is written to a temp file, fsynced and renamed
 * over the journal, so after a crash the journal shows the last step that certainly happened.
 *
 *   converted → uploading → uploaded → metadata-written → webhook-queued → done
 */
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordingParty } from '../../core/storage/recordings.js';

export type JournalState = 'converted' | 'uploading' | 'uploaded' | 'metadata-written' | 'webhook-queued' | 'done';
export const JOURNAL_STATES: readonly JournalState[] = ['converted', 'uploading', 'uploaded', 'metadata-written', 'webhook-queued', 'done'];

export interface JournalEntry {
  state: JournalState;
  base: string;
  tenantId: string;
  callId: string;
  recordingId: string;
  s3Key: string;
  sha256: string;
  sizeBytes: number;
  durationSeconds: number;
  /** Epoch ms. */
  startedAt: number;
  channels: number;
  sampleRate: number;
  parties: RecordingParty[];
  /** Stored format when not `wav` (the spool file holds these bytes). */
  format?: 'ogg';
  /** rtpengine's files, deleted once S3 has confirmed the upload. */
  sources: { pcap?: string; metadata: string };
  /** Epoch ms of each state change (for operators). */
  history: Partial<Record<JournalState, number>>;
}

export class Spool {
  constructor(readonly dir: string) {}

  pathOf(base: string): string {
    return join(this.dir, base);
  }
  wavOf(base: string): string {
    return join(this.dir, base, 'recording.wav');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /** Recordings with a journal (resumable), by base name. */
  async list(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => !n.startsWith('.'));
  }

  async read(base: string): Promise<JournalEntry | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, base, 'journal.json'), 'utf8')) as JournalEntry;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Durably writes `data` to `path` (temp file + fsync + rename + directory fsync). */
  async writeDurable(path: string, data: Buffer | string): Promise<void> {
    const tmp = `${path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const dir = await open(join(path, '..'), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  async createWithWav(entry: JournalEntry, wav: Buffer): Promise<void> {
    await mkdir(this.pathOf(entry.base), { recursive: true });
    await this.writeDurable(this.wavOf(entry.base), wav);
    await this.write(entry);
  }

  async write(entry: JournalEntry): Promise<void> {
    await this.writeDurable(join(this.dir, entry.base, 'journal.json'), JSON.stringify(entry));
  }

  async advance(entry: JournalEntry, state: JournalState, now: number): Promise<JournalEntry> {
    const next = { ...entry, state, history: { ...entry.history, [state]: now } };
    await this.write(next);
    return next;
  }

  async removeWav(base: string): Promise<void> {
    await rm(this.wavOf(base), { force: true });
  }

  async remove(base: string): Promise<void> {
    await rm(this.pathOf(base), { recursive: true, force: true });
  }
}
