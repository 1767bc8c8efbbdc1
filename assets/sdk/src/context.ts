import type { CpaasError } from './errors.js';
import type { LogFn } from './log.js';
import type { RequestName, RequestPayload, ResponseData } from './protocol.js';

/** What rooms and calls get from the client (keeps them testable and free of socket details). */
export interface ClientContext {
  request<K extends RequestName>(event: K, payload: RequestPayload<K>): Promise<ResponseData<K>>;
  /** Fire-and-forget notification (no ack). */
  notify<K extends RequestName>(event: K, payload: RequestPayload<K>): void;
  rtcConfig(): RTCConfiguration;
  refreshIceServers(): Promise<void>;
  log: LogFn;
  qualityIntervalMs: number;
  reportError(err: CpaasError): void;
}
