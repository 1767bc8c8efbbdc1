/**
 * Named audio conferences per tenant (docs/conferences.md): created on the first join, destroyed when the last
 * participant leaves or on `end`. One `Mixer` per conference; participants are MediaEndpoints (call legs anchored
 * caller ⇄ rtpengine ⇄ Node). Events go to an optional sink (tenant webhooks, see events.ts).
 */
import { AppError } from '../../../core/errors.js';
import type { Logger } from '../../../core/logging.js';
import { newId } from '../../../core/ids.js';
import { systemClock, type Clock } from '../../../core/clock.js';
import type { ConferenceEventData, ConferenceEventType } from '../../../core/protocol/conference.js';
import type { ConferenceJoin, ConferenceParticipantView, ConferenceService } from '../contracts.js';
import { Mixer, type MixerOptions, type MixerStats } from './mixer.js';

export type ConferenceEventSink = (tenantId: string, type: ConferenceEventType, data: ConferenceEventData) => void;
type LeftReason = 'left' | 'kicked' | 'ended';

interface Participant {
  view: ConferenceParticipantView;
  endOnLeave: boolean;
  resolveLeft(r: LeftReason): void;
}

interface Conf {
  tenantId: string;
  name: string;
  startedAt: string;
  mixer: Mixer;
  participants: Map<string, Participant>;
}

export interface ConferenceManagerOptions {
  log: Logger;
  clock?: Clock;
  events?: ConferenceEventSink;
  mixer?: MixerOptions;
  /** Participants per conference (default 50). */
  maxParticipants?: number;
  /** Conferences on this SBC (default 500). */
  maxConferences?: number;
  /** sbc-cluster (docs/sbc.md § Several SBC instances): conference names registered while hosted here. */
  ownership?: { claimConference(tenantId: string, name: string): Promise<void>; releaseConference(tenantId: string, name: string): void };
}

const key = (tenantId: string, name: string) => `${tenantId}\u0000${name}`;

export class ConferenceManager implements ConferenceService {
  private readonly confs = new Map<string, Conf>();
  private readonly clock: Clock;

  constructor(private readonly o: ConferenceManagerOptions) {
    this.clock = o.clock ?? systemClock;
  }

  /** Conferences and participants on this SBC (metrics, status). */
  get counts(): { conferences: number; participants: number } {
    let participants = 0;
    for (const c of this.confs.values()) participants += c.participants.size;
    return { conferences: this.confs.size, participants };
  }

  mixerStats(tenantId: string, name: string): MixerStats | undefined {
    return this.confs.get(key(tenantId, name))?.mixer.stats;
  }

  private emit(tenantId: string, type: ConferenceEventType, data: ConferenceEventData): void {
    try {
      this.o.events?.(tenantId, type, data);
    } catch (err) {
      this.o.log.warn({ err, type }, 'conference event sink failed');
    }
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }

  async join(j: ConferenceJoin): Promise<{ participant: ConferenceParticipantView; left: Promise<LeftReason>; leave(): void }> {
    const k = key(j.tenantId, j.name);
    let conf = this.confs.get(k);
    if (!conf) {
      if (this.confs.size >= (this.o.maxConferences ?? 500)) throw new AppError('SERVICE_UNAVAILABLE', 'too many conferences on this SBC', { retryable: true });
      conf = { tenantId: j.tenantId, name: j.name, startedAt: this.now(), mixer: new Mixer(this.o.mixer), participants: new Map() };
      this.confs.set(k, conf);
      void this.o.ownership?.claimConference(j.tenantId, j.name); // sbc-cluster
      conf.mixer.start();
      this.o.log.info({ tenantId: j.tenantId, conference: j.name }, 'conference started');
      this.emit(j.tenantId, 'conference.started', { conference: j.name });
    }
    if (conf.participants.size >= (this.o.maxParticipants ?? 50)) throw new AppError('CONFLICT', `conference ${j.name} is full`);
    const view: ConferenceParticipantView = { id: newId('cp'), callId: j.callId, label: j.label, muted: !!j.muted, held: !!j.held, joinedAt: this.now() };
    let resolveLeft!: (r: LeftReason) => void;
    const left = new Promise<LeftReason>((r) => (resolveLeft = r));
    const p: Participant = { view, endOnLeave: !!j.endOnLeave, resolveLeft };
    conf.participants.set(view.id, p);
    conf.mixer.add(view.id, j.endpoint, { muted: view.muted, held: view.held });
    this.o.log.info({ tenantId: j.tenantId, conference: j.name, participantId: view.id, callId: j.callId }, 'conference participant joined');
    this.emit(j.tenantId, 'conference.participant.joined', { conference: j.name, participant: { ...view }, participants: conf.participants.size });
    const c = conf;
    return { participant: { ...view }, left, leave: () => this.remove(c, view.id, 'left') };
  }

  private remove(conf: Conf, participantId: string, reason: LeftReason): void {
    const p = conf.participants.get(participantId);
    if (!p) return;
    conf.participants.delete(participantId);
    conf.mixer.remove(participantId);
    p.resolveLeft(reason);
    this.o.log.info({ tenantId: conf.tenantId, conference: conf.name, participantId, reason }, 'conference participant left');
    this.emit(conf.tenantId, 'conference.participant.left', { conference: conf.name, participant: { ...p.view }, reason, participants: conf.participants.size });
    if (reason !== 'ended') {
      if (p.endOnLeave && conf.participants.size > 0) this.finish(conf, 'end-on-leave');
      else if (conf.participants.size === 0) this.finish(conf, 'empty');
    }
  }

  private finish(conf: Conf, reason: 'empty' | 'end-on-leave' | 'api'): void {
    if (this.confs.get(key(conf.tenantId, conf.name)) !== conf) return;
    this.confs.delete(key(conf.tenantId, conf.name));
    this.o.ownership?.releaseConference(conf.tenantId, conf.name); // sbc-cluster
    for (const id of [...conf.participants.keys()]) this.remove(conf, id, 'ended');
    conf.mixer.close();
    this.o.log.info({ tenantId: conf.tenantId, conference: conf.name, reason }, 'conference ended');
    this.emit(conf.tenantId, 'conference.ended', { conference: conf.name, reason });
  }

  private find(tenantId: string, name: string): Conf {
    const conf = this.confs.get(key(tenantId, name));
    if (!conf) throw AppError.notFound('conference', name);
    return conf;
  }

  private participant(conf: Conf, id: string): Participant {
    const p = conf.participants.get(id);
    if (!p) throw new AppError('PARTICIPANT_NOT_FOUND', `participant ${id} is not in conference ${conf.name}`);
    return p;
  }

  get(tenantId: string, name: string): { name: string; participants: ConferenceParticipantView[]; startedAt: string } {
    const c = this.find(tenantId, name);
    return { name: c.name, startedAt: c.startedAt, participants: [...c.participants.values()].map((p) => ({ ...p.view })) };
  }

  list(tenantId: string): Array<{ name: string; participants: ConferenceParticipantView[]; startedAt: string }> {
    return [...this.confs.values()].filter((c) => c.tenantId === tenantId).map((c) => this.get(tenantId, c.name)).sort((a, b) => a.name.localeCompare(b.name));
  }

  update(tenantId: string, name: string, participantId: string, change: { muted?: boolean; held?: boolean }): ConferenceParticipantView {
    const conf = this.find(tenantId, name);
    const p = this.participant(conf, participantId);
    const mutedChanged = change.muted !== undefined && change.muted !== p.view.muted;
    const heldChanged = change.held !== undefined && change.held !== p.view.held;
    if (change.muted !== undefined) p.view.muted = change.muted;
    if (change.held !== undefined) p.view.held = change.held;
    conf.mixer.set(participantId, change);
    if (mutedChanged) this.emit(tenantId, 'conference.participant.muted', { conference: name, participant: { ...p.view } });
    if (heldChanged) this.emit(tenantId, 'conference.participant.held', { conference: name, participant: { ...p.view } });
    return { ...p.view };
  }

  kick(tenantId: string, name: string, participantId: string): void {
    const conf = this.find(tenantId, name);
    this.participant(conf, participantId);
    this.remove(conf, participantId, 'kicked');
  }

  end(tenantId: string, name: string): void {
    this.finish(this.find(tenantId, name), 'api');
  }

  /** Ends every conference (SBC shutdown). */
  close(): void {
    for (const c of [...this.confs.values()]) this.finish(c, 'api');
  }
}
