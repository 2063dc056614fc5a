/**
 * The limits a reader applies to untrusted input, so that no input can make it hold more than
 * the caller allows: one message, one decompressed buffer, one schema's width and depth, one
 * dictionary. Every reader option type includes {@link ReadLimits}; exceeding one throws a
 * {@link LimitExceededError} (ERR_QUIVER_MESSAGE_TOO_LARGE).
 *
 * The defaults accept anything the format itself can express in one message (2 GiB - 1) and the
 * schemas real writers produce; messaging lowers the message and dictionary limits per
 * connection (DEFAULT_MAX_MESSAGE_BYTES).
 */
import { badArgument, LimitExceededError, type LimitOption } from './errors.js';

/** The limits of a reader (every reader's options include them); see the module comment. */
export interface ReadLimits {
  /**
   * Largest message accepted, in bytes as it lies in the stream or file: framing prefix,
   * metadata and body (what an encoder reports as `byteLength`). Checked before the body is
   * buffered, from the lengths the message declares.
   * @default 2147483647
   */
  maxMessageBytes?: number;
  /**
   * Largest size a compressed buffer may declare for its decompressed bytes (checked before
   * decompressing).
   * @default 2147483647
   */
  maxBufferBytes?: number;
  /**
   * Deepest nesting of fields accepted, in levels: a top-level field is level 1, its children
   * level 2 (a `list<int32>` column has depth 2). Arrow C++ reads at most 64 by default too.
   * @default 64
   */
  maxDepth?: number;
  /** Most fields one schema may have, nested children included. @default 100000 */
  maxFields?: number;
  /**
   * Largest dictionary accepted, in bytes of its buffers (decompressed): a dictionary batch, plus
   * every delta appended to it since its last replacement. Bounds what a stream of deltas can
   * make a reader hold.
   * @default 2147483647
   */
  maxDictionaryBytes?: number;
}

/** Each limit's default: what a reader applies when the option is not given. */
export const DEFAULT_LIMITS: Readonly<Required<ReadLimits>> = Object.freeze({
  maxMessageBytes: 0x7fffffff,
  maxBufferBytes: 0x7fffffff,
  maxDepth: 64,
  maxFields: 100_000,
  maxDictionaryBytes: 0x7fffffff,
});

/** The value of limit `name` in `opts` (its default when absent); ERR_QUIVER_INVALID_ARGUMENT if not a count. */
export function limitOf(opts: ReadLimits | undefined, name: LimitOption): number {
  const v = opts?.[name];
  if (v === undefined) return DEFAULT_LIMITS[name];
  if (typeof v !== 'number' || !(Number.isSafeInteger(v) || v === Infinity) || v < 0) {
    throw badArgument(`option '${name}' must be an integer >= 0 (or Infinity), got ${String(v)}`);
  }
  return v;
}

/** Throws LimitExceededError when `value` is over limit `name`. */
export function checkLimit(name: LimitOption, limit: number, value: number, what: string): void {
  if (value > limit) throw new LimitExceededError(name, limit, value, what);
}
