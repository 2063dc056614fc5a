/**
 * Errors of this package. Everything thrown is a core {@link QuiverError} with a stable `code`;
 * where a core code fits it is used (corruption is ERR_QUIVER_INVALID_IPC, a publisher that died
 * is ERR_QUIVER_CONNECTION_FAILED...). Three codes are specific to shared-memory segments and
 * live here; {@link ShmErrorCode} documents them.
 */
import { ErrorCode, InvalidDataError, QuiverError } from '@quiver/core';

/** The codes this package adds to core's {@link ErrorCode}. */
export const ShmErrorCode = {
  /**
   * The segment was made by another layout version of this package (its header's version word
   * differs). Nothing else in it is read: another version may lay it out differently.
   */
  VERSION: 'ERR_QUIVER_SHM_VERSION',
  /**
   * The segment exists but its creator has not finished initialising it (its init-complete flag
   * is not set yet): it is being created, or its creator died while creating it.
   */
  NOT_READY: 'ERR_QUIVER_SHM_NOT_READY',
  /** Every subscriber slot of the segment is taken (see the `maxSubscribers` option). */
  FULL: 'ERR_QUIVER_SHM_FULL',
} as const;

export type ShmErrorCode = (typeof ShmErrorCode)[keyof typeof ShmErrorCode];

/**
 * A QuiverError with one of the {@link ShmErrorCode} codes. (Its `code` is typed as core's
 * ErrorCode union; compare it with the strings above.)
 */
export class ShmError extends QuiverError {
  override name = 'ShmError';
  /** An error with one of the {@link ShmErrorCode} codes (or a core code). */
  constructor(code: ShmErrorCode | ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code as ErrorCode, message, options);
  }
}

/** Shared memory holding something it should not: a bad header, cursor or record. */
export function corrupt(message: string): InvalidDataError {
  return new InvalidDataError(`shared memory: ${message}`);
}

export const closedError = (what: string): QuiverError => new QuiverError(ErrorCode.CLOSED, `${what} is closed`);

export function abortError(signal: AbortSignal, what: string): QuiverError {
  return new QuiverError(ErrorCode.ABORTED, `${what}: aborted`, { cause: signal.reason });
}

/** The `code` of an error, if it has a string one. */
export function codeOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}
