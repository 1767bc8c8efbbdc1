/**
 * The call-control document interpreter (docs/voice.md): runs a document verb by verb on a VoiceCall. A verb with
 * an `actionHook` posts its result and the returned document replaces the rest; without one the result lands in
 * `variables[<verb>]`. Any failure to get a valid document (timeout, HTTP error, invalid JSON/schema, loops) ends
 * the call with the error tone and a BYE, logged with a reason code and counted in
 * `cpaas_voice_app_errors_total{reason}`: never a hung call.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import type { Logger } from '../../core/logging.js';
import type { Counter } from '../../core/metrics.js';
import type { CallDocument, PlaySource, Verb, VoiceHookEvent, ApplicationSpec } from '../../core/protocol/voice.js';
import { resolvePlaySource } from '../media-services/sources.js';
import type { AudioSource, ConferenceService, VoicemailSink } from './contracts.js';
import type { VoiceCall } from './call.js';
import { HookClient, HookError, parseDocument } from './hooks.js';
import { placeCall, type LegDeps, type OutboundLeg, type VoiceLeg } from './legs.js';
import { LoopSource, PcmSource, ToneSource, beepTone, decodeWav, errorTone } from './media/sources.js';
import { WavRecorder } from './media/recorder.js';
import { readFileSync, rmSync } from 'node:fs';

type VerbOf<N extends Verb['verb']> = Extract<Verb, { verb: N }>;

/** Where non-voicemail `record` results go. Absent: the WAV stays in `recordDir` and its name is the id. */
export interface RecordingSink {
  store(r: { tenantId: string; callId: string; wavPath: string; durationMs: number; from: string; to: string }): Promise<{ recordingId: string }>;
}

export interface InterpreterDeps {
  hooks: HookClient;
  legs: LegDeps;
  log: Logger;
  errors: Counter;
  conferences?: ConferenceService;
  voicemail?: VoicemailSink;
  recordings?: RecordingSink;
  /** Where `record` writes its WAV files (default <tmp>/cpaas-voice-rec). */
  recordDir?: string;
  /** Called by `tag` with the merged tags (CDR metadata). */
  onTags?(call: VoiceCall): void;
  /** End the call (BYE/final response, status completed). */
  end(call: VoiceCall, cause: string, sipStatus?: number): Promise<void>;
  /** Documents fetched per call before the call is ended as a loop. */
  maxDocuments?: number;
}

/** Calls waiting in a queue (enqueue/dequeue): in memory, per tenant, on this SBC only. */
interface Waiter {
  call: VoiceCall;
  take(partner: VoiceCall): Promise<void>;
}

class Stop extends Error {}

export class Interpreter {
  private readonly queues = new Map<string, Waiter[]>();
  private recSeq = 0;

  constructor(private readonly d: InterpreterDeps) {}

  queueLength(tenantId: string, queue: string): number {
    return this.queues.get(`${tenantId}/${queue}`)?.length ?? 0;
  }

  /** Runs the application on the call until the document ends or the call does; never throws. */
  async run(call: VoiceCall, app: ApplicationSpec, first: VoiceHookEvent['event'], o: { keepAlive?: boolean } = {}): Promise<void> {
    let docs = 0;
    let redirectsInARow = 0;
    let fallbackUrl = app.fallbackUrl;
    const fetchDoc = async (url: string, ev: Omit<VoiceHookEvent, 'tenantId' | 'callId' | 'direction' | 'from' | 'to' | 'variables'>): Promise<CallDocument> => {
      if (++docs > (this.d.maxDocuments ?? 50)) throw new HookError('invalid-document', 'too many documents fetched (loop)');
      return this.d.hooks.fetchDocument(url, this.event(call, ev), fallbackUrl);
    };
    try {
      let queue: Verb[] = app.document ? [...parseDocument(app.document)] : await fetchDoc(app.url!, { event: first });
      while (!call.ended) {
        if (call.pending) {
          const p = call.pending;
          call.pending = undefined;
          call.resetInterrupt();
          fallbackUrl = p.fallbackUrl ?? fallbackUrl;
          queue = p.document ? [...parseDocument(p.document)] : await fetchDoc(p.url!, { event: 'call.redirect' });
          continue;
        }
        const verb = queue.shift();
        if (!verb) break;
        call.resetInterrupt();
        call.verb = verb.verb;
        if (verb.verb === 'redirect') {
          if (++redirectsInARow > 10) throw new HookError('invalid-document', 'redirect loop');
        } else redirectsInARow = 0;
        let out: Awaited<ReturnType<Interpreter['exec']>>;
        try {
          out = await this.exec(call, verb);
        } catch (err) {
          // A verb cut short by the end of the call or by modify (redirect/transfer) is not an application error.
          if (err instanceof Stop || !(call.ended || call.pending)) throw err;
          out = undefined;
        }
        call.verb = undefined;
        if (call.pending) continue;
        if (out?.replace) queue = [...out.replace];
        else if (out?.result !== undefined) {
          const hook = 'actionHook' in verb ? verb.actionHook : undefined;
          if (!hook) call.variables[verb.verb] = out.result;
          if (hook && !call.ended) queue = [...(await fetchDoc(hook, { event: 'verb.result', verb: verb.verb, result: out.result }))];
          else if (hook) void this.d.hooks.fetchDocument(hook, this.event(call, { event: 'verb.result', verb: verb.verb, result: out.result })).catch(() => undefined);
        }
      }
      if (!call.ended && !o.keepAlive) await this.d.end(call, 'document-ended');
    } catch (err) {
      if (err instanceof Stop) return;
      const reason = err instanceof HookError ? err.reason : 'internal';
      this.d.errors.inc({ reason });
      call.log.warn({ err, reason, verb: call.verb }, 'voice application error; ending the call');
      await this.errorEnd(call, reason);
    }
  }

  private event(call: VoiceCall, ev: Pick<VoiceHookEvent, 'event' | 'verb' | 'result'>): VoiceHookEvent {
    return { ...ev, tenantId: call.tenantId, callId: call.id, direction: call.direction, from: call.from, to: call.to, variables: call.variables } as VoiceHookEvent;
  }

  /** Error tone then hang up; bounded, never throws. */
  async errorEnd(call: VoiceCall, reason: string): Promise<void> {
    try {
      if (!call.ended) {
        await withTimeout(call.ensureAnswered(), 5000);
        const leg = call.leg;
        if (leg && !call.ended) await withTimeout(leg.endpoint.play(errorTone()), 3000);
      }
    } catch (err) {
      call.log.debug({ err }, 'error tone not played');
    }
    await this.d.end(call, `application-error:${reason}`, 500);
  }

  private leg(call: VoiceCall): VoiceLeg {
    if (!call.leg || call.ended) throw new Stop();
    return call.leg;
  }

  private async exec(call: VoiceCall, v: Verb): Promise<{ result?: Record<string, unknown>; replace?: CallDocument } | undefined> {
    switch (v.verb) {
      case 'answer':
        await call.ensureAnswered();
        return undefined;
      case 'hangup':
        await this.d.end(call, v.reason ?? 'hangup-verb');
        throw new Stop();
      case 'pause':
        await sleep(v.seconds * 1000, call.verbSignal).catch(() => undefined);
        return undefined;
      case 'play':
        await call.ensureAnswered();
        await this.play(call, v.source);
        return undefined;
      case 'gather':
        return { result: await this.gather(call, v) };
      case 'dial':
        return { result: await this.dial(call, v) };
      case 'record':
        return { result: await this.record(call, v) };
      case 'redirect':
        return { replace: await this.d.hooks.fetchDocument(v.url, this.event(call, { event: 'call.redirect' })).then((d) => d) };
      case 'conference':
        return { result: await this.conference(call, v) };
      case 'enqueue':
        return { result: await this.enqueue(call, v) };
      case 'dequeue':
        return { result: await this.dequeue(call, v) };
      case 'sip_refer':
        return { result: await this.refer(call, v) };
      case 'tag':
        Object.assign(call.tags, v.data);
        call.variables.tag = { ...call.tags };
        this.d.onTags?.(call);
        return undefined;
    }
  }

  // ---------------------------------------------------------------------------------------------- media verbs

  async source(call: VoiceCall, src: PlaySource): Promise<AudioSource> {
    const loop = src.loop ?? 1;
    if (src.tone) {
      const t = src.tone;
      return new LoopSource(() => new ToneSource({ frequencies: t.frequencies, durationMs: t.durationMs, ...(t.onMs !== undefined ? { onMs: t.onMs } : {}), ...(t.offMs !== undefined ? { offMs: t.offMs } : {}) }), loop);
    }
    // url / media library: rendered to a local 8 kHz WAV by the media services (runtime/sbc/media-services).
    const r = await resolvePlaySource({ ...src, loop: 1 }, { tenantId: call.tenantId });
    try {
      const pcm = decodeWav(readFileSync(r.path));
      return new LoopSource(() => new PcmSource(pcm), loop);
    } finally {
      r.cleanup();
    }
  }

  private async play(call: VoiceCall, src: PlaySource): Promise<'done' | 'stopped'> {
    const ep = this.leg(call).endpoint;
    let source: AudioSource;
    try {
      source = await this.source(call, src);
    } catch (err) {
      call.log.warn({ err }, 'play source unavailable; playing the error tone');
      source = errorTone();
    }
    return playUntil(ep, source, call.verbSignal);
  }

  private async gather(call: VoiceCall, v: VerbOf<'gather'>): Promise<Record<string, unknown>> {
    await call.ensureAnswered();
    const leg = this.leg(call);
    const signal = call.verbSignal;
    let digits = '';
    let promptDone = !v.prompt;
    let timer: NodeJS.Timeout | undefined;
    const offs: Array<() => void> = [];
    const result = await new Promise<string>((resolve) => {
      const arm = () => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => resolve('timeout'), v.timeoutSeconds * 1000);
      };
      const onDigit = (d: string) => {
        if (!promptDone) {
          promptDone = true;
          leg.endpoint.stop();
        }
        if (v.finishOnKey && d === v.finishOnKey) return resolve('finishOnKey');
        digits += d;
        if (v.numDigits && digits.length >= v.numDigits) return resolve('numDigits');
        arm();
      };
      offs.push(leg.endpoint.onDtmf(onDigit), leg.onInfoDtmf(onDigit));
      const onAbort = () => resolve('hangup');
      signal.addEventListener('abort', onAbort, { once: true });
      offs.push(() => signal.removeEventListener('abort', onAbort));
      if (v.prompt) {
        void this.play(call, v.prompt).then(() => {
          promptDone = true;
          if (!timer) arm();
        });
      } else arm();
    });
    if (timer) clearTimeout(timer);
    for (const off of offs) off();
    leg.endpoint.stop();
    return { digits, reason: result };
  }

  private async record(call: VoiceCall, v: VerbOf<'record'>): Promise<Record<string, unknown>> {
    await call.ensureAnswered();
    const leg = this.leg(call);
    const signal = call.verbSignal;
    if (v.beep !== false) await playUntil(leg.endpoint, beepTone(), signal);
    const rec = new WavRecorder({ maxMs: v.maxLengthSeconds * 1000 });
    const offs: Array<() => void> = [];
    let timer: NodeJS.Timeout | undefined;
    const reason = await new Promise<string>((resolve) => {
      if (signal.aborted) return resolve('hangup');
      offs.push(leg.endpoint.onFrame((f) => {
        if (call.muted || call.held) return;
        const silent = rec.push(f);
        if (v.silenceTimeoutSeconds && silent >= v.silenceTimeoutSeconds * 1000) resolve('silence');
      }));
      const onDigit = (d: string) => {
        if (v.finishOnKey && d === v.finishOnKey) resolve('finishOnKey');
      };
      offs.push(leg.endpoint.onDtmf(onDigit), leg.onInfoDtmf(onDigit));
      timer = setTimeout(() => resolve('maxLength'), v.maxLengthSeconds * 1000);
      const onAbort = () => resolve('hangup');
      signal.addEventListener('abort', onAbort, { once: true });
      offs.push(() => signal.removeEventListener('abort', onAbort));
    });
    if (timer) clearTimeout(timer);
    for (const off of offs) off();
    if (reason === 'silence') rec.trim(rec.silenceMs);
    const durationSeconds = Math.round(rec.durationMs / 100) / 10;
    const out: Record<string, unknown> = { durationSeconds, reason };
    if (rec.durationMs < 200) return out; // nothing worth keeping
    const dir = this.d.recordDir ?? path.join(tmpdir(), 'cpaas-voice-rec');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const wavPath = path.join(dir, `${call.id}-${++this.recSeq}.wav`);
    await rec.save(wavPath);
    if (v.voicemail) {
      if (!this.d.voicemail) {
        call.log.warn('record { voicemail } without a voicemail sink; message kept on disk');
        return { ...out, recordingId: path.basename(wavPath, '.wav') };
      }
      try {
        const r = await this.d.voicemail.deposit({
          tenantId: call.tenantId, mailbox: { kind: v.voicemail.kind, id: v.voicemail.mailbox }, callId: call.id, from: call.from,
          wavPath, durationMs: rec.durationMs, receivedAt: new Date().toISOString(),
        });
        return { ...out, voicemailId: r.messageId };
      } catch (err) {
        call.log.error({ err, wavPath }, 'voicemail deposit failed; the WAV stays on disk');
        return { ...out, error: 'voicemail-deposit-failed' };
      }
    }
    if (this.d.recordings) {
      try {
        const r = await this.d.recordings.store({ tenantId: call.tenantId, callId: call.id, wavPath, durationMs: rec.durationMs, from: call.from, to: call.to });
        rmSync(wavPath, { force: true });
        return { ...out, recordingId: r.recordingId };
      } catch (err) {
        call.log.error({ err, wavPath }, 'storing a recording failed; the WAV stays on disk');
      }
    }
    return { ...out, recordingId: path.basename(wavPath, '.wav') };
  }

  // ---------------------------------------------------------------------------------------------- dial & bridge

  private async dial(call: VoiceCall, v: VerbOf<'dial'>): Promise<Record<string, unknown>> {
    this.leg(call);
    const signal = call.verbSignal;
    const losers = new AbortController();
    const any = AbortSignal.any([signal, losers.signal]);
    const from = v.callerId ?? call.from;
    const timeoutMs = v.timeoutSeconds * 1000;
    const place = (spec: VerbOf<'dial'>['targets'][number]) => placeCall(this.d.legs, spec, {
      tenantId: call.tenantId, callId: call.id, from, timeoutMs, signal: any, onRinging: () => call.ring(),
    });
    let winner: OutboundLeg | undefined;
    const statuses: number[] = [];
    if (v.mode === 'simultaneous') {
      winner = await new Promise<OutboundLeg | undefined>((resolve) => {
        let left = v.targets.length;
        for (const spec of v.targets) {
          void place(spec).then((r) => {
            left--;
            if (r.ok) {
              if (winner || signal.aborted) void r.leg.hangup();
              else {
                winner = r.leg;
                losers.abort();
                resolve(r.leg);
              }
            } else statuses.push(r.status);
            if (left === 0) resolve(winner);
          });
        }
      });
    } else {
      for (const spec of v.targets) {
        if (signal.aborted) break;
        const r = await place(spec);
        if (r.ok) {
          winner = r.leg;
          break;
        }
        statuses.push(r.status);
      }
    }
    if (!winner) {
      const s = statuses.at(-1) ?? 480;
      return { dialStatus: s === 486 || s === 600 ? 'busy' : s === 408 || s === 480 || s === 487 ? 'no-answer' : 'failed', durationSeconds: 0, sipStatus: s };
    }
    if (signal.aborted) {
      await winner.hangup();
      return { dialStatus: 'failed', durationSeconds: 0 };
    }
    try {
      await call.ensureAnswered();
    } catch {
      await winner.hangup();
      throw new Stop();
    }
    const started = Date.now();
    const end = await this.bridge(call, { leg: winner }, signal, v.timeLimitSeconds);
    await winner.hangup();
    return { dialStatus: 'answered', durationSeconds: Math.round((Date.now() - started) / 1000), ended: end };
  }

  /**
   * Bridges the call's party with another leg: each endpoint forwards the other's frames (and DTMF) until one
   * leg ends, `signal` aborts or the time limit passes. The muted/held flags of either call are honoured.
   */
  bridge(call: VoiceCall, other: { leg: VoiceLeg; call?: VoiceCall }, signal: AbortSignal, timeLimitSeconds?: number): Promise<'caller' | 'callee' | 'interrupted' | 'time-limit'> {
    const a = this.leg(call);
    const b = other.leg;
    a.endpoint.stop();
    b.endpoint.stop();
    const heard = (c?: VoiceCall) => !c || (!c.muted && !c.held);
    const offs = [
      a.endpoint.onFrame((f) => {
        if (heard(call) && !other.call?.held) b.endpoint.send(f);
      }),
      b.endpoint.onFrame((f) => {
        if (heard(other.call) && !call.held) a.endpoint.send(f);
      }),
      a.endpoint.onDtmf((d) => void b.endpoint.sendDtmf(d).catch(() => undefined)),
      b.endpoint.onDtmf((d) => void a.endpoint.sendDtmf(d).catch(() => undefined)),
      a.onInfoDtmf((d) => void b.endpoint.sendDtmf(d).catch(() => undefined)),
      b.onInfoDtmf((d) => void a.endpoint.sendDtmf(d).catch(() => undefined)),
    ];
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (r: 'caller' | 'callee' | 'interrupted' | 'time-limit') => {
        if (timer) clearTimeout(timer);
        for (const off of offs) off();
        signal.removeEventListener('abort', onAbort);
        resolve(r);
      };
      const onAbort = () => done('interrupted');
      if (signal.aborted) return done('interrupted');
      signal.addEventListener('abort', onAbort, { once: true });
      offs.push(a.onEnded(() => done('caller')), b.onEnded(() => done('callee')));
      if (timeLimitSeconds) timer = setTimeout(() => done('time-limit'), timeLimitSeconds * 1000);
    });
  }

  private async conference(call: VoiceCall, v: VerbOf<'conference'>): Promise<Record<string, unknown>> {
    await call.ensureAnswered();
    const leg = this.leg(call);
    if (!this.d.conferences) {
      this.d.errors.inc({ reason: 'conference-unavailable' });
      await playUntil(leg.endpoint, errorTone(), call.verbSignal);
      return { conferenceResult: 'unavailable' };
    }
    const j = await this.d.conferences.join({
      tenantId: call.tenantId, name: v.name, callId: call.id, label: call.direction === 'inbound' ? call.from : call.to, endpoint: leg.endpoint,
      ...(v.muted !== undefined ? { muted: v.muted } : {}), ...(v.held !== undefined ? { held: v.held } : {}), ...(v.endOnLeave !== undefined ? { endOnLeave: v.endOnLeave } : {}),
    });
    call.conference = { name: v.name, participantId: j.participant.id };
    call.muted = j.participant.muted;
    call.held = j.participant.held;
    const signal = call.verbSignal;
    const onAbort = () => j.leave();
    signal.addEventListener('abort', onAbort, { once: true });
    const off = leg.onEnded(() => j.leave());
    const how = await j.left;
    signal.removeEventListener('abort', onAbort);
    off();
    call.conference = undefined;
    return { conferenceResult: how };
  }

  private async enqueue(call: VoiceCall, v: VerbOf<'enqueue'>): Promise<Record<string, unknown>> {
    await call.ensureAnswered();
    const leg = this.leg(call);
    const key = `${call.tenantId}/${v.queue}`;
    const signal = call.verbSignal;
    const list = this.queues.get(key) ?? [];
    this.queues.set(key, list);
    let bridged: Promise<void> | undefined;
    let taken!: () => void;
    const wasTaken = new Promise<void>((r) => (taken = r));
    const waiter: Waiter = {
      call,
      take: (partner) => {
        leg.endpoint.stop();
        bridged = this.bridge(partner, { leg, call }, AbortSignal.any([partner.verbSignal, signal])).then(() => undefined);
        taken();
        return bridged;
      },
    };
    list.push(waiter);
    const remove = () => {
      const i = list.indexOf(waiter);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.queues.delete(key);
    };
    const music = v.waitPlay ?? { tone: { frequencies: [440, 480], durationMs: 2000, onMs: 2000, offMs: 4000 } };
    const wait = new AbortController();
    void (async () => {
      while (!wait.signal.aborted && !signal.aborted) {
        const src = await this.source(call, { ...music, loop: 1 }).catch(() => undefined);
        if (!src || (await playUntil(leg.endpoint, src, AbortSignal.any([wait.signal, signal]))) === 'stopped') break;
      }
    })();
    const timeout = v.timeoutSeconds ? sleep(v.timeoutSeconds * 1000, signal).then(() => 'timeout' as const, () => 'hangup' as const) : new Promise<'hangup'>((r) => signal.addEventListener('abort', () => r('hangup'), { once: true }));
    const first = await Promise.race([wasTaken.then(() => 'bridged' as const), timeout]);
    wait.abort();
    remove();
    if (first !== 'bridged') {
      leg.endpoint.stop();
      return { queueResult: signal.aborted ? 'hangup' : first };
    }
    await bridged;
    return { queueResult: 'bridged' };
  }

  private async dequeue(call: VoiceCall, v: VerbOf<'dequeue'>): Promise<Record<string, unknown>> {
    await call.ensureAnswered();
    this.leg(call);
    const key = `${call.tenantId}/${v.queue}`;
    const deadline = Date.now() + v.timeoutSeconds * 1000;
    const signal = call.verbSignal;
    while (!signal.aborted) {
      const w = this.queues.get(key)?.find((x) => !x.call.ended);
      if (w) {
        const list = this.queues.get(key)!;
        list.splice(list.indexOf(w), 1);
        await w.take(call);
        return { dequeueResult: 'bridged', callId: w.call.id };
      }
      if (Date.now() >= deadline) return { dequeueResult: 'timeout' };
      await sleep(200, signal).catch(() => undefined);
    }
    return { dequeueResult: 'hangup' };
  }

  private async refer(call: VoiceCall, v: VerbOf<'sip_refer'>): Promise<Record<string, unknown>> {
    const leg = this.leg(call);
    await call.ensureAnswered();
    const d = leg.dialog;
    if (!d) return { referStatus: 501 };
    const notified = new Promise<number>((resolve) => {
      const onNotify = (req: { body?: string }, res: { send(s: number): void }) => {
        res.send(200);
        const m = /SIP\/2\.0\s+(\d{3})/.exec(req.body ?? '');
        const code = m ? Number(m[1]) : 0;
        if (code >= 200) {
          d.off('notify', onNotify);
          resolve(code);
        }
      };
      d.on('notify', onNotify);
      leg.onEnded(() => resolve(0));
      setTimeout(() => resolve(408), 30_000).unref();
    });
    const res = await d.request({ method: 'REFER', headers: { 'Refer-To': `<${v.referTo}>`, 'Referred-By': `<sip:${call.to}@${this.d.legs.localHost()}>` } } as never) as unknown as { status: number };
    if (res.status >= 300) return { referStatus: res.status };
    const final = await notified;
    if (final >= 200 && final < 300) {
      await this.d.end(call, 'transferred');
      throw new Stop();
    }
    return { referStatus: res.status, notifyStatus: final };
  }
}

/** Plays on an endpoint until done or aborted. */
export async function playUntil(ep: { play(s: AudioSource): Promise<'done' | 'stopped'>; stop(): void }, src: AudioSource, signal: AbortSignal): Promise<'done' | 'stopped'> {
  if (signal.aborted) return 'stopped';
  const onAbort = () => ep.stop();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await ep.play(src);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}
