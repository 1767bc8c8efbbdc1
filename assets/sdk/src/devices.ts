/**
 * Local media: microphone, camera and screen tracks, device enumeration and switching. One LocalMedia can feed
 * every peer of a room or call; peers follow its `track` events (replaceTrack, no renegotiation for a switch).
 */
import { Emitter } from './emitter.js';
import { mediaError } from './errors.js';

export type TrackSource = 'microphone' | 'camera' | 'screen';

export interface DeviceList {
  audioinput: MediaDeviceInfo[];
  videoinput: MediaDeviceInfo[];
  audiooutput: MediaDeviceInfo[];
}

export interface LocalMediaOptions {
  audio?: boolean | MediaTrackConstraints;
  video?: boolean | MediaTrackConstraints;
  audioDeviceId?: string;
  videoDeviceId?: string;
}

type LocalMediaEvents = {
  /** A source's track was added, replaced (device switch) or removed (null). */
  track: (source: TrackSource, track: MediaStreamTrack | null) => void;
  /** Mute state changed for a source. */
  mute: (source: TrackSource, muted: boolean) => void;
  /** The user stopped screen sharing from the browser UI. */
  'screen-ended': () => void;
};

/** Lists media devices (labels are empty until the page has been granted media access once). */
export async function listDevices(): Promise<DeviceList> {
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    audioinput: all.filter((d) => d.kind === 'audioinput'),
    videoinput: all.filter((d) => d.kind === 'videoinput'),
    audiooutput: all.filter((d) => d.kind === 'audiooutput'),
  };
}

/** Calls `fn` when devices are plugged in or removed; returns an unsubscribe function. */
export function onDeviceChange(fn: (devices: DeviceList) => void): () => void {
  const handler = () => void listDevices().then(fn);
  navigator.mediaDevices.addEventListener('devicechange', handler);
  return () => navigator.mediaDevices.removeEventListener('devicechange', handler);
}

const constraint = (base: boolean | MediaTrackConstraints | undefined, deviceId: string | undefined): boolean | MediaTrackConstraints => {
  if (!base) return false;
  const c: MediaTrackConstraints = typeof base === 'object' ? { ...base } : {};
  if (deviceId) c.deviceId = { exact: deviceId };
  return c;
};

export class LocalMedia extends Emitter<LocalMediaEvents> {
  /** Camera + microphone. */
  readonly stream = new MediaStream();
  /** Screen share (own stream so the far end can tell it from the camera). */
  readonly screenStream = new MediaStream();
  private readonly muted: Record<TrackSource, boolean> = { microphone: false, camera: false, screen: false };

  /** Opens microphone and/or camera. Throws CpaasError MEDIA_PERMISSION_DENIED / MEDIA_DEVICE_NOT_FOUND / MEDIA_FAILED. */
  static async create(opts: LocalMediaOptions = { audio: true, video: true }): Promise<LocalMedia> {
    const m = new LocalMedia();
    if (opts.audio || opts.video) {
      let s: MediaStream;
      try {
        s = await navigator.mediaDevices.getUserMedia({ audio: constraint(opts.audio, opts.audioDeviceId), video: constraint(opts.video, opts.videoDeviceId) });
      } catch (err) {
        throw mediaError(err);
      }
      for (const t of s.getTracks()) m.stream.addTrack(t);
    }
    return m;
  }

  get audioTrack(): MediaStreamTrack | null {
    return this.stream.getAudioTracks()[0] ?? null;
  }
  get videoTrack(): MediaStreamTrack | null {
    return this.stream.getVideoTracks()[0] ?? null;
  }
  get screenTrack(): MediaStreamTrack | null {
    return this.screenStream.getVideoTracks()[0] ?? null;
  }

  track(source: TrackSource): MediaStreamTrack | null {
    return source === 'microphone' ? this.audioTrack : source === 'camera' ? this.videoTrack : this.screenTrack;
  }

  streamOf(source: TrackSource): MediaStream {
    return source === 'screen' ? this.screenStream : this.stream;
  }

  isMuted(source: TrackSource): boolean {
    return this.muted[source];
  }

  /** Mutes by disabling the track: the far end receives silence / black frames; no renegotiation. */
  setMuted(source: TrackSource, muted: boolean): void {
    this.muted[source] = muted;
    const t = this.track(source);
    if (t) t.enabled = !muted;
    this.emit('mute', source, muted);
  }

  /** Adds or replaces the microphone or camera track with one from `deviceId` (or the default device). */
  async useDevice(kind: 'audioinput' | 'videoinput', deviceId?: string, constraints: MediaTrackConstraints = {}): Promise<MediaStreamTrack> {
    const c = { ...constraints, ...(deviceId ? { deviceId: { exact: deviceId } } : {}) };
    let s: MediaStream;
    try {
      s = await navigator.mediaDevices.getUserMedia(kind === 'audioinput' ? { audio: c } : { video: c });
    } catch (err) {
      throw mediaError(err);
    }
    const track = s.getTracks()[0]!;
    const source: TrackSource = kind === 'audioinput' ? 'microphone' : 'camera';
    const old = this.track(source);
    if (old) {
      this.stream.removeTrack(old);
      old.stop();
    }
    track.enabled = !this.muted[source];
    this.stream.addTrack(track);
    this.emit('track', source, track);
    return track;
  }

  /** Stops the microphone or camera (the far end stops receiving it). */
  stopDevice(source: 'microphone' | 'camera'): void {
    const t = this.track(source);
    if (!t) return;
    this.stream.removeTrack(t);
    t.stop();
    this.emit('track', source, null);
  }

  /** Starts screen sharing (the browser asks the user what to share). */
  async startScreen(constraints: MediaTrackConstraints | boolean = true): Promise<MediaStreamTrack> {
    let s: MediaStream;
    try {
      s = await navigator.mediaDevices.getDisplayMedia({ video: constraints, audio: false });
    } catch (err) {
      throw mediaError(err);
    }
    const track = s.getVideoTracks()[0]!;
    this.stopScreen(false);
    this.screenStream.addTrack(track);
    track.addEventListener('ended', () => {
      if (this.screenTrack === track) {
        this.stopScreen();
        this.emit('screen-ended');
      }
    });
    this.emit('track', 'screen', track);
    return track;
  }

  stopScreen(notify = true): void {
    const t = this.screenTrack;
    if (!t) return;
    this.screenStream.removeTrack(t);
    t.stop();
    if (notify) this.emit('track', 'screen', null);
  }

  /** Stops every track. */
  stop(): void {
    for (const t of [...this.stream.getTracks(), ...this.screenStream.getTracks()]) t.stop();
    this.removeAllListeners();
  }
}
