/**
 * Instance config shapes of the SBC and media-agent processes. Local stand-ins until `runtime/sbc/config.ts`
 * (`SbcConfig`) and `runtime/media-agent/config.ts` (`MediaAgentConfig`) exist: then replace these two
 * interfaces with `import type { SbcConfig } from '../../runtime/sbc/config.js'` (and the same for the agent),
 * and the compiler points at every field to fix in the constructs.
 */
export interface SbcConfig {
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  aws: { region: string };
  tableName: string;
  recordingsBucket: string;
  drachtio: { host: string; port: number; secret: { arn: string } };
  /** rtpengine ng port on media nodes; nodes are found through the media-node registry in the table. */
  rtpengine: { ngPort: number };
  control: { host: string; port: number };
  sip: { port: number; tlsPort: number; wssPort: number; publicIps: string[] };
}

export interface MediaAgentConfig {
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  aws: { region: string };
  tableName: string;
  recordingsBucket: string;
  rtpengine: { ngPort: number; httpUrl: string; spoolDir: string };
  heartbeatSeconds: number;
}
