/**
 * RFC 2833/4733 DTMF events detected by rtpengine, received over UDP (`rtpengine --dtmf-log-dest=IP:PORT`).
 *
 * rtpengine 10.5.3.5 sends one JSON datagram per finished event (verified on the dev machine, docs/sbc.md):
 *   {"callid":"ca_…","source_tag":"b-leg","tags":["b-leg","a-leg"],"type":"DTMF","timestamp":1795619166,
 *    "source_ip":"127.0.11.1","event":5,"duration":120,"volume":10}
 * `callid` is the ng call-id (our MediaSession id), `source_tag` the monologue that sent the event, `event` the
 * RFC 4733 event code (0–9, 10 `*`, 11 `#`, 12–15 A–D, 16 flash), `duration` in ms. rtpengine only detects events
 * on a stream whose negotiated codecs include telephone-event (see calls/dtmf.ts dtmfOfferOptions).
 *
 * One listener per SBC process; calls subscribe by ng call-id. Several rtpengines may log to the same port.
 */
import dgram from 'node:dgram';
import type { Logger } from '../../core/logging.js';

export interface DtmfEvent {
  /** rtpengine call-id (MediaSession.id). */
  callId: string;
  /** Monologue tag of the sender. */
  sourceTag: string;
  tags: string[];
  sourceIp?: string;
  /** '0'–'9', '*', '#', 'A'–'D'. */
  digit: string;
  durationMs: number;
  volume?: number;
}

const DIGITS = '0123456789*#ABCD';

/** Parses one rtpengine DTMF log datagram; undefined for anything else (flash, other types, garbage). */
export function parseDtmfLog(msg: string): DtmfEvent | undefined {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(msg) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof j !== 'object' || j === null) return undefined;
  if (j.type !== undefined && j.type !== 'DTMF') return undefined;
  const ev = typeof j.event === 'number' ? j.event : Number(j.event);
  if (typeof j.callid !== 'string' || !Number.isInteger(ev) || ev < 0 || ev >= DIGITS.length) return undefined;
  const duration = Number(j.duration);
  return {
    callId: j.callid,
    sourceTag: typeof j.source_tag === 'string' ? j.source_tag : '',
    tags: Array.isArray(j.tags) ? j.tags.filter((t): t is string => typeof t === 'string') : [],
    ...(typeof j.source_ip === 'string' ? { sourceIp: j.source_ip } : {}),
    digit: DIGITS[ev]!,
    durationMs: Number.isFinite(duration) && duration > 0 ? duration : 100,
    ...(typeof j.volume === 'number' ? { volume: j.volume } : {}),
  };
}

export type DtmfHandler = (e: DtmfEvent) => void;

/** Routes DTMF events to the call that subscribed to the rtpengine call-id. */
export class DtmfEventListener {
  private readonly subs = new Map<string, DtmfHandler>();
  received = 0;

  private constructor(private readonly socket: dgram.Socket, private readonly log: Logger) {
    socket.on('message', (buf) => this.dispatch(buf.toString('utf8')));
    socket.on('error', (err) => log.warn({ err }, 'DTMF log socket error'));
  }

  /** Binds `host:port` (UDP). */
  static async listen(o: { host: string; port: number; log: Logger }): Promise<DtmfEventListener> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(o.port, o.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new DtmfEventListener(socket, o.log.child({ component: 'dtmf-events' }));
  }

  get address(): { host: string; port: number } {
    const a = this.socket.address();
    return { host: a.address, port: a.port };
  }

  /** Events of one rtpengine call; returns the unsubscribe function. */
  subscribe(callId: string, handler: DtmfHandler): () => void {
    this.subs.set(callId, handler);
    return () => {
      if (this.subs.get(callId) === handler) this.subs.delete(callId);
    };
  }

  dispatch(text: string): void {
    const e = parseDtmfLog(text);
    if (!e) return void this.log.debug({ text: text.slice(0, 200) }, 'dispatch() | not a DTMF event');
    this.received++;
    const h = this.subs.get(e.callId);
    if (!h) return;
    try {
      h(e);
    } catch (err) {
      this.log.warn({ err, callId: e.callId }, 'DTMF handler failed');
    }
  }

  close(): Promise<void> {
    this.subs.clear();
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** `IP:PORT` → {host, port}. */
export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`expected IP:PORT, got ${s}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}
