/**
 * Every error Quiver raises is a {@link QuiverError} with a stable `code`. Callers branch on
 * `err.code`, never on message text: messages may be reworded, codes may not.
 */

/** The stable codes. Each names one kind of failure a caller may want to handle differently. */
export const ErrorCode = {
  /** Bytes that are not valid Arrow IPC: bad flatbuffer, bad framing, buffers out of range. */
  INVALID_IPC: 'ERR_QUIVER_INVALID_IPC',
  /** The input ended inside a message. `incomplete` is true, as in msgpackr. */
  TRUNCATED: 'ERR_QUIVER_TRUNCATED',
  /** A stream given where a file was expected, or a file where a stream was expected. */
  FORMAT_MISMATCH: 'ERR_QUIVER_FORMAT_MISMATCH',
  /** An Arrow type that apache-arrow (the JS data model) cannot represent. */
  UNSUPPORTED_TYPE: 'ERR_QUIVER_UNSUPPORTED_TYPE',
  /** A valid Arrow feature Quiver does not implement (tensor messages, metadata before V4, non-buffer body compression, decoding big-endian data). */
  UNSUPPORTED: 'ERR_QUIVER_UNSUPPORTED',
  /** No codec is registered or loadable for a compression the data uses or the caller asked for. */
  CODEC_UNAVAILABLE: 'ERR_QUIVER_CODEC_UNAVAILABLE',
  /** A compressed buffer that does not decompress to its declared length. */
  DECOMPRESSION_FAILED: 'ERR_QUIVER_DECOMPRESSION_FAILED',
  /**
   * A message, buffer, schema or dictionary beyond a configured limit (thrown as a
   * {@link LimitExceededError}, which says which limit, its value and what the input had).
   */
  MESSAGE_TOO_LARGE: 'ERR_QUIVER_MESSAGE_TOO_LARGE',
  /** A batch whose schema differs from the writer's. */
  SCHEMA_MISMATCH: 'ERR_QUIVER_SCHEMA_MISMATCH',
  /** A dictionary change the format cannot carry (a replacement in a file). */
  DICTIONARY_REPLACEMENT: 'ERR_QUIVER_DICTIONARY_REPLACEMENT',
  /** The native addon is not built or cannot load here. */
  NATIVE_UNAVAILABLE: 'ERR_QUIVER_NATIVE_UNAVAILABLE',
  /** A caller passed an argument outside its contract. */
  INVALID_ARGUMENT: 'ERR_QUIVER_INVALID_ARGUMENT',
  /** An operation on something already closed. */
  CLOSED: 'ERR_QUIVER_CLOSED',
  /** An operation cancelled through its AbortSignal. */
  ABORTED: 'ERR_QUIVER_ABORTED',
  /** The operating system refused a read, write or open; `cause` holds its error. */
  IO: 'ERR_QUIVER_IO',
  /** A send that was asked not to wait found the transport full. Reserved: no transport raises it yet. */
  BUSY: 'ERR_QUIVER_BUSY',
  /** The address is held by a live listener (a Unix socket file answers, a port is bound). */
  ADDRESS_IN_USE: 'ERR_QUIVER_ADDRESS_IN_USE',
  /** A connection could not be made, or failed (refused, reset, TLS handshake). */
  CONNECTION_FAILED: 'ERR_QUIVER_CONNECTION_FAILED',
  /** The peer is not allowed (peer-credential allow-list, client certificate). */
  PEER_REJECTED: 'ERR_QUIVER_PEER_REJECTED',
  /** A subscriber fell too far behind under the `disconnect` policy. */
  SLOW_CONSUMER: 'ERR_QUIVER_SLOW_CONSUMER',
  /** A protocol message (control frame) that is malformed or unexpected. */
  PROTOCOL: 'ERR_QUIVER_PROTOCOL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every error Quiver throws. */
export class QuiverError extends Error {
  /** The class name (`'QuiverError'`, or the subclass's). */
  override name = 'QuiverError';
  /** Stable identifier of the failure, e.g. `ERR_QUIVER_INVALID_IPC`. */
  readonly code: ErrorCode;
  /** `options.cause` is the underlying error (an errno error, a codec's exception...). */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Input that is not valid Arrow IPC. `incomplete` is true when it merely ended too early. */
export class InvalidDataError extends QuiverError {
  override name = 'InvalidDataError';
  /** True when the input merely ended too early (code ERR_QUIVER_TRUNCATED): more bytes might have made it valid. */
  readonly incomplete: boolean;
  /** Code ERR_QUIVER_TRUNCATED with `incomplete: true`, else ERR_QUIVER_INVALID_IPC. */
  constructor(message: string, options?: { cause?: unknown; incomplete?: boolean }) {
    super(options?.incomplete ? ErrorCode.TRUNCATED : ErrorCode.INVALID_IPC, message, options);
    this.incomplete = options?.incomplete ?? false;
  }
}

/** Which of the two IPC forms some bytes are. */
export type IpcFormat = 'stream' | 'file';

/** A stream opened as a file, or a file opened as a stream. */
export class FormatMismatchError extends QuiverError {
  override name = 'FormatMismatchError';
  constructor(
    /** The form the caller asked to read. */
    readonly expected: IpcFormat,
    /** The form the bytes actually have. */
    readonly detected: IpcFormat,
  ) {
    super(
      ErrorCode.FORMAT_MISMATCH,
      detected === 'file'
        ? 'this is an Arrow IPC file (it starts with the ARROW1 magic), not a stream: read it with FileReader'
        : 'this is an Arrow IPC stream (no ARROW1 magic), not a file: read it with a stream reader',
    );
  }
}

/** A type the JS data model (apache-arrow) cannot hold. The bytes can still be converted. */
export class UnsupportedTypeError extends QuiverError {
  override name = 'UnsupportedTypeError';
  constructor(
    /** The type, in pyarrow's spelling (`list_view<item: int32>`). */
    readonly typeName: string,
    context?: string,
  ) {
    super(
      ErrorCode.UNSUPPORTED_TYPE,
      `Arrow type ${typeName}${context ? ` (${context})` : ''} cannot be decoded to apache-arrow objects; ` +
        'convert it at the message level instead',
    );
  }
}

/** The reader options that bound what untrusted input may make Quiver hold (see `limits.ts`). */
export type LimitOption = 'maxMessageBytes' | 'maxBufferBytes' | 'maxDepth' | 'maxFields' | 'maxDictionaryBytes';

/**
 * Input beyond a configured limit. Its code is ERR_QUIVER_MESSAGE_TOO_LARGE (whichever limit);
 * `option` names the limit, `limit` is its configured value, and `value` what the input had (for
 * a count, the first one over: reading stops there).
 */
export class LimitExceededError extends QuiverError {
  override name = 'LimitExceededError';
  constructor(
    readonly option: LimitOption,
    readonly limit: number,
    readonly value: number,
    what: string,
  ) {
    super(ErrorCode.MESSAGE_TOO_LARGE, `${what}: ${value} exceeds the limit of ${limit} (the ${option} option)`);
  }
}

/** ERR_QUIVER_INVALID_IPC for malformed input: the shorthand the codec uses (and transports may too). */
export function invalid(message: string, cause?: unknown): InvalidDataError {
  return new InvalidDataError(message, cause === undefined ? undefined : { cause });
}

/** ERR_QUIVER_TRUNCATED (`incomplete: true`) for input that ended too early. */
export function truncated(message: string): InvalidDataError {
  return new InvalidDataError(message, { incomplete: true });
}

/** ERR_QUIVER_INVALID_ARGUMENT for an argument outside its contract. */
export function badArgument(message: string): QuiverError {
  return new QuiverError(ErrorCode.INVALID_ARGUMENT, message);
}
