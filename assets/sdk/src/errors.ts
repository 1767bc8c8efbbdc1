import type { ErrorCode } from '../../../runtime/core/protocol/events.js';

/**
 * Error codes the SDK raises. Server codes (ErrorCode, see docs/errors.md) pass through unchanged; the others are
 * raised by the SDK itself. Codes are public API: branch on `code`, show `message` to people.
 */
export type SdkErrorCode =
  | 'TIMEOUT' // the server did not answer a request in time
  | 'DISCONNECTED' // the request could not be sent: signalling is down (it reconnects by itself)
  | 'CONNECT_FAILED' // the first connection to signalling failed (network, wrong URL)
  | 'PROTOCOL_MISMATCH' // the server speaks another protocol version
  | 'TURN_AUTH_FAILED' // the TURN server refused the credentials (401): wrong or expired
  | 'ICE_NO_CANDIDATES' // ICE gathering finished with no usable candidate (TURN unreachable in relay-only mode)
  | 'ICE_FAILED' // ICE connectivity failed and an ICE restart did not help
  | 'MEDIA_PERMISSION_DENIED'
  | 'MEDIA_DEVICE_NOT_FOUND'
  | 'MEDIA_FAILED'
  | 'FILE_INTEGRITY' // a received file's sha-256 differs from the offer
  | 'FILE_CANCELLED'
  | 'FILE_DECLINED'
  | 'RECORDING_UNSUPPORTED' // media-services: no MediaRecorder/AudioContext or no supported format (client-side recording)
  | 'UPLOAD_FAILED' // media-services: the client-side recording could not be uploaded
  | 'INVALID_STATE'; // the operation is not possible now (e.g. accept an ended call)

export type CpaasErrorCode = ErrorCode | SdkErrorCode;

export class CpaasError extends Error {
  override readonly name = 'CpaasError';
  readonly code: CpaasErrorCode;
  readonly retryable: boolean;
  /** Extra machine-readable facts (e.g. `{ turnErrors: [...] }`). */
  readonly details: Record<string, unknown>;

  constructor(code: CpaasErrorCode, message: string, opts: { retryable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details ?? {};
  }

  toJSON(): { code: CpaasErrorCode; message: string; retryable: boolean; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, retryable: this.retryable, details: this.details };
  }
}

/** getUserMedia / getDisplayMedia failures as CpaasErrors. */
export function mediaError(err: unknown): CpaasError {
  const name = (err as { name?: string } | null)?.name ?? '';
  const msg = (err as { message?: string } | null)?.message ?? String(err);
  if (name === 'NotAllowedError' || name === 'SecurityError') return new CpaasError('MEDIA_PERMISSION_DENIED', `media permission denied: ${msg}`, { cause: err });
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return new CpaasError('MEDIA_DEVICE_NOT_FOUND', `media device not found: ${msg}`, { cause: err });
  return new CpaasError('MEDIA_FAILED', `media failed: ${msg}`, { cause: err });
}

export function toCpaasError(err: unknown, fallback: CpaasErrorCode = 'INTERNAL'): CpaasError {
  if (err instanceof CpaasError) return err;
  return new CpaasError(fallback, (err as Error | null)?.message ?? String(err), { cause: err });
}
