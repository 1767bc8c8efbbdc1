/**
 * `POST /internal/voicemail/events`: the voicemail sink (in the SBC process, which has no socket.io) reports a new
 * message here and signalling emits `voicemail:new` to every socket of the owner identity (`identityChannel`), on
 * whichever instance holds them (Redis adapter). Same protection as /internal/gateway/events: registered only when
 * the gateway secret is configured, hidden from the OpenAPI document, `x-cpaas-gateway-secret` compared in
 * constant time. Put it behind the private listener/ALB rule on AWS.
 */
import { Type, type Static } from 'typebox';
import { AppError } from '../../../core/errors.js';
import { safeEqual } from '../../../core/auth/api-keys.js';
import { VOICEMAIL_EVENTS_PATH, VOICEMAIL_SECRET_HEADER, type VoicemailEvent } from '../../../core/voicemail/notifier.js';
import { VoicemailMessage } from '../../../core/protocol/voicemail.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';

const EventBody = Type.Object({
  type: Type.Literal('new'),
  tenantId: Type.String({ minLength: 1, maxLength: 64 }),
  owner: Type.String({ minLength: 1, maxLength: 128 }),
  message: Type.Unsafe<Static<typeof VoicemailMessage>>({ type: 'object', required: ['id', 'tenantId', 'mailbox'], properties: { id: { type: 'string' }, tenantId: { type: 'string' } } }),
});

export async function internalVoicemailRoutes(app: Http, services: Services): Promise<void> {
  const secret = services.secrets.gatewaySecret ?? services.config.gateway?.secret.value;
  if (!secret) return;
  app.post(VOICEMAIL_EVENTS_PATH, { config: { auth: 'public' }, schema: { hide: true, body: EventBody } as Record<string, unknown> }, async (req) => {
    if (!safeEqual(String(req.headers[VOICEMAIL_SECRET_HEADER] ?? ''), secret)) throw AppError.unauthenticated('bad or missing gateway secret');
    const e = req.body as VoicemailEvent;
    if (e.message.tenantId !== e.tenantId) throw AppError.invalid('message of another tenant', '/message/tenantId');
    const sink = services.voicemailEvents;
    if (!sink) throw new AppError('SERVICE_UNAVAILABLE', 'socket layer not ready');
    return { delivered: await sink(e) };
  });
}
