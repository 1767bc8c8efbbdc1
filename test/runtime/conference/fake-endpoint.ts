/** A MediaEndpoint double for the conference mixer: frames in by `feed()`, frames out recorded in `sent`. */
import type { AudioSource, Frame, MediaEndpoint } from '../../../runtime/sbc/voice/contracts.js';

export class FakeEndpoint implements MediaEndpoint {
  readonly sent: Int16Array[] = [];
  private readonly frameCbs = new Set<(f: Frame) => void>();
  private n = 0;
  constructor(readonly id: string, private readonly keep = true) {}
  answer(): string {
    return '';
  }
  offer(): string {
    return '';
  }
  accept(): void {}
  onFrame(cb: (f: Frame) => void): () => void {
    this.frameCbs.add(cb);
    return () => this.frameCbs.delete(cb);
  }
  onDtmf(): () => void {
    return () => undefined;
  }
  get listeners(): number {
    return this.frameCbs.size;
  }
  /** Delivers one received frame to the mixer. */
  feed(f: Frame): void {
    for (const cb of this.frameCbs) cb(f);
  }
  /** Delivers one 20 ms frame of a sine at `hz` (phase-continuous). */
  feedTone(hz: number, amplitude = 8000): void {
    const f = new Int16Array(160);
    for (let i = 0; i < 160; i++) f[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * (this.n * 160 + i)) / 8000));
    this.n++;
    this.feed(f);
  }
  send(f: Frame): void {
    if (this.keep) this.sent.push(Int16Array.from(f));
  }
  play(_src: AudioSource): Promise<'done' | 'stopped'> {
    return Promise.resolve('done');
  }
  stop(): void {}
  sendDtmf(): Promise<void> {
    return Promise.resolve();
  }
  stats() {
    return { packetsIn: 0, packetsOut: this.sent.length, bytesIn: 0, bytesOut: 0 };
  }
  close(): void {}
  /** The last `frames` frames sent, concatenated. */
  tail(frames: number): Int16Array {
    const parts = this.sent.slice(-frames);
    const out = new Int16Array(parts.length * 160);
    parts.forEach((p, i) => out.set(p, i * 160));
    return out;
  }
}
