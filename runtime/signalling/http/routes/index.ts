import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { healthRoutes } from './health.js';
import { tenantRoutes } from './tenants.js';
import { roomRoutes } from './rooms.js';
import { inviteRoutes } from './invites.js';
import { tokenRoutes } from './tokens.js';

/** Every REST route module, registered in this order by buildHttp(). */
export const routes: Array<(app: Http, services: Services) => Promise<void>> = [healthRoutes, tenantRoutes, roomRoutes, inviteRoutes, tokenRoutes];
