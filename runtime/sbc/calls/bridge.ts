/**
 * In-dialog behaviour of an answered call: handlers on both legs, attached before anything else can run,
 * then a check of `connected` for the BYE-right-after-ACK race (FACTS §7.3: a BYE handled in the same socket
 * read as the 200's API reply destroys the dialog before our listeners exist).
 *
 * - BYE either side → BYE the other, finish.
 * - re-INVITE (hold/resume, codec change, session refresh) and UPDATE with SDP: rtpengine offer from that
 *   side → same method to the other leg → rtpengine answer → 200 back. Failures answer with the far
 *   side's status (491 glare passes through).
 * - INFO DTMF → RFC 2833 injected by rtpengine toward the other leg when it negotiated telephone-event,
 *   else relayed as INFO. Other INFO bodies are relayed.
 * - RFC 2833 → INFO: rtpengine reports every telephone-event it relays (`--dtmf-log-dest`, media/dtmf-events.ts);
 *   when the leg the digit goes to did NOT negotiate telephone-event, it gets a SIP INFO (application/dtmf-relay).
 * - REFER (blind transfer) → transfer.ts.
 */
import Srf from 'drachtio-srf';
import { AppError, toAppError } from '../../core/errors.js';
import type { CallSession } from './call-session.js';
import { dtmfOfferOptions, hasTelephoneEvent, parseDtmfInfo } from './dtmf.js';
import { blindTransfer } from './transfer.js';
import type { DtmfEvent } from '../media/dtmf-events.js';

type Side = 'a' | 'b';

export function sipStatusOf(err: unknown): number {
  if (err instanceof Srf.SipError) return err.status;
  const e = err instanceof AppError ? err : toAppError(err);
  return typeof e.details.sipStatus === 'number' ? e.details.sipStatus : e.sipStatus;
}

export function bridge(call: CallSession): void {
  const legs = { a: call.uas!, b: call.uac! };
  const other = (s: Side): Side => (s === 'a' ? 'b' : 'a');
  let injectedUntil = 0; // until when DTMF events on this call are our own playDTMF

  const attach = (side: Side): void => {
    const leg = () => legs[side];
    const peer = () => legs[other(side)];
    leg().on('destroy', () => {
      call.log.info({ side }, 'BYE received');
      void call.destroyLeg(peer()).then(() => call.finish('remote-hangup', side === 'a' ? 'caller' : 'callee', 200));
    });

    leg().on('modify', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
      void (async () => {
        if (!req.body) {
          // Delayed-offer re-INVITE: answer with the current SDP (the ACK's SDP is not relayed).
          res.send(200, { body: leg().local.sdp });
          return;
        }
        try {
          const offer = await call.media.offer(req.body, side, 'sip', dtmfOfferOptions(req.body, !!call.deps.dtmfEvents && !hasTelephoneEvent(peer().remote.sdp)));
          const answer = await peer().modify(offer);
          const out = await call.media.answer(answer, side, 'sip');
          res.send(200, { body: out, headers: { 'Content-Type': 'application/sdp' } });
          call.log.info({ side, hold: /a=(sendonly|inactive)/.test(req.body) }, 're-INVITE relayed');
        } catch (err) {
          call.log.warn({ err, side }, 're-INVITE failed');
          res.send(sipStatusOf(err) >= 400 ? sipStatusOf(err) : 500);
        }
      })();
    });

    leg().on('update', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
      void (async () => {
        try {
          if (req.body) {
            const offer = await call.media.offer(req.body, side, 'sip');
            const r = await peer().request({ method: 'UPDATE', body: offer, headers: { 'Content-Type': 'application/sdp' } } as unknown as Srf.SrfRequest);
            if (r.status >= 300) return res.send(r.status);
            const out = await call.media.answer(r.body, side, 'sip');
            res.send(200, { body: out, headers: { 'Content-Type': 'application/sdp' } });
          } else {
            const r = await peer().request({ method: 'UPDATE', headers: passSessionHeaders(req) } as unknown as Srf.SrfRequest);
            res.send(r.status, { headers: passSessionHeaders(r) });
          }
        } catch (err) {
          call.log.warn({ err, side }, 'UPDATE failed');
          res.send(500);
        }
      })();
    });

    leg().on('info', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
      void (async () => {
        const dtmf = parseDtmfInfo(req.get('Content-Type'), req.body);
        const peerSdp = peer().remote.sdp;
        try {
          if (dtmf && hasTelephoneEvent(peerSdp)) {
            res.send(200);
            injectedUntil = Date.now() + dtmf.durationMs + 1000;
            await call.media.playDtmf(other(side), dtmf.digit, dtmf.durationMs);
            call.deps.metrics.dtmfConverted.inc();
            call.log.info({ side, digit: dtmf.digit }, 'INFO DTMF sent as RFC 2833');
            return;
          }
          const r = await peer().request({ method: 'INFO', body: req.body, headers: req.get('Content-Type') ? { 'Content-Type': req.get('Content-Type') } : {} } as unknown as Srf.SrfRequest);
          res.send(r.status);
        } catch (err) {
          call.log.warn({ err, side }, 'INFO relay failed');
          if (!res.finalResponseSent) res.send(sipStatusOf(err) >= 400 ? sipStatusOf(err) : 500);
        }
      })();
    });

    leg().on('refer', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
      void blindTransfer(call, side, req, res, (s, d) => {
        legs[s] = d;
        // The new leg gets the same handlers; it may already be gone (same race as below).
        attach(s);
        if (!d.connected) void call.destroyLeg(legs[other(s)]).then(() => call.finish('remote-hangup', 'transfer-target', 200));
      }).catch((err: unknown) => call.log.warn({ err }, 'transfer failed'));
    });
  };
  attach('a');
  attach('b');

  // RFC 2833 → SIP INFO (rtpengine's DTMF log, when configured).
  const events = call.deps.dtmfEvents;
  if (events) {
    const unsubscribe = events.subscribe(call.media.id, (e) => {
      if (Date.now() < injectedUntil) return; // our own playDTMF (INFO → 2833) echoed by the log
      const from = dtmfSource(e, legs, call.media.tags);
      if (!from) return void call.log.debug({ e }, 'bridge() | DTMF event of an unknown leg');
      const to = legs[other(from)];
      if (!to.connected || hasTelephoneEvent(to.remote.sdp)) return; // rtpengine relays the events themselves
      void to.request({ method: 'INFO', headers: { 'Content-Type': 'application/dtmf-relay' }, body: `Signal=${e.digit}\r\nDuration=${e.durationMs}\r\n` } as unknown as Srf.SrfRequest)
        .then(() => {
          call.log.info({ from, digit: e.digit }, 'RFC 2833 DTMF sent as SIP INFO');
          call.deps.onDtmfRelayed?.(call, e.digit);
        }, (err: unknown) => call.log.warn({ err }, 'INFO DTMF to the other leg failed'));
    });
    call.onEnded(unsubscribe);
  }

  // The race: either leg may already be gone.
  for (const side of ['a', 'b'] as const) {
    if (!legs[side].connected) {
      call.log.info({ side }, 'leg ended before the bridge was set up (BYE right after ACK)');
      void call.destroyLeg(legs[other(side)]).then(() => call.finish('remote-hangup', side === 'a' ? 'caller' : 'callee', 200));
      break;
    }
  }
}

const connectionIp = (sdp: string | undefined) => /^c=IN IP[46] (\S+)/m.exec(sdp ?? '')?.[1];

/** Which leg sent a telephone-event rtpengine logged: its `source_tag` (the sender's monologue), else the sender's address. */
export function dtmfSource(e: DtmfEvent, legs: { a: { remote: { sdp: string } }; b: { remote: { sdp: string } } }, tags: { a: string; b: string }): Side | undefined {
  if (e.sourceTag === tags.a) return 'a';
  if (e.sourceTag === tags.b) return 'b';
  const ipA = connectionIp(legs.a.remote.sdp);
  const ipB = connectionIp(legs.b.remote.sdp);
  if (e.sourceIp && ipA !== ipB) {
    if (e.sourceIp === ipA) return 'a';
    if (e.sourceIp === ipB) return 'b';
  }
  return undefined;
}

function passSessionHeaders(m: { get(n: string): string; has(n: string): boolean }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of ['Session-Expires', 'Min-SE']) if (m.has(h)) out[h] = m.get(h);
  return out;
}
