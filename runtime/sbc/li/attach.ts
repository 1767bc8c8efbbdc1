/**
 * Glue between a live CallSession and the security features that follow a call (lawful interception, capture):
 * no change to the session itself; its `markAnswered` is observed and `onEnded` used.
 */
import type { CallSession } from '../calls/call-session.js';
import type { LiMonitor } from './monitor.js';

/** Calls `cb` right after the session is marked answered (both legs up, media answered). */
export function onAnswered(session: CallSession, cb: () => void): void {
  const mark = session.markAnswered.bind(session);
  session.markAnswered = () => {
    mark();
    try {
      cb();
    } catch {
      // observers never disturb the call
    }
  };
}

/** Checks the call against the interception targets; a match is followed to its end. */
export function attachInterception(li: LiMonitor, session: CallSession): void {
  void li.check({ id: session.info.id, tenantId: session.info.tenantId, fromUri: session.info.fromUri, toUri: session.info.toUri, media: session.media }).then((hooks) => {
    if (!hooks) return;
    if (!session.media.active) return hooks.ended();
    if (session.answeredAt) hooks.answered();
    else onAnswered(session, () => hooks.answered());
    session.onEnded(() => hooks.ended());
  });
}

/** SIP Call-IDs of both legs. */
export function sipCallIdsOf(session: CallSession): string[] {
  const ids = [session.req.get('Call-ID')];
  const b = (session.uac as unknown as { sip?: { callId?: string } } | undefined)?.sip?.callId;
  if (b) ids.push(b);
  return ids.filter(Boolean);
}
