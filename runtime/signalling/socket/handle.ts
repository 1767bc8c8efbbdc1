import { Compile } from 'typebox/compile';
import type { TSchema, Static } from 'typebox';
import { AppError, errorAck, toAppError } from '../../core/errors.js';
import type { Ack } from '../../core/protocol/events.js';
import type { Logger } from '../../core/logging.js';

type Validator<S extends TSchema> = { Check(v: unknown): v is Static<S>; Errors(v: unknown): Array<{ instancePath: string; message: string }>; Default?(v: unknown): unknown };

const cache = new WeakMap<TSchema, { compiled: ReturnType<typeof Compile>; hasDefaults: boolean }>();

/** Validates a client payload against its schema (defaults applied); INVALID_PAYLOAD names the field. */
export function parsePayload<S extends TSchema>(schema: S, payload: unknown): Static<S> {
  let entry = cache.get(schema);
  if (!entry) {
    // Applying defaults costs ~25 µs per message, checking ~0.1 µs: only schemas with defaults pay for it.
    entry = { compiled: Compile(schema), hasDefaults: JSON.stringify(schema).includes('"default"') };
    cache.set(schema, entry);
  }
  const validator = entry.compiled as unknown as Validator<S> & { Default(v: unknown): unknown };
  if (payload === null || typeof payload !== 'object') throw AppError.invalid('payload must be an object', '/');
  // The payload was just parsed from the wire and belongs to this handler: defaults may be applied in place.
  const value = entry.hasDefaults ? validator.Default(payload) : payload;
  if (!validator.Check(value)) {
    const first = validator.Errors(value)[0];
    const field = first?.instancePath || '/';
    throw AppError.invalid(`${field} ${first?.message ?? 'is invalid'}`, field);
  }
  return value;
}

/**
 * Wraps a request handler: validates the payload, runs the handler, calls the ack exactly once with
 * `{ok:true,data}` or `{ok:false,error}`. Handlers never crash the socket; a missing ack is tolerated.
 */
export function handle<S extends TSchema, R>(log: Logger, event: string, schema: S, fn: (req: Static<S>) => Promise<R>) {
  return async (payload: unknown, ack?: unknown): Promise<void> => {
    const reply = typeof ack === 'function' ? (ack as (r: Ack<R>) => void) : undefined;
    try {
      const req = parsePayload(schema, payload);
      const data = await fn(req);
      reply?.({ ok: true, data });
    } catch (err) {
      const e = toAppError(err);
      if (e.httpStatus >= 500) log.error({ err, event }, 'socket handler failed');
      else log.debug({ code: e.code, event, msg: e.message }, 'socket request rejected');
      reply?.(errorAck(e));
    }
  };
}

/** Fire-and-forget notifications (no ack): validate, run, log failures. */
export function notify<S extends TSchema>(log: Logger, event: string, schema: S, fn: (req: Static<S>) => Promise<void> | void) {
  return async (payload: unknown): Promise<void> => {
    try {
      await fn(parsePayload(schema, payload));
    } catch (err) {
      log.debug({ err, event }, 'socket notification dropped');
    }
  };
}
