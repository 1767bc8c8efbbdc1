import { Type } from 'typebox';
import { Page } from '../../../core/protocol/http.js';
import { CallQuery, CallRecordDto } from '../../../core/protocol/sip.js';
import { AppError } from '../../../core/errors.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { tenantOf } from '../auth.js';
import { errorResponses } from '../server.js';

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
        querystring: CallQuery,
        response: { 200: Page(CallRecordDto, 'call records'), ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query;
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
    { schema: { tags: ['calls'], summary: 'Get a call record', params: CallParams, response: { 200: CallRecordDto, ...errorResponses } } },
    async (req) => {
      const call = await services.calls.get(tenantOf(req), req.params.callId);
      if (!call) throw new AppError('CALL_NOT_FOUND', `call ${req.params.callId} not found`);
      return call;
    },
  );
}
