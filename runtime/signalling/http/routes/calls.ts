import { Type } from 'typebox';
import { Page } from '../../../core/protocol/http.js';
import { CallQuery, CallRecordDto } from '../../../core/protocol/sip.js';
import { AppError } from '../../../core/errors.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { tenantOf } from '../auth.js';
import { errorResponses } from '../server.js';
// --- voice-api: live programmable calls (docs/api.md § Programmable voice) ---
import { LiveCallDto } from '../../../core/protocol/voice-api.js';
import type { LiveCallView } from '../../../sbc/voice/contracts.js';
import { voiceOf } from './voice-calls.js';

const LiveCallList = Type.Object({ items: Type.Array(LiveCallDto) }, { description: 'Live programmable calls (`live=true`; not paginated)' });
const CallListQuery = Type.Object({ ...CallQuery.properties, live: Type.Optional(Type.Boolean({ description: 'List the programmable calls live on the SBC now (other filters are ignored)' })) });
const CallDetail = Type.Object(
  { ...CallRecordDto.properties, live: Type.Optional(LiveCallDto) },
  { $id: 'CallDetail', description: 'A call record; `live` is the SBC\'s view while a programmable call is in progress' },
);
/** A live call whose record is not written yet: the record's shape from the live view. */
const recordOfLive = (v: LiveCallView) => ({
  id: v.callId, kind: 'sip' as const, state: v.status === 'answered' ? ('active' as const) : ('ringing' as const),
  from: { identity: v.from }, to: { identity: v.to }, media: { audio: true, video: false }, createdAt: v.startedAt,
  ...(v.answeredAt ? { answeredAt: v.answeredAt } : {}), held: v.held,
});
// --- end voice-api ---

const CallParams = Type.Object({ callId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.@+-]+$' }) });

/** Call records: 1:1 WebRTC calls and SIP/gateway calls share one listing. */
export async function callRoutes(app: Http, services: Services): Promise<void> {
  app.get(
    '/v1/calls',
    {
      schema: {
        tags: ['calls'],
        summary: 'List call records, newest first',
        description: '1:1 WebRTC calls and SIP/gateway calls. Filters combine; a filtered page can be shorter than `limit` while `nextCursor` is present.',
        querystring: CallListQuery, // voice-api: + live
        response: { 200: Type.Union([Page(CallRecordDto, 'call records'), LiveCallList]), ...errorResponses }, // voice-api: live=true → LiveCallList
      },
    },
    async (req) => {
      const q = req.query;
      if (q.live) return { items: await voiceOf(services).list(tenantOf(req)) }; // voice-api
      if (q.from && q.to && q.from >= q.to) throw AppError.invalid('from must be before to', 'querystring/to');
      const filter = {
        ...(q.kind ? { kind: q.kind } : {}),
        ...(q.direction ? { direction: q.direction } : {}),
        ...(q.state ? { state: q.state } : {}),
        ...(q.from ? { from: new Date(q.from).toISOString() } : {}),
        ...(q.to ? { to: new Date(q.to).toISOString() } : {}),
        ...(q.trunkId ? { trunkId: q.trunkId } : {}),
      };
      return services.sip.listCalls(tenantOf(req), filter, q.limit, q.cursor);
    },
  );

  app.get(
    '/v1/calls/:callId',
    {
      schema: {
        tags: ['calls'],
        summary: 'Get a call record',
        description: 'While a programmable call is live, `live` carries its current state (status, verb, mute/hold/recording) from the SBC.',
        params: CallParams,
        response: { 200: CallDetail, ...errorResponses },
      },
    },
    async (req) => {
      const tenantId = tenantOf(req);
      const call = await services.calls.get(tenantId, req.params.callId);
      // --- voice-api: merge the live view while a SIP call is in progress (ended and 1:1 WebRTC records need no SBC round trip) ---
      if (services.voice && call?.state !== 'ended' && call?.kind !== 'webrtc') {
        const live = await services.voice.get(tenantId, req.params.callId).catch((err: unknown) => {
          req.log.warn({ err, callId: req.params.callId }, 'live call state unavailable');
          return undefined;
        });
        if (live) return { ...(call ?? recordOfLive(live)), live };
      }
      // --- end voice-api ---
      if (!call) throw new AppError('CALL_NOT_FOUND', `call ${req.params.callId} not found`);
      return call;
    },
  );
}
