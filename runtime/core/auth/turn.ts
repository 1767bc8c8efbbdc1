import { createHmac } from 'node:crypto';
import type { IceServer } from '../protocol/common.js';

/**
 * TURN REST credentials (coturn `use-auth-secret`): username = "<unix expiry>:<user>",
 * credential = base64(HMAC-SHA1(secret, username)).
 */
export function turnCredential(secret: string, user: string, ttlSeconds: number, nowMs: number): { username: string; credential: string; expiresAt: number } {
  const expiry = Math.floor(nowMs / 1000) + ttlSeconds;
  const username = `${expiry}:${user}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential, expiresAt: expiry * 1000 };
}

/** The ICE server list for a client: STUN URLs as they are, TURN/TURNS URLs with fresh credentials. */
export function iceServersFor(
  urls: readonly string[],
  secret: string,
  user: string,
  ttlSeconds: number,
  nowMs: number,
): { iceServers: IceServer[]; expiresAt: number } {
  const cred = turnCredential(secret, user, ttlSeconds, nowMs);
  const stun = urls.filter((u) => u.startsWith('stun:'));
  const turn = urls.filter((u) => u.startsWith('turn:') || u.startsWith('turns:'));
  const iceServers: IceServer[] = [];
  if (stun.length) iceServers.push({ urls: stun });
  if (turn.length) iceServers.push({ urls: turn, username: cred.username, credential: cred.credential });
  return { iceServers, expiresAt: cred.expiresAt };
}
