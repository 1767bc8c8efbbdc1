import { Type } from 'typebox';
import { CallModifyRequest, LiveCallDto, OriginateCallRequest } from '../../../core/protocol/voice-api.js';
import type { ApplicationSpec, DialTargetSpec } from '../../../core/protocol/voice.js';
import { AppError } from '../../../core/errors.js';
import type { CallModify, OriginateRequest } from '../../../sbc/voice/contracts.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import type { VoiceControl } from '../../voice-client.js';
import { tenantOf } from '../auth.js';
import { idempotent } from '../idempotency.js';
import { errorResponses } from '../server.js';
import { checkSpec } from './applications.js';
import { addVoiceSchemas, refify, voiceValidator } from '../voice-schemas.js';

const CallParams = Type.Object({ callId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.@+-]+$' }) });

/**
 * A dial target from its string form: `+14155550100` / `14155550100` (phone), `sip:…`/`sips:…` (SIP URI),
 * `user:<name>` (SIP user of the tenant), `identity:<id>` (WebRTC identity).
 */
export function parseDialTarget(s: string, field = 'body/to'): DialTargetSpec {
  const t = s.trim();
  if (/^\+?[0-9]{2,15}$/.test(t)) return { type: 'phone', number: t };
  if (/^sips?:[^\s]+$/.test(t)) return { type: 'sip', uri: t };
  const m = /^(user|identity):(.+)$/.exec(t);
  if (m?.[1] === 'user' && m[2]!.length <= 64) return { type: 'user', name: m[2]! };
  if (m?.[1] === 'identity' && m[2]!.length <= 128) return { type: 'identity', identity: m[2]! };
  throw AppError.invalid(`${field} must be a phone number (+14155550100), a SIP URI (sip:bob@example.com), user:<name> or identity:<id>`, field);
}

export function voiceOf(services: Services): VoiceControl {
  if (!services.voice) throw new AppError('SERVICE_UNAVAILABLE', 'programmable voice needs the SBC (sbcControlUrl and the gateway secret are not configured)', { retryable: false });
  return services.voice;
}

/** Programmable voice calls (docs/api.md § Programmable voice). GET /v1/calls[/{id}] are in calls.ts. */
export async function voiceCallRoutes(app: Http, services: Services): Promise<void> {
  addVoiceSchemas(app);
  app.post(
    '/v1/calls',
    {
      validatorCompiler: voiceValidator(OriginateCallRequest, [{ at: 'body/application/document', get: (b) => (b.application as { document?: unknown } | undefined)?.document }]),
      schema: {
        tags: ['voice'],
        summary: 'Originate a programmable call',
        description:
          'Calls `to`; when it answers, the application (inline `application` or a stored `applicationId`) runs on the call. `from` must be one of the tenant\'s numbers when it is an E.164 number; otherwise it is shown as a SIP user / identity name. Status callbacks (`statusCallback`, or the application\'s) receive `initiated`, `ringing`, `answered`, `completed` in order. Supports `Idempotency-Key`.',
        body: refify(OriginateCallRequest),
        response: { 201: LiveCallDto, ...errorResponses, 422: { $ref: 'ErrorBody#' }, 503: { $ref: 'ErrorBody#' } },
      },
    },
    async (req, reply) => {
      const tenantId = tenantOf(req);
      const b = req.body;
      const to = typeof b.to === 'string' ? parseDialTarget(b.to) : b.to;
      if (b.application && b.applicationId) throw AppError.invalid('body takes application or applicationId, not both', 'body/applicationId');
      if (!b.application && !b.applicationId) throw AppError.invalid('body needs application or applicationId', 'body/application');
      if (b.application) checkSpec(b.application, 'body/application');
      const voice = voiceOf(services);
      return idempotent(services, req, reply, 201, async () => {
        let application: ApplicationSpec;
        let statusCallback = b.statusCallback;
        if (b.applicationId) {
          const stored = await services.applications.get(tenantId, b.applicationId);
          if (!stored) throw AppError.invalid(`application ${b.applicationId} not found`, 'body/applicationId');
          application = { ...(stored.url ? { url: stored.url } : {}), ...(stored.fallbackUrl ? { fallbackUrl: stored.fallbackUrl } : {}), ...(stored.document ? { document: stored.document } : {}) };
          statusCallback ??= stored.statusCallback;
        } else application = b.application!;
        if (/^\+[0-9]+$/.test(b.from) && !(await services.sip.getNumber(tenantId, b.from))) throw AppError.invalid(`${b.from} is not a number of this tenant`, 'body/from');
        const r: OriginateRequest = {
          tenantId, to, from: b.from, application,
          ...(statusCallback ? { statusCallback } : {}),
          ...(b.ringTimeoutSeconds !== undefined ? { ringTimeoutSeconds: b.ringTimeoutSeconds } : {}),
          ...(b.timeLimitSeconds !== undefined ? { timeLimitSeconds: b.timeLimitSeconds } : {}),
          ...(b.tag ? { tag: b.tag } : {}),
        };
        const call = await voice.originate(r);
        req.log.info({ tenantId, callId: call.callId, to: to.type }, 'programmable call originated');
        return call;
      });
    },
  );

  app.post(
    '/v1/calls/:callId',
    {
      validatorCompiler: voiceValidator(CallModifyRequest, [{ at: 'body/application/document', get: (b) => (b.action === 'redirect' ? (b.application as { document?: unknown } | undefined)?.document : undefined) }]),
      schema: {
        tags: ['voice'],
        summary: 'Modify a live programmable call',
        description: 'Hang up, redirect to a new application, mute/unmute, hold/unhold, start/stop/pause/resume recording, send DTMF, or transfer. 404 CALL_NOT_FOUND when the call is not live (or belongs to another tenant).',
        params: CallParams,
        body: refify(CallModifyRequest),
        response: { 200: LiveCallDto, ...errorResponses, 409: { $ref: 'ErrorBody#' }, 503: { $ref: 'ErrorBody#' } },
      },
    },
    async (req) => {
      const change = req.body as CallModify;
      if (change.action === 'redirect') checkSpec(change.application, 'body/application');
      const out = await voiceOf(services).modify(tenantOf(req), req.params.callId, change);
      req.log.info({ callId: req.params.callId, action: change.action }, 'programmable call modified');
      return out;
    },
  );
}
