import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { healthRoutes } from './health.js';
import { roomRoutes } from './rooms.js';
import { tokenRoutes } from './tokens.js';

/** Every REST route module, registered in this order by buildHttp(). */
export const routes: Array<(app: Http, services: Services) => Promise<void>> = [healthRoutes, roomRoutes, tokenRoutes];
