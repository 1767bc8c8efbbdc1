/**
 * The SBC side of the media services (docs/recordings.md): one call from app.ts mounts the recording endpoint
 * (start/stop/pause/resume + consent announcement) and play/stop/DTMF on the control server, and configures where
 * play sources come from (media library in S3, local caches readable by rtpengine).
 */
import type { Logger } from '../../core/logging.js';
import type { PlaySource } from '../../core/protocol/voice.js';
import type { ControlServer } from '../control/server.js';
import { mountRecordingRoutes, recordingController, type RecordableCall, type RecordingController, type RecordingPolicy } from '../recording/recording.js';
import { consentAnnouncer, mountMediaServiceRoutes, type CallPlayer } from './routes.js';
import { configurePlaySources, type PlaySourceDeps } from './sources.js';

export { applyCallMediaPolicy } from './policy.js';
export { resolvePlaySource, configurePlaySources } from './sources.js';

export interface MediaServicesOptions extends PlaySourceDeps {
  /** What the consent announcement plays (default: two 1400 Hz beeps). */
  consentSource?: PlaySource;
}

export function mountCallMediaServices(control: ControlServer, o: {
  find(callId: string): RecordableCall | undefined;
  secret?: string;
  log: Logger;
  policy: RecordingPolicy;
  options?: MediaServicesOptions;
}): { player: CallPlayer; record: RecordingController } {
  if (o.options) configurePlaySources(o.options);
  const player = mountMediaServiceRoutes(control, { find: o.find, ...(o.secret ? { secret: o.secret } : {}), log: o.log.child({ component: 'media-services' }) });
  const record = recordingController({ log: o.log.child({ component: 'recording' }), policy: o.policy, announce: consentAnnouncer(player, o.options?.consentSource) });
  mountRecordingRoutes(control, { find: o.find, ...(o.secret ? { secret: o.secret } : {}), log: o.log.child({ component: 'recording' }), controller: record });
  return { player, record };
}
