/**
 * Augments drachtio-srf 5.0.29's bundled types (lib/@types/index.d.ts), which are incomplete under
 * `strict`. Everything here was read in the library source (lib/srf.js, connect.js, wire-protocol.js,
 * dialog.js, request.js, sip_error.js); keep it in step with the pinned version.
 */
import 'drachtio-srf';
import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';

declare module 'drachtio-srf' {
  // With `export = Srf`, declarations here merge into namespace Srf (the module's exports).
  interface SrfConfig {
    /** Tags sent in `authenticate` (routing hints for drachtio-server). */
    tags?: string[];
    /** Send `ping` every `pingInterval` ms (5,000–300,000; default 15,000); only to servers ≥ v0.8.2. */
    enablePing?: boolean;
    pingInterval?: number;
    /** TLS for the admin connection. Quirk: a reconnect always uses plain TCP. */
    tls?: ConnectionOptions;
    /** Reconnect back-off: 150 ms × 1.7 per attempt, capped by these. */
    reconnect?: { retryMaxDelay?: number; maxAttempts?: number; connectTimeout?: number };
  }

  interface ListenConfig {
    port: number;
    host?: string;
    secret: string;
    tags?: string[];
    tls?: import('node:tls').TlsOptions;
    enablePing?: boolean;
    pingInterval?: number;
  }

  /** A non-success final response (lib/sip_error.js). */
  class SipError extends Error {
    constructor(status: number, reason?: string);
    name: 'SipError';
    status: number;
    reason?: string;
    /** The final response, when the error came from a received response. */
    res?: SrfResponse;
  }

  interface SrfRequest {
    /** drachtio transaction id of this request. */
    stackTxnId: string;
    /** drachtio dialog id, for in-dialog requests. */
    stackDialogId?: string;
    canceled?: boolean;
    /** Receiving socket's server address, `host:port`, when drachtio reports it. */
    receivedOn?: string;
    server: { address: string; hostport: string };
    cancel(opts?: { headers?: Record<string, string> }, callback?: (err: any, req: SrfRequest) => void): void;
    proxy(opts: object, callback?: (err: any, results: unknown) => void): void;
  }

  interface SrfResponse {
    stackTxnId?: string;
    stackDialogId?: string;
    send(status: number, reason: string, opts: object, callback: (err: any, msg: SipMessage) => void, fnAck: (ack: SrfRequest) => void): void;
  }

  interface Dialog {
    /** `<Call-ID>;from-tag=<From tag of the UAC side>`. */
    readonly id: string;
    /** False once destroyed (by either side). */
    connected: boolean;
    readonly dialogType: 'INVITE' | 'SUBSCRIBE';
    socket: Socket;
    destroy(opts?: { headers?: Record<string, string>; auth?: { username: string; password: string } }): Promise<SrfRequest>;
  }

  /** `err.code` on a failed `request`: `ENODIALOG` when the server no longer has the dialog. */
  interface DrachtioRequestError extends Error {
    code: 'ENODIALOG' | 'EDRACHTIO' | 'EINVALIDSOCKET' | 'ESOCKETDESTROYED';
  }

  interface RequestOptions {
    method: SipMethod | string;
    headers?: Record<string, string>;
    body?: string;
    auth?: { username: string; password: string };
    /** Outbound proxy: `sip:host:port;transport=tcp` or `host:port`. */
    proxy?: string;
  }

  /**
   * Instance members the bundled `declare class Srf` lacks. A class behind `export =` can't be augmented,
   * so use `const srf = new Srf() as Srf & Srf.SrfExtras`.
   * Also wrong in the bundled types and not fixable here: createUAC's `cbRequest` is called as
   * `(err, req)`, not `(req)`; Dialog 'destroy' listeners get `(msg, reason)`.
   */
  interface SrfExtras {
    /** Outbound-connection mode only: closes the socket in `socketHolder.socket`. */
    endSession(socketHolder: { socket?: Socket }): void;
    /** True when nothing is pending on the drachtio connection(s). */
    readonly idle: boolean;
    /** Sends an out-of-dialog request; the callback gets the request as sent (listen for 'response'). */
    request(uri: string, opts: RequestOptions, callback?: (err: DrachtioRequestError | null, req: SrfRequest) => void): void;
    request(socket: Socket, uri: string, opts: RequestOptions, callback?: (err: DrachtioRequestError | null, req: SrfRequest) => void): void;
    findDialogById(stackDialogId: string): Dialog | undefined;
    findDialogByCallIDAndFromTag(callId: string, tag: string): Dialog | undefined;
    /** Register a handler for a method; registering routes the verb to this app. */
    options(handler: (req: SrfRequest, res: SrfResponse) => void): void;
    register(handler: (req: SrfRequest, res: SrfResponse) => void): void;
    message(handler: (req: SrfRequest, res: SrfResponse) => void): void;
    info(handler: (req: SrfRequest, res: SrfResponse) => void): void;
    subscribe(handler: (req: SrfRequest, res: SrfResponse) => void): void;
  }
}
