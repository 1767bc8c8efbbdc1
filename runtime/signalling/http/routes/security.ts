/**
 * REST management of the SBC security functions (docs/security.md § REST):
 *  - tenant key: `GET/PUT /v1/security/lists`, `GET/PUT /v1/security/policy`, `POST/GET /v1/calls/{callId}/capture`;
 *  - admin key:  `GET/PUT /v1/admin/security/lists` (global lists), `GET/POST /v1/admin/security/bans`,
 *    `DELETE /v1/admin/security/bans/{source}`, `POST/GET /v1/admin/calls/{callId}/capture`.
 * Lists and policies are written to the table and read by every SBC through its `listCacheSeconds` cache (no
 * restart). Bans and captures go to the SBC's private control API (`sbcControlUrl`, shared secret header).
 */
import { Type } from 'typebox';
import { AppError } from '../../../core/errors.js';
import {
  BanList, BanRequest, CaptureDto, CaptureFile, CaptureRequest, SecurityListsBody, SecurityListsDto, SecurityPolicyBody, SecurityPolicyDto,
} from '../../../core/protocol/security.js';
import { EMPTY_POLICY, type SecurityPolicy } from '../../../core/storage/security.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { createSbcControl, type SbcMethod } from '../../sbc-control.js';
import { tenantOf } from '../auth.js';
import { errorResponses } from '../server.js';
import { NoContent } from './sip.js';

const adminOnly = [{ bearer: [] }];
const CallParams = Type.Object({ callId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }) });
const SourceParams = Type.Object({ source: Type.String({ minLength: 2, maxLength: 64, pattern: '^[0-9a-fA-F.:]+$' }) });

/** The SBC control API for bans and captures (runtime/signalling/sbc-control.ts); 503 when no SBC is configured. */
export function sbcControl(services: Services) {
  const url = services.config.sbcControlUrl;
  const secret = services.secrets.gatewaySecret ?? services.config.gateway?.secret.value;
  const sbc = url ? createSbcControl({ url, secret, timeoutMs: 10_000, log: services.log, what: 'the SBC control API', passthrough: [] }) : undefined;
  return async <T>(method: SbcMethod, path: string, body?: unknown): Promise<T> => {
    if (!sbc) throw new AppError('SERVICE_UNAVAILABLE', 'no SBC control API configured (sbcControlUrl)');
    return sbc.request<T>(method, path, body);
  };
}

const policyOut = (p: SecurityPolicy) => ({ ...EMPTY_POLICY, ...p });

export async function securityRoutes(app: Http, services: Services): Promise<void> {
  const sbc = sbcControl(services);

  // ---- tenant lists and policy
  app.get('/v1/security/lists', {
    schema: { tags: ['security'], summary: 'The tenant’s source and number lists', response: { 200: SecurityListsDto, ...errorResponses } },
  }, async (req) => services.security.tenantLists(tenantOf(req)));

  app.put('/v1/security/lists', {
    schema: {
      tags: ['security'], summary: 'Replace the tenant’s source and number lists',
      description: 'Applied by every SBC within `security.listCacheSeconds` (default 5 s), without restart. Tenant `blockCidrs` get 403; a non-empty `allowCidrs` admits only those sources.',
      body: SecurityListsBody, response: { 200: SecurityListsDto, ...errorResponses },
    },
  }, async (req) => services.security.putTenantLists(tenantOf(req), req.body as SecurityListsBody));

  app.get('/v1/security/policy', {
    schema: { tags: ['security'], summary: 'The tenant’s destination policy and call admission limits', response: { 200: SecurityPolicyDto, ...errorResponses } },
  }, async (req) => policyOut(await services.security.policy(tenantOf(req))));

  app.put('/v1/security/policy', {
    schema: {
      tags: ['security'], summary: 'Replace the tenant’s destination policy and call admission limits',
      description: 'Toll-fraud rules for device calls (allowed / blocked prefixes), CPS and concurrency limits (503 with a Reason), maximum call duration, anomaly alert thresholds (`security.alert` webhooks). Applied without restart.',
      body: SecurityPolicyBody, response: { 200: SecurityPolicyDto, ...errorResponses },
    },
  }, async (req) => policyOut(await services.security.putPolicy(tenantOf(req), { ...EMPTY_POLICY, ...(req.body as SecurityPolicyBody) })));

  // ---- admin: global lists and bans
  app.get('/v1/admin/security/lists', {
    config: { auth: 'admin' },
    schema: { security: adminOnly, tags: ['security'], summary: 'Global source and number lists (admin)', response: { 200: SecurityListsDto, ...errorResponses } },
  }, async () => services.security.globalLists());

  app.put('/v1/admin/security/lists', {
    config: { auth: 'admin' },
    schema: {
      security: adminOnly, tags: ['security'], summary: 'Replace the global lists (admin)',
      description: 'Merged with the SBC configuration’s lists: `allowCidrs` are exempt from the firewall, `blockCidrs` dropped, numbers refused with 403.',
      body: SecurityListsBody, response: { 200: SecurityListsDto, ...errorResponses },
    },
  }, async (req) => services.security.putGlobalLists(req.body as SecurityListsBody));

  app.get('/v1/admin/security/bans', {
    config: { auth: 'admin' },
    schema: { security: adminOnly, tags: ['security'], summary: 'Sources banned by the SBC right now (admin)', response: { 200: BanList, ...errorResponses } },
  }, async () => sbc('GET', '/v1/security/bans'));

  app.post('/v1/admin/security/bans', {
    config: { auth: 'admin' },
    schema: { security: adminOnly, tags: ['security'], summary: 'Ban a source by hand (admin)', body: BanRequest, response: { 200: BanList, ...errorResponses } },
  }, async (req) => sbc('POST', '/v1/security/bans', req.body));

  app.delete('/v1/admin/security/bans/:source', {
    config: { auth: 'admin' },
    schema: { security: adminOnly, tags: ['security'], summary: 'Lift a ban (admin); other SBC instances follow at their next poll', params: SourceParams, response: { 204: NoContent, ...errorResponses } },
  }, async (req, reply) => {
    const { source } = req.params as { source: string };
    await sbc('DELETE', `/v1/security/bans/${encodeURIComponent(source)}`).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'SERVICE_UNAVAILABLE' && /404/.test(err.message)) throw AppError.notFound('ban', source);
      throw err;
    });
    return reply.code(204).send(null);
  });

  // ---- per-call capture
  const capture = (scope: 'tenant' | 'admin') => {
    const prefix = scope === 'admin' ? '/v1/admin/calls' : '/v1/calls';
    const config = { auth: scope } as { auth: 'admin' | 'tenant' };
    const security = scope === 'admin' ? { security: adminOnly } : {};
    app.post(`${prefix}/:callId/capture`, {
      config,
      schema: {
        ...security, tags: ['security'], summary: `Start or stop capturing a live SIP call${scope === 'admin' ? ' (admin)' : ''}`,
        description: 'The SBC writes ONE pcap with the call’s SIP messages (as its application sees them, from the INVITE on) and both parties’ RTP (rtpengine fork). It is finished by `stop` or when the call ends; then GET returns it.',
        params: CallParams, body: CaptureRequest, response: { 200: CaptureDto, ...errorResponses },
      },
    }, async (req) => {
      const { callId } = req.params as { callId: string };
      const tenantId = scope === 'tenant' ? tenantOf(req) : undefined;
      return sbc('POST', `/v1/calls/${encodeURIComponent(callId)}/capture`, { ...(tenantId ? { tenantId } : {}), action: (req.body as { action: string }).action });
    });
    app.get(`${prefix}/:callId/capture`, {
      config,
      schema: { ...security, tags: ['security'], summary: `Download a finished capture${scope === 'admin' ? ' (admin)' : ''}`, params: CallParams, response: { 200: CaptureFile, ...errorResponses } },
    }, async (req) => {
      const { callId } = req.params as { callId: string };
      const tenantId = scope === 'tenant' ? tenantOf(req) : undefined;
      return sbc('GET', `/v1/captures/${encodeURIComponent(callId)}${tenantId ? `?tenantId=${encodeURIComponent(tenantId)}` : ''}`);
    });
  };
  capture('tenant');
  capture('admin');
}
