import type { CpaasError } from './errors.js';
import type { LogFn } from './log.js';
import type { RestAccess } from './recording.js';
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
  /** media-services: REST base URL + the connection's access token (client-side room recording uploads). */
  rest?: RestAccess;
}
