import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.js';
import { IdempotencyStore } from '../../core/storage/idempotency.js';
import type { Services } from '../services.js';

/**
 * Runs a creating handler at most once per `Idempotency-Key` (per tenant, 24 h): a retry with the same
 * body gets the stored response (with `Idempotency-Replayed: true`), a different body gets 422.
 */
export async function idempotent<T>(
  services: Services,
  req: FastifyRequest,
  reply: FastifyReply,
  status: number,
  run: () => Promise<T>,
): Promise<T> {
  const raw = req.headers['idempotency-key'];
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (!key) {
    reply.code(status);
    return run();
  }
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(key)) throw AppError.invalid('Idempotency-Key must be 1-128 characters of [A-Za-z0-9_.:-]', 'Idempotency-Key');
  const scope = req.principal?.kind === 'tenant' ? req.principal.tenantId : '_admin';
  // The concrete path (not the route pattern): the same key and body for another room is a different request.
  const hash = IdempotencyStore.hash(req.method, req.url.split('?')[0] ?? req.url, req.body);
  const replay = await services.idempotency.begin(scope, key, hash);
  if (replay) {
    reply.code(replay.status).header('idempotency-replayed', 'true');
    return replay.body as T;
  }
  try {
    const result = await run();
    await services.idempotency.complete(scope, key, hash, status, result);
    reply.code(status);
    return result;
  } catch (err) {
    await services.idempotency.abort(scope, key).catch((e: unknown) => req.log.warn({ err: e }, 'idempotency abort failed'));
    throw err;
  }
}
