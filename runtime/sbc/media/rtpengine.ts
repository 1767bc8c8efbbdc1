/**
 * rtpengine ng wrapper: one `RtpEngineNode` per rtpengine (the UDP client keeps its target on the instance,
 * FACTS §4.2), and one `MediaSession` per call that owns the rtpengine call and its two monologue tags.
 *
 * Used by the SBC's CallSession and (later) by the WebRTC⇄SIP gateway: pick a node with `MediaNodePool`
 * (node-pool.ts), then `new MediaSession(node, id, log)`, `offer()` / `answer()` with a flag profile from
 * `MEDIA_PROFILES`, and `delete()` in a finally (it never throws; failures are logged at warn).
 */
import { Client, type RtpEngineOptions, type RtpEngineResponse } from 'rtpengine-client';
import type { Logger } from '../../core/logging.js';
import { AppError } from '../../core/errors.js';
import { qualityFromNg, type MediaQuality } from './quality.js';

export interface NgTargetAddress {
  host: string;
  port: number;
}

type Command = 'offer' | 'answer' | 'delete' | 'query' | 'ping' | 'list' | 'statistics' | 'playDTMF' | 'playMedia' | 'stopMedia'
  | 'startRecording' | 'stopRecording' | 'subscribeRequest' | 'subscribeAnswer' | 'unsubscribe' | 'blockMedia' | 'unblockMedia';

/**
 * rtpengine's logical interface names (`--interface=<name>/<ip>[!<advertised>]`) for parties outside the platform
 * (phones, carriers, browsers: the public address) and inside it (the SBC's voice endpoints: the VPC address).
 * Without them rtpengine uses its FIRST interface for every stream; with them each offer carries `direction`.
 */
export interface MediaInterfaces {
  external: string;
  internal: string;
}

/** A connection to one rtpengine's ng port. */
export class RtpEngineNode {
  /** Calls this SBC has placed on the node and not deleted yet (for load balancing between heartbeats). */
  inFlight = 0;
  private constructor(
    readonly id: string,
    readonly target: NgTargetAddress,
    private readonly client: Client,
    private readonly log: Logger,
    readonly interfaces?: MediaInterfaces,
  ) {}

  static async connect(o: { id: string; target: NgTargetAddress; localAddress?: string; timeoutMs?: number; log: Logger; interfaces?: MediaInterfaces }): Promise<RtpEngineNode> {
    const client = new Client({ localAddress: o.localAddress ?? '0.0.0.0', localPort: 0, timeout: o.timeoutMs ?? 2000 });
    await new Promise<void>((resolve, reject) => {
      client.once('listening', () => resolve());
      client.once('error', (err: Error) => reject(err));
    });
    client.on('error', (err: Error) => o.log.warn({ err, node: o.id }, 'rtpengine ng socket error'));
    return new RtpEngineNode(o.id, o.target, client, o.log.child({ mediaNode: o.id }), o.interfaces);
  }

  /** Sends one ng command; rejects with MEDIA_UNAVAILABLE on timeout and on `result: error`. */
  async command(cmd: Command, opts: RtpEngineOptions = {}): Promise<RtpEngineResponse> {
    let res: RtpEngineResponse;
    try {
      res = await this.client[cmd](this.target, opts);
    } catch (err) {
      throw new AppError('MEDIA_UNAVAILABLE', `rtpengine ${this.id} ${cmd} failed: ${String((err as Error)?.message ?? err)}`, { retryable: true, mediaNode: this.id }, { cause: err });
    }
    if (res.result === 'error') {
      throw new AppError('MEDIA_UNAVAILABLE', `rtpengine ${this.id} ${cmd}: ${res['error-reason'] ?? 'error'}`, { mediaNode: this.id });
    }
    if (res.warning) this.log.debug({ cmd, warning: res.warning }, 'command() | rtpengine warning');
    return res;
  }

  async ping(): Promise<boolean> {
    try {
      const res = await this.command('ping');
      return res.result === 'pong';
    } catch (err) {
      this.log.debug({ err }, 'ping() | failed');
      return false;
    }
  }

  /** Current sessions according to rtpengine (`statistics.currentstatistics.sessionsown`, else `list`). */
  async activeSessions(): Promise<number> {
    const stats = await this.command('statistics');
    const cur = (stats.statistics as { currentstatistics?: Record<string, number> } | undefined)?.currentstatistics;
    if (cur && typeof cur.sessionsown === 'number') return cur.sessionsown + (cur.sessionsforeign ?? 0);
    const list = await this.command('list', { limit: 100_000 });
    return Array.isArray(list.calls) ? list.calls.length : 0;
  }

  close(): void {
    this.client.close();
  }
}

/** ng flag sets for the two kinds of legs. WebRTC ones are for the gateway (FACTS §4.3). */
export const MEDIA_PROFILES = {
  /** Plain SIP RTP/AVP, addresses rewritten (topology hiding), DTMF injection possible. */
  sip: {
    'transport-protocol': 'RTP/AVP',
    ICE: 'remove',
    DTLS: 'off',
    SDES: ['off'],
    replace: ['origin', 'session-connection'],
    flags: ['loop-protect', 'inject-DTMF', 'strip-extmap'],
    'rtcp-mux': ['demux'],
  },
  /** Toward a browser: ICE + DTLS-SRTP, rtcp-mux; remember to re-add a=group:BUNDLE (FACTS §4.3). */
  webrtc: {
    'transport-protocol': 'UDP/TLS/RTP/SAVPF',
    ICE: 'force',
    DTLS: 'passive',
    SDES: ['off'],
    'rtcp-mux': ['offer', 'require'],
    replace: ['origin', 'session-connection'],
    flags: ['generate-mid', 'loop-protect', 'inject-DTMF'],
  },
} as const satisfies Record<string, RtpEngineOptions>;
export type MediaProfile = keyof typeof MEDIA_PROFILES;

/**
 * The media of one call on one rtpengine. `call-id` is an internal id (never a leg's SIP Call-ID, so no
 * Call-ID leaks through rtpengine's own logs/recordings either); tags name the two monologues.
 */
export class MediaSession {
  private deleted = false;
  private deletePromise?: Promise<MediaQuality | undefined>;
  private readonly log: Logger;
  /**
   * Recording (docs/recordings.md, runtime/sbc/recording): when set, every offer carries `'record call': 'yes'` and
   * this `metadata` string (tenant, call, parties) for the media agent's pipeline.
   */
  record?: { metadata: string };
  /** media-services: extra ng options of offers coming from side 'a' (per-call transcoding toward a trunk). */
  offerExtra?: RtpEngineOptions;
  /** Where each side's party is (picks rtpengine's interface when the node names them); voice legs set b = internal. */
  readonly sides: { a: keyof MediaInterfaces; b: keyof MediaInterfaces } = { a: 'external', b: 'external' };

  constructor(
    readonly node: RtpEngineNode,
    readonly id: string,
    log: Logger,
    /** Monologue tags of the two sides; a transfer replaces one side's tag. */
    readonly tags: { a: string; b: string } = { a: 'a-leg', b: 'b-leg' },
  ) {
    this.log = log.child({ mediaNode: node.id });
    node.inFlight++;
  }

  get active(): boolean {
    return !this.deleted;
  }

  /**
   * An SDP offer coming from `from` ('a' or 'b'), rewritten for the other side with `profile` (the profile
   * describes the side that RECEIVES the rewritten SDP). Initial offer: from 'a' with no answer yet.
   */
  async offer(sdp: string, from: 'a' | 'b', profile: MediaProfile, extra: RtpEngineOptions = {}): Promise<string> {
    const fromTag = this.tags[from];
    const toTag = this.tags[from === 'a' ? 'b' : 'a'];
    const res = await this.node.command('offer', {
      ...MEDIA_PROFILES[profile],
      ...(from === 'a' && this.offerExtra ? this.offerExtra : {}), // media-services: transcoding
      ...extra,
      ...(this.record ? { 'record call': 'yes', metadata: this.record.metadata } : {}), // recording
      ...this.direction(this.sides[from], this.sides[from === 'a' ? 'b' : 'a']),
      'call-id': this.id,
      'from-tag': fromTag,
      'to-tag': toTag,
      sdp,
    });
    this.log.debug({ from, sdp: res.sdp }, 'offer() | rewritten');
    return res.sdp ?? '';
  }

  /** The answer to an offer that came from `offerFrom`; the answer itself comes from the other side. */
  async answer(sdp: string, offerFrom: 'a' | 'b', profile: MediaProfile, extra: RtpEngineOptions = {}): Promise<string> {
    const res = await this.node.command('answer', {
      ...MEDIA_PROFILES[profile],
      ...extra,
      'call-id': this.id,
      'from-tag': this.tags[offerFrom],
      'to-tag': this.tags[offerFrom === 'a' ? 'b' : 'a'],
      sdp,
    });
    this.log.debug({ offerFrom, sdp: res.sdp }, 'answer() | rewritten');
    return res.sdp ?? '';
  }

  /** Offer/answer between explicit tags (transfers: the staying side's SDP offered toward a new tag). */
  async offerBetween(sdp: string, fromTag: string, toTag: string, profile: MediaProfile): Promise<string> {
    const res = await this.node.command('offer', { ...MEDIA_PROFILES[profile], ...this.direction('external', 'external'), 'call-id': this.id, 'from-tag': fromTag, 'to-tag': toTag, sdp });
    return res.sdp ?? '';
  }

  /** `direction: [offerer's interface, receiver's interface]` when the node names its interfaces. */
  private direction(from: keyof MediaInterfaces, to: keyof MediaInterfaces): RtpEngineOptions {
    const i = this.node.interfaces;
    return i ? { direction: [i[from], i[to]] } : {};
  }

  async answerBetween(sdp: string, fromTag: string, toTag: string, profile: MediaProfile): Promise<string> {
    const res = await this.node.command('answer', { ...MEDIA_PROFILES[profile], 'call-id': this.id, 'from-tag': fromTag, 'to-tag': toTag, sdp });
    return res.sdp ?? '';
  }

  async query(): Promise<MediaQuality | undefined> {
    if (this.deleted) return undefined;
    return qualityFromNg(await this.node.command('query', { 'call-id': this.id }));
  }

  /** Sends RFC 2833 DTMF toward the leg `to` (needs RTP flowing and inject-DTMF on the call). */
  async playDtmf(to: 'a' | 'b', digit: string, durationMs = 160): Promise<void> {
    await this.node.command('playDTMF', { 'call-id': this.id, 'from-tag': this.tags[to === 'a' ? 'b' : 'a'], code: digit, duration: durationMs });
  }

  /** Starts (or stops) recording the whole call mid-call (ng startRecording/stopRecording; pcap method). */
  async setRecording(on: boolean, metadata?: string): Promise<void> {
    if (on) {
      this.record = { metadata: metadata ?? this.record?.metadata ?? '' };
      await this.node.command('startRecording', { 'call-id': this.id, ...(this.record.metadata ? { metadata: this.record.metadata } : {}) });
    } else {
      await this.node.command('stopRecording', { 'call-id': this.id });
    }
  }

  /**
   * Frees the call on rtpengine and returns its final quality (rtpengine 10.5's delete reply carries no
   * stats, so a query goes first). Idempotent; never throws: release failures are logged at warn.
   */
  delete(): Promise<MediaQuality | undefined> {
    if (this.deletePromise) return this.deletePromise;
    this.deleted = true;
    this.node.inFlight = Math.max(0, this.node.inFlight - 1);
    this.deletePromise = (async () => {
      let quality: MediaQuality | undefined;
      try {
        quality = qualityFromNg(await this.node.command('query', { 'call-id': this.id }));
      } catch (err) {
        this.log.debug({ err }, 'delete() | final query failed');
      }
      try {
        await this.node.command('delete', { 'call-id': this.id, 'delete-delay': 0 });
      } catch (err) {
        if (!/Unknown call-id|not found/i.test(String((err as Error).message))) this.log.warn({ err }, 'rtpengine delete failed');
      }
      return quality;
    })();
    return this.deletePromise;
  }
}
