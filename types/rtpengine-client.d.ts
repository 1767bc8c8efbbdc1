/**
 * Types for rtpengine-client 0.4.12 (ships none), written from its source (index.js, lib/*.js).
 *
 * - `Client` speaks the ng protocol over UDP (bencode, 36-char cookie). Every command takes the rtpengine
 *   address first — `(port, host, opts?)` or `({ port, host }, opts?)` — and resolves with rtpengine's reply.
 *   Unless `rejectOnError: true` was passed to the constructor, a reply with `result: 'error'` RESOLVES
 *   (check `result` yourself); timeouts reject with RtpEngineError only when `timeout` (ms) was given.
 * - `TcpClient` / `WsClient` are connection based: commands take only `(opts?)`.
 */
declare module 'rtpengine-client' {
  import { EventEmitter } from 'node:events';

  export type RtpEngineCommand =
    | 'answer' | 'delete' | 'list' | 'offer' | 'ping' | 'query' | 'startRecording' | 'stopRecording'
    | 'blockDTMF' | 'unblockDTMF' | 'playDTMF' | 'blockMedia' | 'unblockMedia' | 'silenceMedia'
    | 'unsilenceMedia' | 'startForwarding' | 'stopForwarding' | 'playMedia' | 'stopMedia' | 'statistics'
    | 'publish' | 'subscribeRequest' | 'subscribeAnswer' | 'unsubscribe';

  /** ng request dictionary (`call-id`, `from-tag`, `sdp`, `flags`, `replace`, `ICE`, …); `command` is added by the client. */
  export type RtpEngineOptions = Record<string, unknown>;

  /** ng reply: `result` is 'ok' | 'error' | 'pong' | …; `sdp` on offer/answer; `error-reason` on error. */
  export interface RtpEngineResponse {
    result: string;
    sdp?: string;
    'error-reason'?: string;
    warning?: string;
    [key: string]: unknown;
  }

  export interface Destination {
    port: number;
    host: string;
  }

  export interface ClientOptions {
    localPort?: number;
    localAddress?: string;
    /** ms; 0/absent = wait forever. */
    timeout?: number;
    /** Reject (with rtpengine's `error-reason` string) instead of resolving when `result === 'error'`. */
    rejectOnError?: boolean;
  }

  type UdpCommand = {
    (port: number, host: string, opts?: RtpEngineOptions): Promise<RtpEngineResponse>;
    (dest: Destination, opts?: RtpEngineOptions): Promise<RtpEngineResponse>;
    (dest: Destination, opts: RtpEngineOptions, callback: (err: Error | string | null, res?: RtpEngineResponse) => void): Client;
  };
  type ConnCommand = (opts?: RtpEngineOptions) => Promise<RtpEngineResponse>;

  abstract class BaseClient extends EventEmitter {
    readonly type: 'udp' | 'tcp' | 'websocket';
    connected: boolean;
    timeout: number;
    close(): void;
    on(event: 'listening' | 'end', listener: () => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: string, listener: (...args: any[]) => void): this;
  }

  export class Client extends BaseClient {
    /** Binds a UDP socket: `()`, `(localPort)`, `(localPort, localAddress)` or `(opts)`; optional 'listening' callback last. */
    constructor(opts?: ClientOptions | number, localAddressOrCallback?: string | (() => void), callback?: () => void);
    answer: UdpCommand; delete: UdpCommand; list: UdpCommand; offer: UdpCommand; ping: UdpCommand;
    query: UdpCommand; startRecording: UdpCommand; stopRecording: UdpCommand; blockDTMF: UdpCommand;
    unblockDTMF: UdpCommand; playDTMF: UdpCommand; blockMedia: UdpCommand; unblockMedia: UdpCommand;
    silenceMedia: UdpCommand; unsilenceMedia: UdpCommand; startForwarding: UdpCommand; stopForwarding: UdpCommand;
    playMedia: UdpCommand; stopMedia: UdpCommand; statistics: UdpCommand; publish: UdpCommand;
    subscribeRequest: UdpCommand; subscribeAnswer: UdpCommand; unsubscribe: UdpCommand;
  }

  abstract class ConnectionClient extends BaseClient {
    answer: ConnCommand; delete: ConnCommand; list: ConnCommand; offer: ConnCommand; ping: ConnCommand;
    query: ConnCommand; startRecording: ConnCommand; stopRecording: ConnCommand; blockDTMF: ConnCommand;
    unblockDTMF: ConnCommand; playDTMF: ConnCommand; blockMedia: ConnCommand; unblockMedia: ConnCommand;
    silenceMedia: ConnCommand; unsilenceMedia: ConnCommand; startForwarding: ConnCommand; stopForwarding: ConnCommand;
    playMedia: ConnCommand; stopMedia: ConnCommand; statistics: ConnCommand; publish: ConnCommand;
    subscribeRequest: ConnCommand; subscribeAnswer: ConnCommand; unsubscribe: ConnCommand;
  }

  export class TcpClient extends ConnectionClient {
    /** `hostport` is `host:port`. */
    constructor(opts: string | { hostport: string; timeout?: number });
  }

  export class WsClient extends ConnectionClient {
    constructor(opts: string | { url: string; timeout?: number });
  }

  export class RtpEngineError extends Error {}
}
