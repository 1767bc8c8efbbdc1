/**
 * Contracts between the parts of programmable voice (issue 8) and voicemail (issue 7), fixed before they were
 * built in parallel. Implementations:
 * - `MediaEndpoint`: runtime/sbc/voice/media/ (an RTP endpoint in Node that the SBC anchors a call leg to through
 *   rtpengine: caller ⇄ rtpengine ⇄ endpoint). Used by the document interpreter (play, gather, record, dial bridge)
 *   and by the conference mixer.
 * - `ConferenceService`: runtime/sbc/voice/conference/ (the mixer and the named conferences).
 * - `VoicemailSink`: runtime/core/voicemail/ (stores a recorded message, notifies the owner).
 *
 * Audio inside the SBC is 8 kHz mono signed 16-bit PCM in 20 ms frames (160 samples); endpoints speak PCMU/PCMA
 * (and receive RFC 4733 telephone-events) on the wire.
 */
import type { ApplicationSpec, CallStatus, CallStatusEvent, DialTargetSpec } from '../../core/protocol/voice.js';

/** 20 ms of 8 kHz mono linear PCM: exactly 160 samples. */
export type Frame = Int16Array;
export const FRAME_SAMPLES = 160;
export const FRAME_MS = 20;

/** Pull source of frames (a WAV file, a tone, silence, a mixer output). `undefined` = finished. */
export interface AudioSource {
  read(): Frame | undefined;
}

export interface MediaEndpoint {
  readonly id: string;
  /**
   * The SDP this endpoint answers with, given the offer it receives (rtpengine's SDP toward the endpoint).
   * Audio only, PCMU (PCMA if the offer lacks PCMU) + telephone-event/8000. Sets where RTP is sent.
   */
  answer(offerSdp: string): string;
  /** An SDP offer from this endpoint (for legs the SBC originates); complete it with `accept(answerSdp)`. */
  offer(): string;
  accept(answerSdp: string): void;
  /** Every received, decoded 20 ms frame (in arrival order; lost packets are not concealed). */
  onFrame(cb: (f: Frame) => void): () => void;
  /** RFC 4733 digits received (once per event, on its end packet or first packet; never twice). */
  onDtmf(cb: (digit: string) => void): () => void;
  /** Sends one frame now (RTP seq/timestamp advance by one frame). The mixer calls this on its own 20 ms tick. */
  send(f: Frame): void;
  /** Paces `src` at 20 ms until it ends or `stop()`; replaces what was playing. */
  play(src: AudioSource): Promise<'done' | 'stopped'>;
  stop(): void;
  /** Sends an RFC 4733 digit toward the far end. */
  sendDtmf(digit: string, durationMs?: number): Promise<void>;
  /** Packets/bytes received and sent, for tests and CDRs. */
  stats(): { packetsIn: number; packetsOut: number; bytesIn: number; bytesOut: number };
  close(): void;
}

export interface ConferenceJoin {
  tenantId: string;
  name: string;
  /** Our call id (CDR id). */
  callId: string;
  /** Shown in listings: a phone number, SIP user or identity. */
  label: string;
  endpoint: MediaEndpoint;
  muted?: boolean;
  /** Held participants hear hold music/silence and are not heard. */
  held?: boolean;
  /** Ends the conference for everyone when this participant leaves. */
  endOnLeave?: boolean;
}

export interface ConferenceParticipantView {
  id: string;
  callId: string;
  label: string;
  muted: boolean;
  held: boolean;
  joinedAt: string;
}

export interface ConferenceService {
  /** Joins; resolves with the participant once mixing includes it. `left` resolves when it leaves (kicked, ended, or `leave()`). */
  join(j: ConferenceJoin): Promise<{ participant: ConferenceParticipantView; left: Promise<'left' | 'kicked' | 'ended'>; leave(): void }>;
  list(tenantId: string): Array<{ name: string; participants: ConferenceParticipantView[]; startedAt: string }>;
  update(tenantId: string, name: string, participantId: string, change: { muted?: boolean; held?: boolean }): ConferenceParticipantView;
  kick(tenantId: string, name: string, participantId: string): void;
  end(tenantId: string, name: string): void;
}

/** A finished voicemail recording handed to storage (WAV file on local disk, deleted by the sink once stored). */
export interface VoicemailDeposit {
  tenantId: string;
  /** The mailbox: a SIP user name or a WebRTC identity. */
  mailbox: { kind: 'sip-user' | 'identity'; id: string };
  callId: string;
  from: string;
  wavPath: string;
  durationMs: number;
  receivedAt: string;
}

export interface VoicemailSink {
  /** Stores (S3 + metadata) and notifies; resolves with the message id. Never loses the file on failure: rejects and leaves it. */
  deposit(d: VoicemailDeposit): Promise<{ messageId: string }>;
  /** The greeting to play for a mailbox: a local WAV path (8 kHz mono) or undefined for the default tone/prompt. */
  greeting?(tenantId: string, mailbox: VoicemailDeposit['mailbox']): Promise<string | undefined>;
}

// ---- the voice engine (SBC side) as the REST layer and the SBC control API see it ---------------------------


export interface OriginateRequest {
  tenantId: string;
  to: DialTargetSpec;
  /** Caller id presented: one of the tenant's numbers (E.164) or an identity/SIP user name. */
  from: string;
  application: ApplicationSpec;
  statusCallback?: { url: string; fallbackUrl?: string };
  ringTimeoutSeconds?: number;
  timeLimitSeconds?: number;
  /** Attached to the call record. */
  tag?: Record<string, string | number | boolean>;
}

export interface LiveCallView {
  callId: string;
  tenantId: string;
  direction: 'inbound' | 'outbound';
  from: string;
  to: string;
  status: CallStatus;
  /** Verb running now, if any. */
  verb?: string;
  muted: boolean;
  held: boolean;
  recording: boolean;
  startedAt: string;
  answeredAt?: string;
}

/** `POST /v1/calls/{id}` actions on a live programmable call. */
export type CallModify =
  | { action: 'hangup' }
  | { action: 'redirect'; application: ApplicationSpec }
  | { action: 'mute' | 'unmute' | 'hold' | 'unhold' }
  | { action: 'record'; record: 'start' | 'stop' | 'pause' | 'resume' }
  | { action: 'dtmf'; digits: string }
  | { action: 'transfer'; to: DialTargetSpec };

export interface VoiceEngine {
  originate(r: OriginateRequest): Promise<LiveCallView>;
  /** Undefined when the call is not live on this SBC or belongs to another tenant. */
  get(tenantId: string, callId: string): LiveCallView | undefined;
  list(tenantId: string): LiveCallView[];
  modify(tenantId: string, callId: string, m: CallModify): Promise<LiveCallView>;
  /** Status changes in order, for the status-callback deliverer. */
  onStatus(cb: (e: CallStatusEvent, callback: { url: string; fallbackUrl?: string } | undefined) => void): () => void;
}
