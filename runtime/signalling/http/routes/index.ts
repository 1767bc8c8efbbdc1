import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { healthRoutes } from './health.js';
import { tenantRoutes } from './tenants.js';
import { roomRoutes } from './rooms.js';
import { inviteRoutes } from './invites.js';
import { tokenRoutes } from './tokens.js';
import { sipRoutes } from './sip.js';
import { trunkRoutes } from './trunks.js';
import { numberRoutes } from './numbers.js';
import { callRoutes } from './calls.js';
import { internalGatewayRoutes } from './internal-gateway.js'; // gateway (docs/gateway.md)
import { recordingRoutes } from './recordings.js'; // recordings (docs/recordings.md)
import { conferenceRoutes } from './conferences.js'; // conferences (docs/conferences.md)
import { voicemailRoutes } from './voicemail.js'; // voicemail (docs/voicemail.md)
import { internalVoicemailRoutes } from './internal-voicemail.js'; // voicemail
// --- media-services (docs/recordings.md) ---
import { callMediaRoutes } from './call-media.js';
import { mediaLibraryRoutes } from './media-library.js';
// --- end media-services ---
// --- security (docs/security.md) ---
import { securityRoutes } from './security.js';
import { adminLiRoutes } from './admin-li.js';
// --- end security ---

// --- voice-api (docs/api.md § Programmable voice) ---
import { applicationRoutes } from './applications.js';
import { voiceCallRoutes } from './voice-calls.js';
// --- end voice-api ---

/** Every REST route module, registered in this order by buildHttp(). */
export const routes: Array<(app: Http, services: Services) => Promise<void>> = [healthRoutes, tenantRoutes, roomRoutes, inviteRoutes, tokenRoutes, sipRoutes, trunkRoutes, numberRoutes, callRoutes, internalGatewayRoutes, recordingRoutes, /* conferences */ conferenceRoutes, /* voicemail */ voicemailRoutes, internalVoicemailRoutes, /* media-services */ callMediaRoutes, mediaLibraryRoutes, /* security */ securityRoutes, adminLiRoutes, /* voice-api */ applicationRoutes, voiceCallRoutes];
