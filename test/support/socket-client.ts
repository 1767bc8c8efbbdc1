import { io as connectIo, type Socket } from 'socket.io-client';
import type { Ack, ClientToServerEvents, ServerToClientEvents, SessionInfo } from '../../runtime/core/protocol/events.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Connects a real socket.io client (websocket transport) and waits for `session:ready`. */
export async function connectClient(baseUrl: string, token: string, opts: { timeoutMs?: number; reconnection?: boolean } = {}): Promise<{ socket: ClientSocket; session: SessionInfo }> {
  const socket: ClientSocket = connectIo(baseUrl, { transports: ['websocket'], auth: { token }, reconnection: opts.reconnection ?? false, forceNew: true, timeout: 5_000 });
  const session = await new Promise<SessionInfo>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('session:ready timeout')), opts.timeoutMs ?? 5_000);
    socket.once('session:ready', (s) => {
      clearTimeout(timer);
      resolve(s);
    });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
  });
  return { socket, session };
}

/** The connect_error a token gets (or undefined if it connected). */
export async function connectError(baseUrl: string, token: unknown): Promise<{ message: string; data?: { code: string } } | undefined> {
  const socket: ClientSocket = connectIo(baseUrl, { transports: ['websocket'], auth: { token } as Record<string, unknown>, reconnection: false, forceNew: true });
  try {
    return await new Promise((resolve) => {
      socket.once('connect', () => resolve(undefined));
      socket.once('connect_error', (err) => resolve(err as never));
    });
  } finally {
    socket.close();
  }
}

/** emitWithAck with a timeout, returning the Ack. */
export async function request<T = unknown>(socket: ClientSocket, event: string, payload: unknown, timeoutMs = 5_000): Promise<Ack<T>> {
  return (await (socket as unknown as Socket).timeout(timeoutMs).emitWithAck(event, payload)) as Ack<T>;
}

/** Resolves with the next `event` whose payload matches `match`. */
export function nextEvent<T = any>(socket: ClientSocket, event: string, match: (p: T) => boolean = () => true, timeoutMs = 5_000): Promise<T> {
  const s = socket as unknown as Socket;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.off(event, on);
      reject(new Error(`timeout waiting for ${event}`));
    }, timeoutMs);
    const on = (p: T) => {
      if (!match(p)) return;
      clearTimeout(timer);
      s.off(event, on);
      resolve(p);
    };
    s.on(event, on);
  });
}

/** Collects every payload of `event` into an array. */
export function collect<T = any>(socket: ClientSocket, event: string): T[] {
  const out: T[] = [];
  (socket as unknown as Socket).on(event, (p: T) => out.push(p));
  return out;
}
