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
// --- media-services (docs/recordings.md) ---
import { callMediaRoutes } from './call-media.js';
import { mediaLibraryRoutes } from './media-library.js';
// --- end media-services ---
import { conferenceRoutes } from './conferences.js'; // conferences (docs/conferences.md)

// --- voice-api (docs/api.md § Programmable voice) ---
import { applicationRoutes } from './applications.js';
import { voiceCallRoutes } from './voice-calls.js';
// --- end voice-api ---

/** Every REST route module, registered in this order by buildHttp(). */
export const routes: Array<(app: Http, services: Services) => Promise<void>> = [healthRoutes, tenantRoutes, roomRoutes, inviteRoutes, tokenRoutes, sipRoutes, trunkRoutes, numberRoutes, callRoutes, internalGatewayRoutes, recordingRoutes, /* conferences */ conferenceRoutes, /* media-services */ callMediaRoutes, mediaLibraryRoutes, /* voice-api */ applicationRoutes, voiceCallRoutes];
