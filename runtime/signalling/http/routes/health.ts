import { Type } from 'typebox';
import type { Http } from '../types.js';
import type { Services } from '../../services.js';

export async function healthRoutes(app: Http, services: Services): Promise<void> {
  app.get('/healthz', { config: { auth: 'public' }, schema: { tags: ['ops'], security: [], summary: 'Liveness', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({ status: 'ok' as const }));

  app.get(
    '/readyz',
    { config: { auth: 'public' }, schema: { tags: ['ops'], security: [], summary: 'Readiness (storage reachable)', response: { 200: Type.Object({ status: Type.String() }), 503: Type.Object({ status: Type.String() }) } } },
    async (_req, reply) => {
      try {
        await services.checkStorage();
        return { status: 'ready' };
      } catch {
        return reply.code(503).send({ status: 'storage unavailable' });
      }
    },
  );

  app.get('/metrics', { config: { auth: 'public' }, schema: { tags: ['ops'], security: [], summary: 'Prometheus metrics', produces: ['text/plain'] } }, async (_req, reply) => {
    void reply.header('content-type', 'text/plain; version=0.0.4');
    return services.metrics.render();
  });
}
