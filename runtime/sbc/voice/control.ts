/**
 * Programmable voice on the SBC's private control API (docs/api.md § Programmable voice; signalling's client is
 * runtime/signalling/voice-client.ts):
 *
 *   POST /v1/voice/calls               OriginateRequest              → 201 LiveCallView
 *   GET  /v1/voice/calls?tenantId=                                   → 200 { items: LiveCallView[] }
 *   GET  /v1/voice/calls/:id?tenantId=                               → 200 LiveCallView | 404 CALL_NOT_FOUND
 *   POST /v1/voice/calls/:id           { tenantId, change: CallModify } → 200 LiveCallView
 *
 * Bodies are validated with the TypeBox schemas of runtime/core/protocol/voice-api.ts. With a secret (the
 * gateway's shared secret) every request needs `x-cpaas-gateway-secret`. A call of another tenant is
 * CALL_NOT_FOUND, never a different error (no probing of other tenants' call ids).
 */
import { Value } from 'typebox/value';
import type { TSchema, Static } from 'typebox';
import type { Logger } from '../../core/logging.js';
import { AppError } from '../../core/errors.js';
import { VoiceModifyBody, VoiceOriginateBody } from '../../core/protocol/voice-api.js';
import type { ControlRequest, ControlServer } from '../control/server.js';
import { secretMatches } from '../gateway/gateway.js';
import { GATEWAY_SECRET_HEADER } from '../gateway/notifier.js';
import type { CallModify, OriginateRequest, VoiceEngine } from './contracts.js';

/** The first validation error as INVALID_PAYLOAD with its path (`body/to/number`). */
function parse<T extends TSchema>(schema: T, body: unknown): Static<T> {
  const value = Value.Default(schema, Value.Clone(body ?? {}));
  if (Value.Check(schema, value)) return value as Static<T>;
  const first = Value.Errors(schema, value).find((e) => e.keyword !== 'boolean');
  const path = `body${first?.instancePath ?? ''}`;
  throw AppError.invalid(`${path} ${first?.message ?? 'is invalid'}`, path);
}

const tenantParam = (req: ControlRequest): string => {
  const t = req.query.get('tenantId');
  if (!t) throw AppError.invalid('tenantId query parameter is required', 'querystring/tenantId');
  return t;
};

export function mountVoiceRoutes(control: ControlServer, o: { engine: VoiceEngine; secret?: string | undefined; log: Logger }): void {
  const { engine, log } = o;
  if (!o.secret) log.warn('voice control API without a shared secret: bind the control server to a private address');
  const guard = (req: ControlRequest) => {
    if (o.secret && !secretMatches(req.headers[GATEWAY_SECRET_HEADER], o.secret)) throw AppError.unauthenticated('bad or missing control secret');
  };
  const notFound = (callId: string) => new AppError('CALL_NOT_FOUND', `call ${callId} not found`);

  control.addRoute('POST', '/v1/voice/calls', async (req) => {
    guard(req);
    const b = parse(VoiceOriginateBody, req.body);
    if ((b.application.url === undefined) === (b.application.document === undefined)) throw AppError.invalid('application needs exactly one of url or document', 'body/application');
    const call = await engine.originate(b as OriginateRequest);
    log.info({ tenantId: b.tenantId, callId: call.callId, to: b.to.type }, 'programmable call originated');
    return { status: 201, body: call };
  });

  control.addRoute('GET', '/v1/voice/calls', (req) => {
    guard(req);
    return { status: 200, body: { items: engine.list(tenantParam(req)) } };
  });

  control.addRoute('GET', '/v1/voice/calls/:callId', (req) => {
    guard(req);
    const callId = req.params.callId ?? '';
    const call = engine.get(tenantParam(req), callId);
    if (!call) throw notFound(callId);
    return { status: 200, body: call };
  });

  control.addRoute('POST', '/v1/voice/calls/:callId', async (req) => {
    guard(req);
    const b = parse(VoiceModifyBody, req.body);
    const callId = req.params.callId ?? '';
    // Tenant scoping before the engine acts: another tenant's call does not exist for this caller.
    if (!engine.get(b.tenantId, callId)) throw notFound(callId);
    const change = b.change as CallModify;
    if (change.action === 'redirect' && (change.application.url === undefined) === (change.application.document === undefined)) {
      throw AppError.invalid('application needs exactly one of url or document', 'body/change/application');
    }
    const call = await engine.modify(b.tenantId, callId, change);
    log.info({ tenantId: b.tenantId, callId, action: change.action }, 'programmable call modified');
    return { status: 200, body: call };
  });
}
