import type { Socket } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../../core/protocol/events.js';
import type { Logger } from '../../core/logging.js';
import type { Services } from '../services.js';
import type { Grants } from '../../core/protocol/common.js';
import type { Io } from './index.js';

export interface SocketData {
  tenantId: string;
  identity: string;
  displayName?: string;
  grants: Grants;
  tokenExpiresAt: number;
}

export type AppSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** Per-connection state, owned by the instance that holds the socket. */
export interface SocketState {
  /** roomId → participantId for the rooms this socket has joined. */
  rooms: Map<string, string>;
  /** callId → this socket's side ('a' caller, 'b' callee). */
  calls: Map<string, 'a' | 'b'>;
  presenceSubscriptions: Set<string>;
}

/** Shared by all handlers of one signalling instance. */
export interface LayerContext {
  io: Io;
  services: Services;
  log: Logger;
  /** Pending "left after grace period" timers, keyed `<tenant>/<room>/<participant>`. */
  leaveTimers: Map<string, NodeJS.Timeout>;
  /** Ring timeouts of calls started on this instance. */
  ringTimers: Map<string, NodeJS.Timeout>;
  /** Seconds a disconnected participant is kept as `reconnecting` before it is announced as left. */
  reconnectGraceMs: number;
}

export interface ConnectionContext extends LayerContext {
  socket: AppSocket;
  state: SocketState;
  tenantId: string;
  identity: string;
  log: Logger;
}
