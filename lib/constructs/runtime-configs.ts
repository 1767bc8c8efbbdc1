/**
 * The slices of the SBC and media-agent instance configs that the CDK app fills in. The processes validate the
 * whole file against their schemas (`runtime/sbc/config.ts`, `runtime/media-agent/config.ts`, with defaults for
 * everything else); `test/lib/runtime-configs.test.ts` renders these objects and checks them against those
 * schemas, so a drift fails the tests rather than an instance's boot.
 */
export interface SbcConfig {
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  aws: { region: string };
  tableName: string;
  recordingsBucket: string;
  drachtio: { host: string; port: number; secret: { arn: string } };
  /**
   * rtpengine ng port on media nodes (found through the media-node registry in the table), and the names of the
   * interfaces the media node's start script declares (assets/bootstrap/media/rtpengine-start.sh).
   */
  rtpengine: { ngPort: number; interfaces: { external: string; internal: string } };
  /** advertiseUrl (sbc-cluster): `auto` = http://<private IPv4>:<port>, the owner URL other SBCs forward to. */
  control: { host: string; port: number; advertiseUrl?: string };
  sip: { port: number; tlsPort: number; wssPort: number; publicIps: string[] };
  /** WebRTC ⇄ SIP gateway: events to signalling through its internal load balancer. */
  gateway?: { secret: { arn: string }; signallingUrl: string; ringTimeoutSeconds: number; transcode: 'prefer-opus' | 'passthrough'; allowExternalSipUris: boolean };
  /** Programmable voice: RTP endpoints on the SBC's private address (`auto`), reached by rtpengine on the media tier. */
  voice: { rtpHost: string; rtpMinPort: number; rtpMaxPort: number; hookTimeoutMs: number; allowPrivateHookUrls: boolean };
  /** Voicemail and `record` storage in the recordings bucket (`voicemail/`, `recordings/`); SES mail when a sender exists. */
  voiceStorage: {
    recordDir: string;
    uploadRecordings: boolean;
    voicemail: boolean;
    greetingCacheDir: string;
    mail?: { from: string; configurationSet?: string };
  };
  /** Play sources: media library cache (`media/`) and tone/URL files. */
  mediaServices: { cacheDir: string; tmpDir: string; maxUrlBytes: number; allowPrivateUrls: boolean; resolveOn?: 'local' | 'media-node' };
}

export interface MediaAgentConfig {
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  aws: { region: string };
  tableName: string;
  recordingsBucket: string;
  rtpengine: { ngHost?: string; ngPort: number; httpUrl: string; spoolDir: string };
  heartbeatSeconds: number;
  /** Play sources resolved on the media node for the SBCs' playMedia (docs/recordings.md § Playback on AWS). */
  playSources?: { port: number; secret: { arn: string }; cacheDir: string; tmpDir: string; maxUrlBytes: number; allowPrivateUrls: boolean };
  /** Recording pipeline: rtpengine's pcap dir → WAV → S3 → metadata → signed webhook (docs/recordings.md). */
  recordings?: { dir: string; spoolDir: string; bucket: string };
}
