import { TokenRequest, TokenResponse } from '../../../core/protocol/http.js';
import { isoTime } from '../../../core/clock.js';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';
import { tenantOf } from '../auth.js';
import { errorResponses } from '../server.js';

export async function tokenRoutes(app: Http, services: Services): Promise<void> {
  app.post(
    '/v1/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Mint a client access token',
        description:
          'Short-lived JWT for the browser SDK: the identity, its grants (rooms it may join, publish, 1:1 calls, dial-out, presence) and a bounded TTL. Give it to your client; never give it your API key.',
        body: TokenRequest,
        response: { 201: TokenResponse, ...errorResponses },
      },
    },
    async (req, reply) => {
      const tenantId = tenantOf(req);
      const out = await services.tokens.mint({
        tenantId,
        identity: req.body.identity,
        ...(req.body.displayName ? { displayName: req.body.displayName } : {}),
        ...(req.body.grants ? { grants: req.body.grants } : {}),
        ...(req.body.ttlSeconds ? { ttlSeconds: req.body.ttlSeconds } : {}),
      });
      services.metrics.counter('tokens_minted_total', 'Access tokens minted').inc();
      return reply.code(201).send({ token: out.token, identity: req.body.identity, expiresAt: isoTime(out.expiresAt), grants: out.grants });
    },
  );
}
