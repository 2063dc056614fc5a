/**
 * IPC framing (Arrow columnar spec, "Encapsulated message format"):
 *   <0xFFFFFFFF continuation> <int32 metadata size> <metadata flatbuffer, padded> <body>
 * Streams from before Arrow 0.15 omit the continuation marker; an int32 0 (with or without the
 * marker) ends a stream. Encoding emits a gather list; decoding is incremental over chunks and
 * hands out views of them, copying only a message that straddles chunks.
 */
import { ErrorCode, FormatMismatchError, invalid, QuiverError, truncated } from '../errors.js';
import { decodeMessage, encodeMessage, type Message } from '../format/message.js';
import type { SchemaLimits } from '../format/schema.js';
import { align8, ZERO_PAD } from './body.js';

/** One encoded IPC message as a gather list: write `buffers` in order, never concatenated. */
export interface EncodedMessage {
  buffers: Uint8Array[];
  byteLength: number;
  /** Size of the framed metadata (prefix + flatbuffer + padding), as a file footer Block records. */
  metadataLength: number;
  bodyLength: number;
}

const CONTINUATION = 0xffffffff;
export const ARROW_MAGIC = new Uint8Array([0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]); // "ARROW1"

/** End-of-stream marker: continuation then a zero length. */
export const EOS = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/** Frames a message: prefix, metadata padded so the body starts 8-aligned, then the body parts. */
export function frameMessage(message: Message, body: Uint8Array[]): EncodedMessage {
  const meta = encodeMessage(message);
  const metadataLength = align8(8 + meta.byteLength);
  const prefix = new Uint8Array(8);
  const view = new DataView(prefix.buffer);
  view.setUint32(0, CONTINUATION, true);
  view.setInt32(4, metadataLength - 8, true);
  const buffers = [prefix, meta];
  const pad = metadataLength - 8 - meta.byteLength;
  if (pad > 0) buffers.push(ZERO_PAD.subarray(0, pad));
  for (const b of body) buffers.push(b);
  return { buffers, byteLength: metadataLength + message.bodyLength, metadataLength, bodyLength: message.bodyLength };
}

/** A decoded message with its body as one contiguous view. */
export interface RawMessage {
  message: Message;
  body: Uint8Array;
  /** The flatbuffer bytes, for callers that forward a message unchanged. */
  metadataBytes: Uint8Array;
}

export interface FramerOptions extends SchemaLimits {
  /** Largest message (metadata + body) accepted. @default 2147483647 */
  maxMessageBytes?: number;
}

/**
 * Incremental message decoder. `push` chunks as they arrive; `next` returns a message, `'eos'`,
 * or `null` when more bytes are needed. Nothing is allocated for a length read off the wire
 * until that many bytes have actually arrived.
 */
export class MessageFramer {
  private chunks: Uint8Array[] = [];
  private head = 0; // consumed bytes of chunks[0]
  private available = 0;
  private started = false;
  private pending: { metadataBytes: Uint8Array; message: Message } | null = null;
  readonly maxMessageBytes: number;

  constructor(private readonly opts: FramerOptions = {}) {
    this.maxMessageBytes = opts.maxMessageBytes ?? 0x7fffffff;
  }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.available += chunk.byteLength;
  }

  /** Bytes received but not yet consumed by a complete message. */
  get buffered(): number {
    return this.available;
  }

  /** Whether the framer sits exactly between messages (nothing partial buffered). */
  get atBoundary(): boolean {
    return this.available === 0 && this.pending === null;
  }

  /** Forget where the current stream began, so the next bytes may start a new stream. */
  resetStream(): void {
    this.started = false;
  }

  next(): RawMessage | 'eos' | null {
    if (this.pending === null) {
      if (this.available < 4) return null;
      if (!this.started && this.available >= 6 && this.startsWithMagic()) throw new FormatMismatchError('stream', 'file');
      let first = this.peekUint32(0);
      let prefix = 4;
      if (first === CONTINUATION) {
        if (this.available < 8) return null;
        first = this.peekUint32(4);
        prefix = 8;
      }
      const len = first | 0;
      if (len === 0) {
        this.skip(prefix);
        this.started = false;
        return 'eos';
      }
      if (len < 0) throw invalid(`message metadata length ${len} is negative`);
      if (len > this.maxMessageBytes) {
        throw new QuiverError(ErrorCode.MESSAGE_TOO_LARGE, `message metadata of ${len} bytes exceeds the ${this.maxMessageBytes}-byte limit`);
      }
      if (this.available < prefix + len) return null;
      this.skip(prefix);
      const metadataBytes = this.take(len);
      const message = decodeMessage(metadataBytes, this.opts);
      if (message.bodyLength + len > this.maxMessageBytes) {
        throw new QuiverError(ErrorCode.MESSAGE_TOO_LARGE, `message of ${message.bodyLength + len} bytes exceeds the ${this.maxMessageBytes}-byte limit`);
      }
      this.started = true;
      this.pending = { metadataBytes, message };
    }
    const { message, metadataBytes } = this.pending;
    if (this.available < message.bodyLength) return null;
    this.pending = null;
    return { message, metadataBytes, body: this.take(message.bodyLength) };
  }

  /** Call when the source has ended: fails if a message was cut short. */
  finish(): void {
    if (this.pending) throw truncated(`input ended inside a message body (${this.available} of ${this.pending.message.bodyLength} bytes)`);
    if (this.available > 0) throw truncated(`input ended inside a message header (${this.available} stray bytes)`);
  }

  private startsWithMagic(): boolean {
    const head = this.peek(6);
    return ARROW_MAGIC.every((b, i) => head[i] === b);
  }

  private peekUint32(at: number): number {
    const b = this.peek(at + 4);
    return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
  }

  /** The next `n` buffered bytes without consuming them (n is small). */
  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.byteLength - this.head >= n) return first.subarray(this.head, this.head + n);
    const out = new Uint8Array(n);
    let filled = 0;
    for (let i = 0; filled < n; i++) {
      const c = this.chunks[i]!;
      const from = i === 0 ? this.head : 0;
      const take = Math.min(n - filled, c.byteLength - from);
      out.set(c.subarray(from, from + take), filled);
      filled += take;
    }
    return out;
  }

  private skip(n: number): void {
    this.take(n);
  }

  /** Consumes `n` bytes: a view when they lie in one chunk, else one copy. */
  private take(n: number): Uint8Array {
    this.available -= n;
    const first = this.chunks[0];
    if (n === 0) return new Uint8Array(0);
    if (first!.byteLength - this.head >= n) {
      const v = first!.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first!.byteLength) {
        this.chunks.shift();
        this.head = 0;
      }
      return v;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const take = Math.min(n - filled, c.byteLength - this.head);
      out.set(c.subarray(this.head, this.head + take), filled);
      filled += take;
      this.head += take;
      if (this.head === c.byteLength) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    return out;
  }
}
