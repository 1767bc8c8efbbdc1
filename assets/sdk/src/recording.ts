/**
 * Client-side recording of a room (docs/recordings.md § Client-side recording of P2P rooms): THIS browser mixes what it
 * sends (its microphone) and what it receives (every remote audio track) with Web Audio, records the mix with
 * MediaRecorder, and on stop uploads it to S3 through a presigned PUT (`POST /v1/rooms/{id}/recordings/uploads`, then
 * `…/complete`). Nothing passes through a media server: what is recorded is what this browser heard and sent (a
 * participant with a bad network is recorded as this browser heard them). The access token needs the `record` grant.
 */
import { CpaasError, type CpaasErrorCode } from './errors.js';

/** How the SDK reaches the REST API with the connection's access token. */
export interface RestAccess {
  baseUrl: string;
  token(): Promise<string>;
}

/** The parts of a Room the recorder uses. */
export interface RecordableRoom {
  readonly id: string;
  readonly media: { stream: MediaStream } | null;
  remoteTracks(): Array<{ track: MediaStreamTrack }>;
  on(event: 'track', cb: (e: { track: MediaStreamTrack }) => void): unknown;
  off?(event: 'track', cb: (e: { track: MediaStreamTrack }) => void): unknown;
}

export interface LocalRecordingOptions {
  /** MediaRecorder mime type; default the first supported of audio/webm;codecs=opus, audio/ogg;codecs=opus, audio/mp4. */
  mimeType?: string;
  /** MediaRecorder timeslice (ms): chunks are collected in memory as they come. Default 1000. */
  timesliceMs?: number;
}

export interface LocalRecordingResult {
  recordingId: string;
  sizeBytes: number;
  durationSeconds: number;
}

const CANDIDATES = ['audio/webm;codecs=opus', 'audio/webm', 'audio/ogg;codecs=opus', 'audio/mp4'];

export class LocalRoomRecording {
  private readonly chunks: Blob[] = [];
  private readonly ctx: AudioContext;
  private readonly dest: MediaStreamAudioDestinationNode;
  private readonly recorder: MediaRecorder;
  private readonly sources: MediaStreamAudioSourceNode[] = [];
  private readonly seen = new Set<string>();
  private readonly startedAt = new Date();
  private readonly onTrack = (e: { track: MediaStreamTrack }) => this.add(e.track);
  private stopped?: Promise<LocalRecordingResult>;

  /** @internal use Room.startLocalRecording() */
  constructor(private readonly rest: RestAccess, private readonly room: RecordableRoom, opts: LocalRecordingOptions = {}) {
    if (typeof MediaRecorder === 'undefined' || typeof AudioContext === 'undefined') throw new CpaasError('RECORDING_UNSUPPORTED', 'this browser has no MediaRecorder/AudioContext');
    const mimeType = opts.mimeType ?? CANDIDATES.find((t) => MediaRecorder.isTypeSupported(t));
    if (!mimeType) throw new CpaasError('RECORDING_UNSUPPORTED', 'no supported recording format (webm/ogg/mp4 audio)');
    this.ctx = new AudioContext();
    this.dest = this.ctx.createMediaStreamDestination();
    for (const t of room.media?.stream.getAudioTracks() ?? []) this.add(t);
    for (const r of room.remoteTracks()) this.add(r.track);
    room.on('track', this.onTrack);
    this.recorder = new MediaRecorder(this.dest.stream, { mimeType });
    this.recorder.ondataavailable = (e) => {
      if (e.data.size > 0) this.chunks.push(e.data);
    };
    this.recorder.start(opts.timesliceMs ?? 1000);
  }

  get mimeType(): string {
    return this.recorder.mimeType;
  }

  private add(track: MediaStreamTrack): void {
    if (track.kind !== 'audio' || this.seen.has(track.id) || this.stopped) return;
    this.seen.add(track.id);
    const src = this.ctx.createMediaStreamSource(new MediaStream([track]));
    src.connect(this.dest);
    this.sources.push(src);
  }

  /** Stops recording and uploads the file; resolves with the recording id (`GET /v1/recordings/{id}`). Idempotent. */
  stop(): Promise<LocalRecordingResult> {
    this.stopped ??= this.finish();
    return this.stopped;
  }

  private async finish(): Promise<LocalRecordingResult> {
    this.room.off?.('track', this.onTrack);
    await new Promise<void>((resolve) => {
      if (this.recorder.state === 'inactive') return resolve();
      this.recorder.onstop = () => resolve();
      this.recorder.stop();
    });
    for (const s of this.sources) s.disconnect();
    void this.ctx.close().catch(() => undefined);
    const contentType = this.recorder.mimeType.split(';')[0]!.trim() || 'audio/webm';
    const blob = new Blob(this.chunks, { type: contentType });
    const durationSeconds = Math.round((Date.now() - this.startedAt.getTime()) / 100) / 10;
    const base = `${this.rest.baseUrl.replace(/\/$/, '')}/v1/rooms/${encodeURIComponent(this.room.id)}/recordings/uploads`;
    const ticket = await this.api<{ recordingId: string; uploadUrl: string; maxBytes: number }>(base, { contentType, startedAt: this.startedAt.toISOString() });
    if (blob.size > ticket.maxBytes) throw new CpaasError('UPLOAD_FAILED', `the recording (${blob.size} bytes) is larger than ${ticket.maxBytes} bytes`);
    const put = await fetch(ticket.uploadUrl, { method: 'PUT', headers: { 'content-type': contentType }, body: blob });
    if (!put.ok) throw new CpaasError('UPLOAD_FAILED', `upload to storage failed: HTTP ${put.status}`);
    await this.api(`${base}/${ticket.recordingId}/complete`, { durationSeconds });
    return { recordingId: ticket.recordingId, sizeBytes: blob.size, durationSeconds };
  }

  private async api<T>(url: string, body: unknown): Promise<T> {
    const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${await this.rest.token()}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
    if (!res.ok) throw new CpaasError((json.code as CpaasErrorCode | undefined) ?? 'UPLOAD_FAILED', json.message ?? `HTTP ${res.status}`);
    return json as T;
  }
}
