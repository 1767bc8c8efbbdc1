/** A programmable call on this SBC: its party (leg), state, variables and the knobs `modify` turns. */
import type { Logger } from '../../core/logging.js';
import type { ApplicationSpec, CallStatus } from '../../core/protocol/voice.js';
import type { LiveCallView } from './contracts.js';
import type { InboundLeg, VoiceLeg } from './legs.js';

export interface CallHooks {
  /** The engine marks the call answered (status, CDR). */
  answered(call: VoiceCall): void;
  ringing(call: VoiceCall): void;
}

export class VoiceCall {
  status: CallStatus = 'initiated';
  answeredAt?: number;
  verb?: string;
  muted = false;
  held = false;
  recording = false;
  readonly variables: Record<string, unknown> = {};
  readonly tags: Record<string, string | number | boolean> = {};
  /** Set by modify(redirect/transfer); the interpreter runs it after interrupting the current verb. */
  pending?: ApplicationSpec;
  private interruptCtl = new AbortController();
  private readonly endedCtl = new AbortController();
  /** Conference membership while a `conference` verb runs. */
  conference?: { name: string; participantId: string };
  /** Cause of the end, for the completed status. */
  endCause?: { cause: string; sipStatus?: number };

  constructor(
    readonly id: string,
    readonly tenantId: string,
    readonly direction: 'inbound' | 'outbound',
    readonly from: string,
    readonly to: string,
    readonly startedAt: number,
    readonly log: Logger,
    private readonly hooks: CallHooks,
    public leg?: VoiceLeg,
  ) {}

  /** Aborted when the call ends. */
  get endedSignal(): AbortSignal {
    return this.endedCtl.signal;
  }

  get ended(): boolean {
    return this.endedCtl.signal.aborted;
  }

  /** Aborted when the call ends or the current verb is interrupted (redirect, transfer, hangup). */
  get verbSignal(): AbortSignal {
    return AbortSignal.any([this.endedCtl.signal, this.interruptCtl.signal]);
  }

  interrupt(): void {
    this.interruptCtl.abort();
  }

  /** A fresh interrupt scope for the next verb. */
  resetInterrupt(): void {
    if (this.interruptCtl.signal.aborted) this.interruptCtl = new AbortController();
  }

  markEnded(cause: string, sipStatus?: number): boolean {
    if (this.ended) return false;
    this.endCause = { cause, ...(sipStatus !== undefined ? { sipStatus } : {}) };
    this.endedCtl.abort();
    return true;
  }

  /** Answers an inbound call (idempotent); outbound calls are answered by definition. */
  async ensureAnswered(): Promise<void> {
    if (this.answeredAt) return;
    const leg = this.leg as InboundLeg | undefined;
    if (!leg || !('answer' in leg)) throw new Error('call has no party to answer');
    await leg.answer();
    if (!this.answeredAt) this.hooks.answered(this);
  }

  ring(): void {
    const leg = this.leg as InboundLeg | undefined;
    if (leg && 'ring' in leg && !this.answeredAt) leg.ring();
    this.hooks.ringing(this);
  }

  view(): LiveCallView {
    return {
      callId: this.id, tenantId: this.tenantId, direction: this.direction, from: this.from, to: this.to, status: this.status,
      ...(this.verb ? { verb: this.verb } : {}),
      muted: this.muted, held: this.held, recording: this.recording,
      startedAt: new Date(this.startedAt).toISOString(),
      ...(this.answeredAt ? { answeredAt: new Date(this.answeredAt).toISOString() } : {}),
    };
  }
}
