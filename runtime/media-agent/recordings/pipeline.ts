/**
 * The media agent's recording pipeline (docs/recordings.md): picks up rtpengine's finalized pcap
 * recordings, converts them to WAV, uploads them to S3, writes their metadata and sends the signed
 * `recording.completed` webhook, durably and exactly once.
 *
 * Durability: every step is recorded in the spool journal before the next starts (spool.ts). After a crash
 * each recording resumes at its last journaled step; steps are idempotent (deterministic recording id and S3
 * key, HeadObject check before and after the upload, conditional metadata put). rtpengine's files and the
 * local WAV are deleted only after HeadObject confirms the object with the expected size and sha-256.
 * Failures (S3 or DynamoDB outage) are retried with exponential backoff + jitter, forever, with at most
 * `concurrency` recordings in progress. The webhook is at-least-once with a stable event id
 * (`X-Cpaas-Event-Id`), since a crash after sending and before journaling `done` sends it again.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { AbortMultipartUploadCommand, HeadObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Logger } from '../../core/logging.js';
import type { MetricsRegistry } from '../../core/metrics.js';
import { systemClock, type Clock } from '../../core/clock.js';
import { backoffDelay, WebhookSender, type BackoffOptions } from '../../core/webhooks.js';
import { recordingIdFor, recordingS3Key, type Recording, type RecordingRepository } from '../../core/storage/recordings.js';
import { parseMutedIntervals, pcapToWav, type ChannelMode } from './pcap-to-wav.js';
import { encodeOgg, oggSerial, opusencAvailable } from './opus.js';
import { baseOfMetadataFile, META_PREFIX, metadataList, parseRtpengineMetadata } from './rtpengine-files.js';
import { Spool, type JournalEntry } from './spool.js';

export interface RecordingPipelineOptions {
  /** rtpengine's `--recording-dir`. */
  recordingDir: string;
  /** The agent's own spool (converted WAVs + journals); must survive restarts. */
  spoolDir: string;
  s3: S3Client;
  bucket: string;
  recordings: Pick<RecordingRepository, 'putOnce'>;
  tenants: { get(id: string): Promise<{ webhookUrl?: string } | undefined>; webhookSecret(id: string): Promise<string | undefined> };
  webhooks: WebhookSender;
  /** Tried after the tenant's URL is exhausted. */
  webhookFallbackUrl?: string;
  log: Logger;
  metrics?: MetricsRegistry;
  clock?: Clock;
  nodeId: string;
  mode?: ChannelMode;
  /** Recordings processed at the same time (conversion + upload). */
  concurrency?: number;
  /** How often the recording dir is rescanned (a file watcher also triggers scans). */
  scanIntervalMs?: number;
  /** Backoff between attempts of one recording; retried forever. */
  retry?: BackoffOptions;
  /** Incomplete multipart uploads under `recordings/` older than this are aborted at start-up. */
  staleMultipartSeconds?: number;
  /** lib-storage part size (≥ 5 MiB); files up to this size go in one PUT. */
  partSizeBytes?: number;
  /** Stored file format: `wav` (default) or `ogg` (Opus via opusenc, `opus-tools`). */
  format?: 'wav' | 'ogg';
  /** Opus bitrate of `ogg` files, kbit/s (default 24). */
  opusBitrateKbps?: number;
}

interface Tracked {
  attempts: number;
  nextAt: number;
  running: boolean;
}

export interface PipelineStats {
  pending: number;
  running: number;
  completed: number;
  failedAttempts: number;
}

export class RecordingPipeline {
  private readonly spool: Spool;
  private readonly clock: Clock;
  private readonly items = new Map<string, Tracked>();
  private readonly inflight = new Set<Promise<void>>();
  /** Webhook sends, outside the concurrency limit; not awaited by stop() (resumed after a restart). */
  private readonly background = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;
  private watcher?: FSWatcher;
  private stopped = false;
  private scanning?: Promise<void>;
  private rescan = false;
  private completed = 0;
  private failedAttempts = 0;
  private readonly idleWaiters = new Set<() => void>();
  private readonly m: {
    converted?: { inc(l?: Record<string, string>, by?: number): void };
    uploaded?: { inc(l?: Record<string, string>, by?: number): void };
    bytes?: { inc(l?: Record<string, string>, by?: number): void };
    retries?: { inc(l?: Record<string, string>, by?: number): void };
    done?: { inc(l?: Record<string, string>, by?: number): void };
  };

  constructor(private readonly o: RecordingPipelineOptions) {
    this.spool = new Spool(o.spoolDir);
    this.clock = o.clock ?? systemClock;
    this.m = {
      converted: o.metrics?.counter('recordings_converted_total', 'rtpengine pcap recordings converted to WAV'),
      uploaded: o.metrics?.counter('recordings_uploaded_total', 'Recordings confirmed in S3'),
      bytes: o.metrics?.counter('recordings_uploaded_bytes_total', 'Bytes of recordings confirmed in S3'),
      retries: o.metrics?.counter('recordings_step_failures_total', 'Failed recording steps (retried with backoff)'),
      done: o.metrics?.counter('recordings_completed_total', 'Recordings fully processed (metadata written, webhook sent)'),
    };
    o.metrics?.gauge('recordings_pending', 'Recordings waiting or in progress on this node').collect(() => this.items.size);
  }

  get stats(): PipelineStats {
    return { pending: this.items.size, running: this.inflight.size + this.background.size, completed: this.completed, failedAttempts: this.failedAttempts };
  }

  /** Sweeps stale multipart uploads, resumes journaled recordings and starts watching rtpengine's dir. */
  async start(): Promise<void> {
    if (this.o.format === 'ogg' && !opusencAvailable()) throw new Error('recordings.format is "ogg" but opusenc is not installed (apt-get install opus-tools)');
    await this.spool.init();
    await mkdir(join(this.o.recordingDir, 'metadata'), { recursive: true });
    this.trySweep();
    try {
      this.watcher = watch(join(this.o.recordingDir, 'metadata'), () => this.kick());
      this.watcher.on('error', (err) => this.o.log.warn({ err }, 'recording dir watcher failed; polling only'));
    } catch (err) {
      this.o.log.warn({ err }, 'cannot watch the recording dir; polling only');
    }
    this.timer = setInterval(() => this.kick(), this.o.scanIntervalMs ?? 1_000);
    await this.scan();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.watcher?.close();
    await this.scanning;
    await Promise.all([...this.inflight]);
  }

  /** Resolves when nothing is pending (tests, benchmarks). */
  async idle(): Promise<void> {
    if (this.items.size === 0 && !this.scanning) return;
    await new Promise<void>((r) => this.idleWaiters.add(r));
  }

  /** Triggers a scan now (coalesced). */
  kick(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    this.scanning = this.scan()
      .catch((err: unknown) => this.o.log.warn({ err }, 'recording scan failed'))
      .finally(() => {
        this.scanning = undefined;
        if (this.rescan) {
          this.rescan = false;
          this.kick();
        } else this.notifyIdle();
      });
  }

  private notifyIdle(): void {
    if (this.items.size || this.scanning) return;
    const waiters = [...this.idleWaiters];
    this.idleWaiters.clear();
    for (const w of waiters) w();
  }

  private sweep?: 'running' | 'done';

  /** The start-up sweep runs in the background and is retried on later scans while S3 is unreachable. */
  private trySweep(): void {
    if (this.sweep) return;
    this.sweep = 'running';
    this.sweepMultipartUploads().then(
      () => {
        this.sweep = 'done';
      },
      (err: unknown) => {
        this.sweep = undefined;
        this.o.log.debug({ err }, 'stale multipart sweep failed; retried on the next scan');
      },
    );
  }

  private async scan(): Promise<void> {
    this.trySweep();
    const now = this.clock.now();
    for (const base of await this.spool.list()) this.track(base, now);
    const metaDir = join(this.o.recordingDir, 'metadata');
    for (const name of await readdir(metaDir).catch(() => [] as string[])) {
      const base = baseOfMetadataFile(name);
      if (base) this.track(base, now);
    }
    this.dispatch();
  }

  private track(base: string, now: number): void {
    if (!this.items.has(base)) this.items.set(base, { attempts: 0, nextAt: now, running: false });
  }

  private dispatch(): void {
    const now = this.clock.now();
    const limit = this.o.concurrency ?? 2;
    for (const [base, t] of this.items) {
      if (this.stopped || this.inflight.size >= limit) break;
      if (t.running || t.nextAt > now) continue;
      t.running = true;
      const p: Promise<void> = this.process(base)
        .then((waiting) => {
          if (!waiting) {
            this.items.delete(base);
            t.running = false;
            return;
          }
          const job: Promise<void> = this.notify(waiting)
            .then(() => {
              this.items.delete(base);
            })
            .catch((err: unknown) => this.failed(base, t, err))
            .finally(() => {
              t.running = false;
              this.background.delete(job);
              this.notifyIdle();
            });
          this.background.add(job);
        })
        .catch((err: unknown) => {
          t.running = false;
          this.failed(base, t, err);
        })
        .finally(() => {
          this.inflight.delete(p);
          if (!this.stopped) this.dispatch();
          this.notifyIdle();
        });
      this.inflight.add(p);
    }
  }

  private failed(base: string, t: Tracked, err: unknown): void {
    t.attempts++;
    this.failedAttempts++;
    this.m.retries?.inc();
    const delay = Math.max(100, backoffDelay(t.attempts - 1, this.o.retry ?? { baseMs: 1_000, maxMs: 30_000 }));
    t.nextAt = this.clock.now() + delay;
    const level = t.attempts === 1 || t.attempts % 10 === 0 ? 'warn' : 'debug';
    this.o.log[level]({ err, recording: base, attempts: t.attempts, retryInMs: delay }, 'recording step failed; will retry');
    if (!this.stopped) setTimeout(() => this.kick(), delay).unref();
  }

  /**
   * Runs one recording from its journaled state up to `webhook-queued` (returned: the caller sends the webhook
   * outside the concurrency slot) or to done (undefined). Throws to be retried.
   */
  private async process(base: string): Promise<JournalEntry | undefined> {
    let entry = await this.spool.read(base);
    if (!entry) {
      const created = await this.convert(base);
      if (!created) {
        // a spool dir without journal (crash while converting) whose source is gone: nothing to resume
        if (!existsSync(join(this.o.recordingDir, 'metadata', `${META_PREFIX}${base}.txt`))) await this.spool.remove(base);
        return undefined;
      }
      entry = created;
    }
    while (entry.state !== 'done') {
      const now = () => this.clock.now();
      switch (entry.state) {
        case 'converted':
          entry = await this.spool.advance(entry, 'uploading', now());
          break;
        case 'uploading':
          await this.upload(entry);
          entry = await this.spool.advance(entry, 'uploaded', now());
          this.m.uploaded?.inc();
          this.m.bytes?.inc(undefined, entry.sizeBytes);
          break;
        case 'uploaded':
          // S3 has confirmed the object: the local copies can go.
          await Promise.all([entry.sources.pcap ? rm(entry.sources.pcap, { force: true }) : undefined, rm(entry.sources.metadata, { force: true }), this.spool.removeWav(base)]);
          await this.o.recordings.putOnce(this.toRecording(entry));
          entry = await this.spool.advance(entry, 'metadata-written', now());
          break;
        case 'metadata-written':
          entry = await this.spool.advance(entry, 'webhook-queued', now());
          break;
        case 'webhook-queued':
          // The webhook is sent outside the concurrency slot: a slow receiver must not hold up uploads.
          return entry;
        default:
          throw new Error(`unknown journal state ${String(entry.state)}`);
      }
    }
    await this.finish(entry);
    return undefined;
  }

  private async finish(entry: JournalEntry): Promise<void> {
    await this.spool.remove(entry.base);
    this.completed++;
    this.m.done?.inc();
    this.o.log.info({ recordingId: entry.recordingId, callId: entry.callId, tenantId: entry.tenantId, durationSeconds: entry.durationSeconds, sizeBytes: entry.sizeBytes }, 'recording stored');
  }

  /** `webhook-queued` → send (at least once, stable event id) → `done`. */
  private async notify(entry: JournalEntry): Promise<void> {
    const log = this.o.log.child({ recordingId: entry.recordingId, callId: entry.callId, tenantId: entry.tenantId });
    await this.sendWebhook(entry, log);
    await this.finish(await this.spool.advance(entry, 'done', this.clock.now()));
  }

  /** Finalized rtpengine files → WAV + journal (`converted`). Undefined when the call is not finished yet. */
  private async convert(base: string): Promise<JournalEntry | undefined> {
    const metaPath = join(this.o.recordingDir, 'metadata', `${META_PREFIX}${base}.txt`);
    let text: string;
    try {
      text = await readFile(metaPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const meta = parseRtpengineMetadata(base, text);
    if (!meta.finished) return undefined;
    const pcapPath = meta.pcapPath && existsSync(meta.pcapPath) ? meta.pcapPath : join(this.o.recordingDir, 'pcaps', `${base}.pcap`);
    const tenantId = meta.values.tenant;
    if (!tenantId || !/^[A-Za-z0-9_-]{1,64}$/.test(tenantId)) {
      await this.quarantine(base, [metaPath, pcapPath], 'no valid tenant= in the recording metadata');
      return undefined;
    }
    let pcap: Buffer;
    try {
      pcap = await readFile(pcapPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await this.quarantine(base, [metaPath], `pcap ${pcapPath} is missing`);
      return undefined;
    }
    const callId = meta.values.call ?? base;
    const conv = pcapToWav(pcap, { mode: this.o.mode ?? 'stereo', muted: parseMutedIntervals(meta.values.paused) });
    this.m.converted?.inc();
    const startedAt = conv.startedAt || meta.startedAt || (await stat(pcapPath)).mtimeMs;
    const labels = metadataList(meta.values.parties);
    const recordingId = recordingIdFor(tenantId, callId, base, startedAt);
    const format = this.o.format ?? 'wav';
    const file = format === 'ogg' ? await encodeOgg(conv.wav, { serial: oggSerial(recordingId), bitrateKbps: this.o.opusBitrateKbps ?? 24 }) : conv.wav;
    const entry: JournalEntry = {
      state: 'converted',
      base,
      tenantId,
      callId,
      recordingId,
      s3Key: recordingS3Key(tenantId, recordingId, startedAt, format),
      sha256: createHash('sha256').update(file).digest('hex'),
      sizeBytes: file.length,
      ...(format !== 'wav' ? { format } : {}),
      durationSeconds: conv.durationSeconds,
      startedAt,
      channels: conv.channels,
      sampleRate: conv.sampleRate,
      parties: conv.parties.map((p, i) => ({ ...(labels?.[i] ? { label: labels[i] } : {}), source: p.source, channel: p.channel, packets: p.packets, codec: p.codec })),
      sources: { pcap: pcapPath, metadata: metaPath },
      history: { converted: this.clock.now() },
    };
    await this.spool.createWithWav(entry, file);
    return entry;
  }

  private async quarantine(base: string, files: string[], why: string): Promise<void> {
    const dir = join(this.o.spoolDir, '.failed', base);
    await mkdir(dir, { recursive: true });
    for (const f of files) await rename(f, join(dir, basename(f))).catch(() => undefined);
    this.o.log.error({ recording: base, kept: dir }, `recording cannot be processed: ${why}`);
  }

  private async headMatches(entry: JournalEntry): Promise<boolean> {
    try {
      const h = await this.o.s3.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: entry.s3Key }));
      if (h.ContentLength === entry.sizeBytes && h.Metadata?.sha256 === entry.sha256) return true;
      throw new Error(`object ${entry.s3Key} exists with other content (size ${h.ContentLength}, sha256 ${h.Metadata?.sha256})`);
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return false;
      throw err;
    }
  }

  private async upload(entry: JournalEntry): Promise<void> {
    if (await this.headMatches(entry).catch((err: unknown) => {
      // same key, other content: an earlier partial write of ours (never another recording's: keys are unique)
      if (/exists with other content/.test((err as Error).message)) return false;
      throw err;
    })) return;
    await this.abortUploadsFor(entry.s3Key);
    const wav = this.spool.wavOf(entry.base);
    const upload = new Upload({
      client: this.o.s3,
      params: {
        Bucket: this.o.bucket,
        Key: entry.s3Key,
        Body: createReadStream(wav),
        ContentType: entry.format === 'ogg' ? 'audio/ogg' : 'audio/wav',
        Metadata: { sha256: entry.sha256, 'recording-id': entry.recordingId, 'tenant-id': entry.tenantId, 'call-id': entry.callId },
      },
      partSize: Math.max(5 * 1024 * 1024, this.o.partSizeBytes ?? 8 * 1024 * 1024),
      queueSize: 2,
      leavePartsOnError: false,
    });
    await upload.done();
    if (!(await this.headMatches(entry))) throw new Error(`object ${entry.s3Key} missing right after upload`);
  }

  /** Aborts incomplete multipart uploads of one key (left by a crash mid-upload). */
  private async abortUploadsFor(key: string): Promise<void> {
    await this.abortMultipart(key, () => true);
  }

  /** At start-up: aborts incomplete multipart uploads under `recordings/` older than `staleMultipartSeconds`. */
  async sweepMultipartUploads(): Promise<number> {
    const cutoff = this.clock.now() - (this.o.staleMultipartSeconds ?? 24 * 3600) * 1000;
    return this.abortMultipart('recordings/', (initiated) => initiated.getTime() < cutoff);
  }

  private multipartUnsupported = false;

  private async abortMultipart(prefix: string, stale: (initiated: Date) => boolean): Promise<number> {
    if (this.multipartUnsupported) return 0;
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      for (let page = 0; page < 100; page++) {
        const out = await this.o.s3.send(new ListMultipartUploadsCommand({ Bucket: this.o.bucket, Prefix: prefix, ...(keyMarker ? { KeyMarker: keyMarker } : {}), ...(uploadIdMarker ? { UploadIdMarker: uploadIdMarker } : {}) }));
        for (const u of out.Uploads ?? []) {
          if (!u.Key || !u.UploadId || !stale(u.Initiated ?? new Date(0))) continue;
          await this.o.s3.send(new AbortMultipartUploadCommand({ Bucket: this.o.bucket, Key: u.Key, UploadId: u.UploadId }));
          aborted++;
        }
        if (!out.IsTruncated) break;
        keyMarker = out.NextKeyMarker;
        uploadIdMarker = out.NextUploadIdMarker;
      }
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotImplemented' || e.$metadata?.httpStatusCode === 501) {
        // s3rver 3.7.1 answers ListMultipartUploads with 501 (and AbortMultipartUpload with 405).
        this.multipartUnsupported = true;
        this.o.log.info('the object store does not implement ListMultipartUploads; stale multipart sweep skipped');
        return 0;
      }
      throw err;
    }
    if (aborted) this.o.log.warn({ prefix, aborted }, 'aborted incomplete multipart uploads');
    return aborted;
  }

  private toRecording(e: JournalEntry): Recording {
    return {
      id: e.recordingId,
      tenantId: e.tenantId,
      callId: e.callId,
      parties: e.parties,
      startedAt: new Date(e.startedAt).toISOString(),
      durationSeconds: e.durationSeconds,
      sizeBytes: e.sizeBytes,
      sha256: e.sha256,
      s3Key: e.s3Key,
      format: e.format ?? 'wav',
      channels: e.channels,
      sampleRate: e.sampleRate,
      status: 'available',
      createdAt: new Date(e.history.uploaded ?? this.clock.now()).toISOString(),
      nodeId: this.o.nodeId,
    };
  }

  private async sendWebhook(entry: JournalEntry, log: Logger): Promise<void> {
    const tenant = await this.o.tenants.get(entry.tenantId);
    if (!tenant?.webhookUrl) return;
    const secret = await this.o.tenants.webhookSecret(entry.tenantId);
    if (!secret) {
      log.warn('tenant has a webhook URL but no signing secret; recording.completed not sent');
      return;
    }
    const rec = this.toRecording(entry);
    const { s3Key: _k, ...data } = rec;
    const event = WebhookSender.event(entry.tenantId, 'recording.completed', { recordingId: rec.id, ...data }, entry.history['metadata-written'] ?? this.clock.now(), `evt_${rec.id}`);
    const sent = this.o.webhooks.send(event, { url: tenant.webhookUrl, secret, ...(this.o.webhookFallbackUrl ? { fallbackUrl: this.o.webhookFallbackUrl } : {}) });
    if (!sent) throw new Error('webhook queue full');
    const result = await sent;
    if (!result.ok && result.cancelled) throw new Error('webhook sender closed before delivery; resumed after a restart');
    if (!result.ok) log.warn({ attempts: result.attempts, lastError: result.lastError }, 'recording.completed webhook not delivered');
  }
}
