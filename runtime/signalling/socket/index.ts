import type { Server } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../../core/protocol/events.js';
import type { Services } from '../services.js';

export interface SocketData {
  tenantId: string;
  identity: string;
  displayName?: string;
}
export type Io = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export function attachSocketLayer(_io: Io, _services: Services): { stop(): void } {
  return { stop() {} };
}
