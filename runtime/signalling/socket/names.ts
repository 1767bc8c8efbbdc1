/**
 * socket.io room names. Every name carries the tenant, so no broadcast can cross tenants; with the Redis
 * adapter the same names work across instances.
 */
export const roomChannel = (tid: string, roomId: string) => `r:${tid}:${roomId}`;
export const participantChannel = (tid: string, roomId: string, participantId: string) => `p:${tid}:${roomId}:${participantId}`;
export const identityChannel = (tid: string, identity: string) => `i:${tid}:${identity}`;
export const presenceChannel = (tid: string, identity: string) => `s:${tid}:${identity}`;
export const callChannel = (tid: string, callId: string, side: 'a' | 'b') => `c:${tid}:${callId}:${side}`;
