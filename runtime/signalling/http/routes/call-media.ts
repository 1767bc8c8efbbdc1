import { AppError } from '../../../core/errors.js';
import type { Logger } from '../../../core/logging.js';
import {
  CallIdParams, DtmfRequest, DtmfResult, PlayRequest, PlayResult, RecordingControlRequest, RecordingControlResult, StopPlayResult,
} from '../../../core/protocol/media.js';
import { createSbcControl } from '../../sbc-control.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { tenantOf } from '../auth.js';
import { errorResponses } from '../server.js';

/**
 * Tenant REST for live SIP/gateway calls (docs/recordings.md § Recording control, § Playback): forwarded to the SBC's
 * private control API (`sbcControlUrl`, gateway shared secret), which checks the call belongs to the tenant.
 * Without an SBC the routes answer 503 SERVICE_UNAVAILABLE.
 */
export interface SbcMediaClient {
  post<T>(path: string, body: unknown): Promise<T>;
  del<T>(path: string): Promise<T>;
}

export function createSbcMediaClient(o: { url: string; secret: string; timeoutMs: number; log?: Logger }): SbcMediaClient {
  const sbc = createSbcControl({ ...o, passthrough: ['retryable'] });
  return { post: (p, b) => sbc.request('POST', p, b), del: (p) => sbc.request('DELETE', p) };
}

const clients = new WeakMap<Services, SbcMediaClient | null>();
/** The SBC client of these services (built once from `sbcControlUrl` + the gateway secret), or undefined. */
export function sbcMediaClient(services: Services): SbcMediaClient | undefined {
  if (!clients.has(services)) {
    const secret = services.secrets.gatewaySecret ?? services.config.gateway?.secret.value;
    const url = services.config.sbcControlUrl;
    clients.set(services, url && secret ? createSbcMediaClient({ url, secret, timeoutMs: Math.max(services.config.gateway?.requestTimeoutMs ?? 5000, 10_000), log: services.log }) : null);
  }
  return clients.get(services) ?? undefined;
}

export async function callMediaRoutes(app: Http, services: Services): Promise<void> {
  const callErrors = { ...errorResponses, 409: { $ref: 'ErrorBody#' }, 503: { $ref: 'ErrorBody#' } } as const; // (errorResponses: not at import time, server.ts imports us)
  const sbc = () => {
    const c = sbcMediaClient(services);
    if (!c) throw new AppError('SERVICE_UNAVAILABLE', 'no SBC is configured (sbcControlUrl)', { retryable: false });
    return c;
  };
  const path = (callId: string, what: string) => `/v1/calls/${encodeURIComponent(callId)}/${what}`;

  app.post(
    '/v1/calls/:callId/recording',
    {
      schema: {
        tags: ['calls'],
        summary: 'Start, stop, pause or resume recording of a live call',
        description:
          'SIP and browser ⇄ SIP gateway calls anchored in rtpengine. `pause` keeps the timeline: the paused stretch is silence in the file. ' +
          'After `stop` the call cannot be recorded again (rtpengine finalizes the file); use pause/resume. The file arrives later through `GET /v1/recordings?callId=` and the `recording.completed` webhook.',
        params: CallIdParams,
        body: RecordingControlRequest,
        response: { 200: RecordingControlResult, ...callErrors },
      },
    },
    async (req) => sbc().post(path(req.params.callId, 'recording'), { tenantId: tenantOf(req), ...req.body }),
  );

  app.post(
    '/v1/calls/:callId/play',
    {
      schema: {
        tags: ['calls'],
        summary: 'Play a file, a media library file or a tone into a live call',
        description: 'Replaces what is playing. `url` must be a WAV reachable from the SBC (size-limited); `media` names a file of `GET /v1/media`.',
        params: CallIdParams,
        body: PlayRequest,
        response: { 200: PlayResult, ...callErrors },
      },
    },
    async (req) => sbc().post(path(req.params.callId, 'play'), { tenantId: tenantOf(req), ...req.body }),
  );

  app.delete(
    '/v1/calls/:callId/play',
    {
      schema: { tags: ['calls'], summary: 'Stop what plays into a call', params: CallIdParams, response: { 200: StopPlayResult, ...callErrors } },
    },
    async (req) => sbc().del(`${path(req.params.callId, 'play')}?tenantId=${encodeURIComponent(tenantOf(req))}`),
  );

  app.post(
    '/v1/calls/:callId/dtmf',
    {
      schema: {
        tags: ['calls'],
        summary: 'Send DTMF (RFC 4733 telephone-events) into a live call',
        description: 'Needs media flowing on the call. Digits go out one after the other.',
        params: CallIdParams,
        body: DtmfRequest,
        response: { 200: DtmfResult, ...callErrors },
      },
    },
    async (req) => sbc().post(path(req.params.callId, 'dtmf'), { tenantId: tenantOf(req), ...req.body }),
  );
}
