/**
 * One error type with stable codes, mapped once per edge (HTTP, socket.io ack, SIP).
 * Codes are public API: never rename or reuse one. They are listed in docs/errors.md.
 */
export const ERROR_CODES = {
  INVALID_PAYLOAD: { http: 400, sip: 400, doc: 'The request body, query or event payload failed validation.' },
  PAYLOAD_TOO_LARGE: { http: 413, sip: 513, doc: 'The request or event payload exceeds the size limit.' },
  NOT_AUTHENTICATED: { http: 401, sip: 401, doc: 'No credentials, or the credentials are invalid or expired.' },
  NOT_AUTHORIZED: { http: 403, sip: 403, doc: 'The credentials are valid but do not allow this action.' },
  NOT_FOUND: { http: 404, sip: 404, doc: 'The resource does not exist (or belongs to another tenant).' },
  ROUTE_NOT_FOUND: { http: 404, sip: 404, doc: 'No such API route.' },
  TENANT_NOT_FOUND: { http: 404, sip: 404, doc: 'The tenant does not exist.' },
  ROOM_NOT_FOUND: { http: 404, sip: 404, doc: 'The room does not exist, is closed or has expired.' },
  ROOM_CLOSED: { http: 409, sip: 410, doc: 'The room has been closed.' },
  ROOM_FULL: { http: 409, sip: 486, doc: 'The room has reached its maximum number of participants.' },
  NOT_IN_ROOM: { http: 409, sip: 481, doc: 'The socket has not joined that room.' },
  PARTICIPANT_NOT_FOUND: { http: 404, sip: 404, doc: 'The target participant is not in the room.' },
  CALL_NOT_FOUND: { http: 404, sip: 481, doc: 'The call does not exist or has ended.' },
  CALL_STATE_CONFLICT: { http: 409, sip: 491, doc: 'The call is not in a state that allows this action.' },
  IDENTITY_UNAVAILABLE: { http: 404, sip: 480, doc: 'The called identity has no connected client.' },
  CONFLICT: { http: 409, sip: 409, doc: 'The resource already exists or was changed concurrently.' },
  IDEMPOTENCY_CONFLICT: { http: 422, sip: 400, doc: 'The Idempotency-Key was used before with a different request.' },
  RATE_LIMITED: { http: 429, sip: 503, doc: 'Too many requests or events; retry later.' },
  MAIL_FAILED: { http: 502, sip: 500, doc: 'The email could not be handed to the mail service.' },
  UPSTREAM_SIP_FAILURE: { http: 502, sip: 502, doc: 'A SIP peer or carrier failed the request.' },
  MEDIA_UNAVAILABLE: { http: 503, sip: 503, doc: 'No media relay is available.' },
  SERVICE_UNAVAILABLE: { http: 503, sip: 503, doc: 'A dependency (storage, mail) is unavailable; retry later.' },
  // --- voice-sip-address: SIP addresses of voice applications (docs/voice.md) ---
  SIP_ADDRESS_TAKEN: { http: 409, sip: 409, doc: 'The SIP address is already used by another voice application of the tenant.' },
  SIP_ADDRESS_IS_SIP_USER: { http: 409, sip: 409, doc: 'The SIP address is the name of a SIP user of the tenant.' },
  SIP_USERNAME_IS_SIP_ADDRESS: { http: 409, sip: 409, doc: 'The SIP username is a SIP address of a voice application of the tenant.' },
  // --- end voice-sip-address ---
  CONFIG_INVALID: { http: 500, sip: 500, doc: 'The process configuration is invalid.' },
  INTERNAL: { http: 500, sip: 500, doc: 'An unexpected error; details are in the server log.' },
} as const satisfies Record<string, { http: number; sip: number; doc: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetails {
  /** For validation errors: the offending field, as a JSON pointer-ish path (`/name`). */
  field?: string;
  retryable?: boolean;
  [key: string]: unknown;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  get sipStatus(): number {
    return ERROR_CODES[this.code].sip;
  }

  get retryable(): boolean {
    return this.details.retryable ?? (this.code === 'RATE_LIMITED' || this.code === 'SERVICE_UNAVAILABLE');
  }

  /** The body sent to clients: stable code, human message; internal errors never leak their message. */
  toJSON(): { code: ErrorCode; message: string; field?: string; retryable: boolean } {
    return {
      code: this.code,
      message: this.code === 'INTERNAL' ? 'Internal Server Error' : this.message,
      ...(this.details.field ? { field: this.details.field } : {}),
      retryable: this.retryable,
    };
  }

  static invalid(message: string, field?: string): AppError {
    return new AppError('INVALID_PAYLOAD', message, field ? { field } : {});
  }
  static notFound(what: string, id: string): AppError {
    return new AppError('NOT_FOUND', `${what} ${id} not found`);
  }
  static roomNotFound(roomId: string): AppError {
    return new AppError('ROOM_NOT_FOUND', `room ${roomId} not found`);
  }
  static unauthenticated(message = 'missing or invalid credentials'): AppError {
    return new AppError('NOT_AUTHENTICATED', message);
  }
  static forbidden(message: string): AppError {
    return new AppError('NOT_AUTHORIZED', message);
  }
  static fromSipError(e: { status: number; reason?: string }): AppError {
    return new AppError('UPSTREAM_SIP_FAILURE', `SIP ${e.status} ${e.reason ?? ''}`.trim(), { sipStatus: e.status }, { cause: e });
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Everything that is not an AppError becomes INTERNAL, keeping the original as `cause` for the log. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('INTERNAL', 'internal error', {}, { cause: err });
}

/** The socket.io ack shape for a failure. */
export function errorAck(err: unknown): { ok: false; error: { code: ErrorCode; message: string; field?: string; retryable: boolean } } {
  return { ok: false, error: toAppError(err).toJSON() };
}
