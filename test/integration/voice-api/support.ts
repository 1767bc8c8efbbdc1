/**
 * Test doubles for the REST side of programmable voice: a fake `VoiceEngine` (in memory, records what it was
 * asked) behind the real SBC control server and `mountVoiceRoutes`, on 127.0.17.x ports 27000–27999.
 */
import { createServer, type Server } from 'node:http';
import { AppError } from '../../../runtime/core/errors.js';
import { silentLogger } from '../../../runtime/core/logging.js';
import type { CallStatus, CallStatusEvent } from '../../../runtime/core/protocol/voice.js';
import { ControlServer } from '../../../runtime/sbc/control/server.js';
import { mountVoiceRoutes } from '../../../runtime/sbc/voice/control.js';
import type { CallModify, LiveCallView, OriginateRequest, VoiceEngine } from '../../../runtime/sbc/voice/contracts.js';

export const VOICE_HOST = '127.0.17.1';

/** A free port in 27000–27999 on `host` (random start, next on EADDRINUSE). */
export async function listenInRange(server: Server, host = VOICE_HOST): Promise<number> {
  const start = 27000 + Math.floor(Math.random() * 900);
  for (let port = start; port < 28000; port++) {
    const ok = await new Promise<boolean>((resolve) => {
      const onErr = () => resolve(false);
      server.once('error', onErr);
      server.listen(port, host, () => {
        server.off('error', onErr);
        resolve(true);
      });
    });
    if (ok) return port;
  }
  throw new Error('no free port in 27000-27999');
}

type Cb = { url: string; fallbackUrl?: string };

export class FakeVoiceEngine implements VoiceEngine {
  readonly originated: OriginateRequest[] = [];
  readonly modified: Array<{ tenantId: string; callId: string; m: CallModify }> = [];
  readonly calls = new Map<string, LiveCallView>();
  private readonly cbs = new Set<(e: CallStatusEvent, cb: Cb | undefined) => void>();
  private readonly seq = new Map<string, number>();
  private readonly callbacks = new Map<string, Cb>();
  private n = 0;
  /** Next originate fails with this error (once). */
  failNext?: AppError;

  async originate(r: OriginateRequest): Promise<LiveCallView> {
    if (this.failNext) {
      const e = this.failNext;
      delete this.failNext;
      throw e;
    }
    this.originated.push(r);
    const callId = `ca_fake${++this.n}`;
    const to = r.to.type === 'phone' ? r.to.number : r.to.type === 'sip' ? r.to.uri : r.to.type === 'user' ? r.to.name : r.to.identity;
    const view: LiveCallView = { callId, tenantId: r.tenantId, direction: 'outbound', from: r.from, to, status: 'initiated', muted: false, held: false, recording: false, startedAt: new Date().toISOString() };
    this.calls.set(callId, view);
    if (r.statusCallback) this.callbacks.set(callId, r.statusCallback);
    this.emit(callId, 'initiated');
    return { ...view };
  }

  get(tenantId: string, callId: string): LiveCallView | undefined {
    const c = this.calls.get(callId);
    return c && c.tenantId === tenantId ? { ...c } : undefined;
  }

  list(tenantId: string): LiveCallView[] {
    return [...this.calls.values()].filter((c) => c.tenantId === tenantId);
  }

  async modify(tenantId: string, callId: string, m: CallModify): Promise<LiveCallView> {
    const c = this.calls.get(callId);
    if (!c || c.tenantId !== tenantId) throw new AppError('CALL_NOT_FOUND', `call ${callId} not found`);
    this.modified.push({ tenantId, callId, m });
    if (m.action === 'mute' || m.action === 'unmute') c.muted = m.action === 'mute';
    if (m.action === 'hold' || m.action === 'unhold') c.held = m.action === 'hold';
    if (m.action === 'record') c.recording = m.record === 'start' || m.record === 'resume';
    if (m.action === 'transfer' && c.status !== 'answered') throw new AppError('CALL_STATE_CONFLICT', 'the call is not answered');
    if (m.action === 'hangup') {
      this.calls.delete(callId);
      this.emit(callId, 'completed', c);
      return { ...c, status: 'completed' };
    }
    return { ...c };
  }

  onStatus(cb: (e: CallStatusEvent, callback: Cb | undefined) => void): () => void {
    this.cbs.add(cb);
    return () => this.cbs.delete(cb);
  }

  /** Moves a call to `status` and emits the event (as the real engine does). */
  emit(callId: string, status: CallStatus, view = this.calls.get(callId)): CallStatusEvent {
    if (!view) throw new Error(`no call ${callId}`);
    view.status = status;
    if (status === 'answered') view.answeredAt = new Date().toISOString();
    const sequence = (this.seq.get(callId) ?? 0) + 1;
    this.seq.set(callId, sequence);
    const e: CallStatusEvent = {
      event: 'call.status', tenantId: view.tenantId, callId, status, sequence, timestamp: new Date().toISOString(), direction: view.direction, from: view.from, to: view.to,
      ...(status === 'completed' ? { cause: 'normal', durationSeconds: 1 } : {}),
    };
    for (const cb of this.cbs) cb(e, this.callbacks.get(callId));
    return e;
  }
}

/** The real SBC control server with the voice routes over a fake engine. */
export async function startFakeSbc(secret: string): Promise<{ engine: FakeVoiceEngine; control: ControlServer; url: string; close(): Promise<void> }> {
  const engine = new FakeVoiceEngine();
  const control = new ControlServer(silentLogger);
  mountVoiceRoutes(control, { engine, secret, log: silentLogger });
  // ControlServer.listen takes a port: find a free one in range first.
  const probe = createServer();
  const port = await listenInRange(probe);
  await new Promise<void>((r) => probe.close(() => r()));
  const addr = await control.listen(VOICE_HOST, port);
  return { engine, control, url: `http://${addr.host}:${addr.port}`, close: () => control.close() };
}
