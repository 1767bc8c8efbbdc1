import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, toAppError } from '../../core/errors.js';

/** Maps every error to `{code, message, field?, retryable}` with the code's HTTP status. */
export function httpErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  let e: AppError;
  if (err.validation) {
    const first = err.validation[0];
    const where = err.validationContext ?? 'body';
    const path = first?.instancePath || (first?.params && 'missingProperty' in first.params ? `/${String(first.params.missingProperty)}` : '');
    const extra = first?.params && 'additionalProperty' in first.params ? ` (${String(first.params.additionalProperty)})` : '';
    e = new AppError('INVALID_PAYLOAD', `${where}${path} ${first?.message ?? 'is invalid'}${extra}`, { field: `${where}${path}` });
  } else if (err instanceof AppError) {
    e = err;
  } else if (err.statusCode === 413 || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    e = new AppError('PAYLOAD_TOO_LARGE', 'request body too large');
  } else if (err.statusCode === 429) {
    e = new AppError('RATE_LIMITED', err.message || 'rate limit exceeded', { retryable: true });
  } else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    // fastify's own client errors: bad JSON, wrong content type, empty body…
    e = new AppError('INVALID_PAYLOAD', err.message, {});
  } else {
    e = toAppError(err);
  }
  if (e.httpStatus >= 500) req.log.error({ err }, 'request failed');
  else req.log.info({ code: e.code, status: e.httpStatus }, 'request rejected');
  void reply.code(e.httpStatus).send(e.toJSON());
}
