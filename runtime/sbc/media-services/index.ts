/**
 * The SBC side of the media services (docs/recordings.md): one call from app.ts mounts the recording endpoint
 * (start/stop/pause/resume + consent announcement) and play/stop/DTMF on the control server, and configures where
 * play sources come from (media library in S3, local caches readable by rtpengine).
 */
import type { Logger } from '../../core/logging.js';
import type { PlaySource } from '../../core/protocol/voice.js';
import type { ControlServer } from '../control/server.js';
import { mountRecordingRoutes, policyConsent, recordingController, type RecordableCall, type RecordingController, type RecordingPolicy } from '../recording/recording.js';
import { consentAnnouncer, mountMediaServiceRoutes, type CallPlayer } from './routes.js';
import { configurePlaySources, type PlaySourceDeps } from './sources.js';
import { PlaySourceResolver } from './remote.js';
import type { MediaNode } from '../../core/storage/sip-types.js';

export { applyCallMediaPolicy } from './policy.js';
export { resolvePlaySource, configurePlaySources } from './sources.js';
export { PlaySourceResolver } from './remote.js';

export interface MediaServicesOptions extends PlaySourceDeps {
  /** What the consent announcement plays (default: two 1400 Hz beeps). */
  consentSource?: PlaySource;
  /**
   * Where sources become files for rtpengine (docs/recordings.md § Playback on AWS): 'local' (default; a node whose
   * heartbeat advertises a play-source endpoint is still asked) or 'media-node' (always the node's media agent).
   */
  resolveOn?: 'local' | 'media-node';
  /** Timeout of a media agent's play-source request (default 15 s). */
  agentTimeoutMs?: number;
}

export function mountCallMediaServices(control: ControlServer, o: {
  find(callId: string): RecordableCall | undefined;
  secret?: string;
  log: Logger;
  policy: RecordingPolicy;
  options?: MediaServicesOptions;
  /** The media-node registry: agents' play-source URLs (absent: always local). */
  mediaNodes?: () => Promise<Array<Pick<MediaNode, 'id' | 'playSourcesUrl'>>>;
}): {
  player: CallPlayer;
  record: RecordingController;
  /** Call when a call is answered: plays the consent announcement of a policy recording (recording.ts `policyConsent`). */
  consentOnAnswer: (call: RecordableCall, callId: string) => void;
} {
  if (o.options) {
    const { consentSource: _c, resolveOn: _r, agentTimeoutMs: _t, ...deps } = o.options;
    configurePlaySources(deps);
  }
  const log = o.log.child({ component: 'media-services' });
  const resolver = new PlaySourceResolver({
    log, ...(o.mediaNodes ? { nodes: o.mediaNodes } : {}), ...(o.secret ? { secret: o.secret } : {}),
    ...(o.options?.resolveOn ? { resolveOn: o.options.resolveOn } : {}), ...(o.options?.agentTimeoutMs ? { timeoutMs: o.options.agentTimeoutMs } : {}),
  });
  const player = mountMediaServiceRoutes(control, { find: o.find, ...(o.secret ? { secret: o.secret } : {}), log, resolver });
  const announce = consentAnnouncer(player, o.options?.consentSource);
  const record = recordingController({ log: o.log.child({ component: 'recording' }), policy: o.policy, announce });
  mountRecordingRoutes(control, { find: o.find, ...(o.secret ? { secret: o.secret } : {}), log: o.log.child({ component: 'recording' }), controller: record });
  const consentOnAnswer = policyConsent({ log: o.log.child({ component: 'recording' }), policy: o.policy, announce });
  return { player, record, consentOnAnswer };
}
