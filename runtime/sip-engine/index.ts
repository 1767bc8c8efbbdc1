/**
 * The project's own drachtio-protocol SIP engine: drachtio-srf apps connect to `adminPort` exactly as they
 * would to drachtio-server, and the engine speaks SIP over UDP/TCP to the network. Development and test
 * infrastructure; production runs drachtio-server. See docs/sip-engine.md.
 */
import { Engine, type EngineOptions, type EngineStats } from './engine.js';
import type { Endpoint } from './transport.js';

export type { EngineOptions as SipEngineOptions, EngineStats as SipEngineStats } from './engine.js';
export type { Endpoint as SipEndpoint, ListenSpec as SipListenSpec } from './transport.js';
export { ENGINE_VERSION } from './engine.js';

export interface SipEngine {
  /** The admin (drachtio protocol) port actually bound. */
  readonly adminPort: number;
  /** The SIP endpoints actually bound (port 0 in the options becomes the real port). */
  readonly sipEndpoints: readonly Endpoint[];
  /** Releases every socket and timer. */
  close(): Promise<void>;
  stats(): EngineStats;
}

export async function startSipEngine(options: EngineOptions): Promise<SipEngine> {
  const engine = new Engine(options);
  let adminPort: number;
  try {
    adminPort = await engine.start();
  } catch (err) {
    await engine.close();
    throw err;
  }
  options.log.info({ adminPort, sip: engine.transports.endpoints }, 'sip engine listening');
  return {
    adminPort,
    sipEndpoints: [...engine.transports.endpoints],
    close: () => engine.close(),
    stats: () => engine.stats(),
  };
}
