/**
 * The conferences part of the SBC's private control API (docs/conferences.md § API). Signalling's REST routes
 * (`/v1/conferences…`) call these through runtime/signalling/conference-client.ts with the shared secret header
 * `x-cpaas-gateway-secret`. Every request names the tenant (`?tenantId=`); another tenant's conference is NOT_FOUND.
 *
 *   GET    /v1/conferences?tenantId=                                  → { items: Conference[] }
 *   GET    /v1/conferences/:name?tenantId=                            → Conference
 *   POST   /v1/conferences/:name/participants/:participantId?tenantId= { muted?, held? } → ConferenceParticipant
 *   DELETE /v1/conferences/:name/participants/:participantId?tenantId= → 204 (kick)
 *   DELETE /v1/conferences/:name?tenantId=                            → 204 (end)
 *   POST   /v1/conferences/:name/participants?tenantId=  ConferenceDialRequest → { callId, status } (needs `originate`)
 */
import { Value } from 'typebox/value';
import { AppError } from '../../../core/errors.js';
import type { Logger } from '../../../core/logging.js';
import { ConferenceDialRequest, ConferenceName, ConferenceParticipantUpdate, type ConferenceDialResult } from '../../../core/protocol/conference.js';
import type { ControlRequest, ControlServer } from '../../control/server.js';
import { secretMatches } from '../../gateway/gateway.js';
import { GATEWAY_SECRET_HEADER } from '../../gateway/notifier.js';
import type { ConferenceService, OriginateRequest } from '../contracts.js';
import type { ConferenceManager } from './manager.js';

export interface ConferenceRouteDeps {
  conferences: ConferenceService & Pick<ConferenceManager, 'get'>;
  /** The shared secret (the gateway's); without one the routes are open (tests, private networks only). */
  secret?: string;
  log: Logger;
  /** Originates a call (the voice engine); enables `POST …/participants` (call someone into a conference). */
  originate?: (r: OriginateRequest) => Promise<{ callId: string; status: string }>;
}

export function mountConferenceRoutes(control: ControlServer, d: ConferenceRouteDeps): void {
  const guard = (req: ControlRequest): { tenantId: string; name?: string } => {
    if (d.secret && !secretMatches(req.headers[GATEWAY_SECRET_HEADER], d.secret)) throw AppError.unauthenticated('bad or missing control secret');
    const tenantId = req.query.get('tenantId') ?? '';
    if (!tenantId || tenantId.length > 64) throw AppError.invalid('tenantId query parameter required', 'querystring/tenantId');
    const name = req.params.name;
    if (name !== undefined && !Value.Check(ConferenceName, name)) throw AppError.invalid('bad conference name', 'params/name');
    return { tenantId, ...(name !== undefined ? { name } : {}) };
  };

  control.addRoute('GET', '/v1/conferences', (req) => {
    const { tenantId } = guard(req);
    return { status: 200, body: { items: d.conferences.list(tenantId) } };
  });
  control.addRoute('GET', '/v1/conferences/:name', (req) => {
    const { tenantId, name } = guard(req);
    return { status: 200, body: d.conferences.get(tenantId, name!) };
  });
  control.addRoute('POST', '/v1/conferences/:name/participants/:participantId', (req) => {
    const { tenantId, name } = guard(req);
    if (!Value.Check(ConferenceParticipantUpdate, req.body)) throw AppError.invalid('body must be { muted?, held? } with at least one field');
    const view = d.conferences.update(tenantId, name!, req.params.participantId ?? '', req.body as ConferenceParticipantUpdate);
    return { status: 200, body: view };
  });
  control.addRoute('DELETE', '/v1/conferences/:name/participants/:participantId', (req) => {
    const { tenantId, name } = guard(req);
    d.conferences.kick(tenantId, name!, req.params.participantId ?? '');
    d.log.info({ tenantId, conference: name, participantId: req.params.participantId }, 'participant kicked');
    return { status: 204, body: '' };
  });
  control.addRoute('DELETE', '/v1/conferences/:name', (req) => {
    const { tenantId, name } = guard(req);
    d.conferences.end(tenantId, name!);
    d.log.info({ tenantId, conference: name }, 'conference ended by API');
    return { status: 204, body: '' };
  });
  control.addRoute('POST', '/v1/conferences/:name/participants', async (req) => {
    const { tenantId, name } = guard(req);
    if (!d.originate) throw new AppError('SERVICE_UNAVAILABLE', 'this SBC cannot originate calls (voice engine not configured)');
    if (!Value.Check(ConferenceDialRequest, req.body)) throw AppError.invalid('body must be a ConferenceDialRequest { to, from?, muted?, held?, endOnLeave?, ringTimeoutSeconds? }');
    const b = req.body as ConferenceDialRequest;
    const verb = { verb: 'conference' as const, name: name!, ...(b.muted !== undefined ? { muted: b.muted } : {}), ...(b.held !== undefined ? { held: b.held } : {}), ...(b.endOnLeave !== undefined ? { endOnLeave: b.endOnLeave } : {}) };
    const call = await d.originate({
      tenantId, to: b.to, from: b.from ?? 'conference', application: { document: [verb] },
      ...(b.ringTimeoutSeconds ? { ringTimeoutSeconds: b.ringTimeoutSeconds } : {}),
    });
    const out: ConferenceDialResult = { callId: call.callId, status: call.status };
    return { status: 201, body: out };
  });
}
