/**
 * One B-leg attempt: `createUAC` with our own timers. A gateway that sends nothing within
 * `gatewayTimeoutMs` (the engine does not pass 100 Trying up) is abandoned as 408 so the next one can be
 * tried; no final answer within `ringTimeoutMs` is 480 No Answer. An abandoned attempt is CANCELled (the
 * engine sends the CANCEL once a provisional arrives) and, should it still answer, hung up at once.
 */
import Srf from 'drachtio-srf';
import type { Logger } from '../../core/logging.js';
import type { DialTarget } from '../routing/target.js';

export type AttemptOutcome =
  | { kind: 'answered'; dialog: Srf.Dialog }
  | { kind: 'failed'; status: number; reason: string; timeout: boolean };

export interface Attempt {
  outcome: Promise<AttemptOutcome>;
  /** Abandon the attempt (caller cancelled, ring timeout): resolves the outcome with this status. */
  abort(status: number, reason: string): void;
}

export interface DialOptions {
  srf: Srf;
  target: DialTarget;
  sdp: string;
  from: string;
  to: string;
  gatewayTimeoutMs: number;
  ringTimeoutMs: number;
  onProvisional(res: Srf.SrfResponse): void;
  log: Logger;
}

export function dial(o: DialOptions): Attempt {
  let settle!: (x: AttemptOutcome) => void;
  let settled = false;
  let sent: Srf.SrfRequest | undefined;
  let cancelWanted = false;
  let provisional = false;
  const outcome = new Promise<AttemptOutcome>((resolve) => {
    settle = (x) => {
      if (settled) return;
      settled = true;
      clearTimeout(gwTimer);
      clearTimeout(ringTimer);
      resolve(x);
    };
  });
  const cancel = () => {
    if (sent) sent.cancel(() => undefined);
    else cancelWanted = true;
  };
  const abort = (status: number, reason: string) => {
    if (settled) return;
    settle({ kind: 'failed', status, reason, timeout: status === 408 });
    cancel();
  };
  const gwTimer = setTimeout(() => {
    if (!provisional) abort(408, 'Request Timeout');
  }, o.gatewayTimeoutMs);
  const ringTimer = setTimeout(() => abort(480, 'No Answer'), o.ringTimeoutMs);

  const headers = { ...o.target.headers, From: o.from, To: o.to };
  const opts: Srf.CreateUACOptions = {
    headers,
    localSdp: o.sdp,
    ...(o.target.proxy ? { proxy: o.target.proxy } : {}),
    ...(o.target.auth ? { auth: o.target.auth } : {}),
  };
  // srf calls cbRequest as (err, req) although its types say (req).
  const cbRequest = ((err: unknown, req: Srf.SrfRequest) => {
    if (err || !req) return;
    sent = req;
    if (cancelWanted) req.cancel(() => undefined);
  }) as unknown as (req: Srf.SrfRequest) => void;
  o.srf.createUAC(o.target.uri, opts, {
    cbRequest,
    cbProvisional: (res: Srf.SrfResponse) => {
      provisional = true;
      if (!settled) o.onProvisional(res);
    },
  }).then(
    (dialog) => {
      if (settled) {
        o.log.info({ target: o.target.label }, 'abandoned attempt answered late; hanging it up');
        dialog.destroy();
        return;
      }
      settle({ kind: 'answered', dialog });
    },
    (err: { status?: number; reason?: string; message?: string }) => {
      const status = typeof err?.status === 'number' ? err.status : 503;
      if (!settled) o.log.debug({ target: o.target.label, status }, 'dial() | attempt failed');
      settle({ kind: 'failed', status, reason: err?.reason ?? err?.message ?? 'Service Unavailable', timeout: status === 408 });
    },
  );
  return { outcome, abort };
}

/** Whether a failed attempt may go on to the next target: timeouts and 5xx, never 4xx or 6xx. */
export const shouldFailover = (status: number): boolean => status === 408 || (status >= 500 && status < 600);
