/**
 * IPC framing (Arrow columnar spec, "Encapsulated message format"):
 *   <0xFFFFFFFF continuation> <int32 metadata size> <metadata flatbuffer, padded> <body>
 * Streams from before Arrow 0.15 omit the continuation marker; an int32 0 (with or without the
 * marker) ends a stream. Encoding emits a gather list; decoding is incremental over chunks and
 * hands out views of them, copying only a message that straddles chunks.
 */
import { FormatMismatchError, invalid, truncated } from '../errors.js';
import { decodeMessage, isDirectRecordBatch, recordBatchMessageBytes, withEncodedMessage, writeRecordBatchMessageAt, type Message } from '../format/message.js';
import { checkLimit, limitOf, type ReadLimits } from '../limits.js';
import { align8 } from './body.js';
import type { ReadSink } from '../transport/transport.js';

/**
 * A buffer of `n` bytes of its own, not zeroed: only for memory filled completely before anyone
 * sees it. A large zeroed ArrayBuffer is fresh pages from the kernel each time (faulted in as
 * they are written, then unmapped when collected); this reuses the allocator's freed memory.
 */
function uninitialized(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/** One encoded IPC message as a gather list: write `buffers` in order, never concatenated. */
export interface EncodedMessage {
  /** The message's bytes in order: write them as they are, one after the other. */
  buffers: Uint8Array[];
  /** Total bytes of `buffers`. */
  byteLength: number;
  /** Size of the framed metadata (prefix + flatbuffer + padding), as a file footer Block records. */
  metadataLength: number;
  /** Bytes of body (after the metadata). */
  bodyLength: number;
  /**
   * What the message is, for transports that treat messages differently (a publisher may drop a
   * record batch but never a dictionary). Set by the encoders; absent on raw byte runs.
   */
  kind?: 'schema' | 'recordBatch' | 'dictionaryBatch';
  /** For a dictionary batch: its id, and whether it is a delta. */
  dictionaryId?: number;
  /** For a dictionary batch: true when it appends to the dictionary instead of replacing it. */
  isDelta?: boolean;
}

const CONTINUATION = 0xffffffff;
const NO_BYTES = new ArrayBuffer(0);
/** `ARROW1`: the magic at both ends of an Arrow IPC file. */
export const ARROW_MAGIC = new Uint8Array([0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]); // "ARROW1"

/** End-of-stream marker: continuation then a zero length. */
export const EOS = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/**
 * Frames a message: prefix, metadata padded so the body starts 8-aligned, then the body parts.
 * Prefix, flatbuffer and padding share one allocation but stay separate views, so `buffers[0]`
 * is the 8-byte prefix and `buffers[1]` the flatbuffer.
 */
export function frameMessage(message: Message, body: Uint8Array[]): EncodedMessage {
  if (isDirectRecordBatch(message)) {
    // Nearly every message of a stream: its flatbuffer is written straight into the slab.
    const h = message.header.batch;
    const metadataLength = 8 + recordBatchMessageBytes(h); // a multiple of 8: no padding
    const at = carve(metadataLength);
    writeRecordBatchMessageAt(carved.view, at + 8, message.version, message.bodyLength, h);
    return framed(carved.bytes, at, metadataLength, metadataLength, body, message.bodyLength);
  }
  return withEncodedMessage(message, (meta) => {
    const metaEnd = 8 + meta.byteLength;
    const metadataLength = align8(metaEnd);
    const at = carve(metadataLength);
    carved.bytes.set(meta, at + 8);
    return framed(carved.bytes, at, metaEnd, metadataLength, body, message.bodyLength);
  });
}

/** The gather list of a message framed at `at` of `bytes`: prefix, flatbuffer, padding, body. */
function framed(bytes: Uint8Array, at: number, metaEnd: number, metadataLength: number, body: Uint8Array[], bodyLength: number): EncodedMessage {
  const buffers: Uint8Array[] = [bytes.subarray(at, at + 8), bytes.subarray(at + 8, at + metaEnd)];
  if (metaEnd < metadataLength) buffers.push(bytes.subarray(at + metaEnd, at + metadataLength));
  for (const b of body) buffers.push(b);
  return { buffers, byteLength: metadataLength + bodyLength, metadataLength, bodyLength };
}

/**
 * Framed metadata is carved out of shared slabs, as Node carves small Buffers out of its pool:
 * an ArrayBuffer of its own per message cost more than encoding a record batch header. So
 * messages' metadata may share an ArrayBuffer (never transfer or detach `.buffer` of one). A
 * slab is zeroed when made and each part is handed out once; a full slab is left to the GC.
 */
const SLAB_BYTES = 16 * 1024;
/** The memory {@link carve} last carved from, with one DataView over all of it. */
export const carved = { bytes: new Uint8Array(0), view: new DataView(new ArrayBuffer(0)) };
let slab = carved.bytes;
let slabView = carved.view;
let slabUsed = 0;

/**
 * `n` zeroed bytes (n a multiple of 8, so every part starts 8-aligned) at the returned offset of
 * `carved.bytes` (a slab, or for a large `n` memory of its own), starting with the framing
 * prefix of `n` bytes of framed metadata: the continuation marker, then the size that follows.
 */
export function carve(n: number): number {
  let at = 0;
  if (n > SLAB_BYTES / 8) {
    carved.bytes = new Uint8Array(n);
    carved.view = new DataView(carved.bytes.buffer);
  } else {
    if (slabUsed + n > slab.byteLength) {
      slab = new Uint8Array(SLAB_BYTES);
      slabView = new DataView(slab.buffer);
      slabUsed = 0;
    }
    carved.bytes = slab;
    carved.view = slabView;
    at = slabUsed;
    slabUsed += n;
  }
  carved.view.setInt32(at, -1, true);
  carved.view.setInt32(at + 4, n - 8, true);
  return at;
}

/** A decoded message with its body as one contiguous view. */
export interface RawMessage {
  /** The decoded metadata. */
  message: Message;
  /** The body: a view of the input when the message lay in one chunk, else a copy. */
  body: Uint8Array;
  /** The flatbuffer bytes, for callers that forward a message unchanged. */
  metadataBytes: Uint8Array;
}

/** The framer's limits: `maxMessageBytes`, and the schema's `maxDepth` and `maxFields`. */
export type FramerOptions = Pick<ReadLimits, 'maxMessageBytes' | 'maxDepth' | 'maxFields'>;

/**
 * Checks a message's size against `maxMessageBytes`: `bytes` is what it takes in the stream
 * (prefix, metadata, body), or a part of that known before the rest arrives.
 */
export function checkMessageBytes(max: number, bytes: number): void {
  checkLimit('maxMessageBytes', max, bytes, 'message bytes');
}

/**
 * Bodies at least this large that have not all arrived are assembled in a buffer of their own,
 * which a transport that supports it ({@link ReadSink}) reads straight into.
 */
const DIRECT_BODY_BYTES = 64 * 1024;

/**
 * A body's own buffer is sized by a length read off the wire, so it is allocated only while that
 * length is at most the larger of this and {@link DIRECT_RECEIVED_FACTOR} times the bytes that
 * have actually arrived for the message: a peer that claims a large body and sends nothing costs
 * at most this much, and a larger body's buffer waits until a share of it has arrived (those
 * bytes are copied in once, the rest is read in place).
 */
export const DIRECT_EAGER_BYTES = 16 * 1024 * 1024;
/** See {@link DIRECT_EAGER_BYTES}. */
export const DIRECT_RECEIVED_FACTOR = 8;

/**
 * Incremental message decoder. `push` chunks as they arrive; `next` returns a message, `'eos'`,
 * or `null` when more bytes are needed. Pushed chunks allocate nothing for a length read off the
 * wire until that many bytes have actually arrived; as a {@link ReadSink} it allocates a large
 * body's buffer (once its size passed the `maxMessageBytes` check) for the transport to read into.
 */
export class MessageFramer implements ReadSink {
  private chunks: Uint8Array[] = [];
  private head = 0; // consumed bytes of chunks[0]
  private available = 0;
  private started = false;
  private pending: { metadataBytes: Uint8Array; message: Message } | null = null;
  /** The pending message's body being assembled in its own buffer; `chunks` then hold only bytes after it. */
  private direct: { body: Uint8Array; filled: number } | null = null;
  /** An error met while parsing for `write`, thrown by the next `next`. */
  private failed: unknown = null;
  /** The limit in force (from the options). */
  readonly maxMessageBytes: number;

  /** A framer with these limits (ERR_QUIVER_MESSAGE_TOO_LARGE beyond them). */
  constructor(private readonly opts: FramerOptions = {}) {
    this.maxMessageBytes = limitOf(opts, 'maxMessageBytes');
  }

  /** Memory of a body given back with {@link MessageFramer.recycle}, for the next one that fits. */
  private spare: ArrayBuffer | null = null;
  /** Whether bodies are being given back (then new ones get room to grow, so they can be reused). */
  private recycling = false;
  /** The memory of every body this framer allocated (only those may come back). */
  private readonly own = new WeakSet<ArrayBufferLike>();

  /**
   * Gives back the memory of a message body this framer handed out (a body that was a view of
   * received chunks is ignored): no one reads that body any more, and the next body that fits
   * is read into it instead of fresh memory.
   */
  recycle(body: Uint8Array): void {
    if (!this.own.has(body.buffer)) return;
    this.recycling = true;
    const b = body.buffer as ArrayBuffer;
    if (this.spare === null || b.byteLength > this.spare.byteLength) this.spare = b;
  }

  /** Memory for a body of `n` bytes, 8-aligned, filled completely before anyone sees it. */
  private bodyBuffer(n: number): Uint8Array {
    const s = this.spare;
    if (s !== null && s.byteLength >= n) {
      this.spare = null;
      return new Uint8Array(s, 0, n);
    }
    // While bodies come back, one an eighth larger can serve the next batches, which are
    // seldom exactly as large.
    const out = uninitialized(this.recycling ? n + (n >> 3) : n).subarray(0, n);
    this.own.add(out.buffer);
    return out;
  }

  /** Adds received bytes. The chunk is kept, not copied: do not modify it afterwards. */
  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    // A Node Buffer's subarray builds a Buffer, several times slower than a Uint8Array's, and
    // decoding takes a few views per message; so work on a plain view of the same memory.
    if (Object.getPrototypeOf(chunk) !== Uint8Array.prototype) chunk = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const d = this.direct;
    if (d !== null && d.filled < d.body.byteLength) {
      const n = Math.min(chunk.byteLength, d.body.byteLength - d.filled);
      // Bytes read in place (into the view `readBuffer` gave) are already where they belong.
      if (chunk.buffer !== d.body.buffer || chunk.byteOffset !== d.body.byteOffset + d.filled) d.body.set(chunk.subarray(0, n), d.filled);
      d.filled += n;
      if (n === chunk.byteLength) return;
      chunk = chunk.subarray(n);
    }
    this.chunks.push(chunk);
    this.available += chunk.byteLength;
  }

  /** {@link ReadSink.readBuffer}: the rest of a large pending body, allocated on first ask. */
  readBuffer(): Uint8Array | null {
    const p = this.pending;
    if (p === null || this.failed !== null) return null;
    let d = this.direct;
    if (d === null) {
      const n = p.message.bodyLength;
      if (n < DIRECT_BODY_BYTES || this.available >= n) return null;
      // Never more than a bounded multiple of what arrived (see DIRECT_EAGER_BYTES): until then
      // reads go to the transport's buffer and are kept as chunks, as with iteration.
      // Memory given back (recycle) that holds the body costs nothing new, whatever arrived.
      const spareFits = this.spare !== null && this.spare.byteLength >= n;
      if (!spareFits && n > Math.max(DIRECT_EAGER_BYTES, DIRECT_RECEIVED_FACTOR * (p.metadataBytes.byteLength + this.available))) return null;
      // n passed the maxMessageBytes check when the metadata was read. A fresh ArrayBuffer
      // starts 8-aligned, as the body's buffers need; a large one is zero pages the kernel maps
      // only as the reads fill them. If it cannot be had, the body is assembled as before.
      let body: Uint8Array;
      try {
        body = this.bodyBuffer(n); // filled completely before next() hands it out
      } catch {
        return null;
      }
      const filled = this.available;
      this.available = 0;
      this.copyOut(body, filled);
      d = this.direct = { body, filled };
    }
    return d.filled < d.body.byteLength ? d.body.subarray(d.filled) : null;
  }

  /** {@link ReadSink.write}: takes the bytes; true while no message (or end of stream) is complete. */
  write(chunk: Uint8Array): boolean {
    this.push(chunk);
    try {
      const h = this.readHeader();
      if (h !== true) return h === false;
    } catch (e) {
      this.failed = e;
      return false;
    }
    return !this.bodyComplete();
  }

  /** Bytes received but not yet consumed by a complete message. */
  get buffered(): number {
    return this.available + (this.direct?.filled ?? 0);
  }

  /** Whether the framer sits exactly between messages (nothing partial buffered). */
  get atBoundary(): boolean {
    return this.available === 0 && this.pending === null;
  }

  /** Forget where the current stream began, so the next bytes may start a new stream. */
  resetStream(): void {
    this.started = false;
  }

  /**
   * The next complete message, `'eos'` at an end-of-stream marker, or null when more bytes are
   * needed. Throws ERR_QUIVER_INVALID_IPC, ERR_QUIVER_MESSAGE_TOO_LARGE, or
   * ERR_QUIVER_FORMAT_MISMATCH for a file's ARROW1 magic at the start of a stream.
   */
  next(): RawMessage | 'eos' | null {
    if (this.failed !== null) throw this.failed;
    const h = this.readHeader();
    if (h === false) return null;
    if (h === 'eos') {
      this.skip(this.peekUint32(0) === CONTINUATION ? 8 : 4);
      this.started = false;
      return 'eos';
    }
    if (!this.bodyComplete()) return null;
    const { message, metadataBytes } = this.pending!;
    this.pending = null;
    const d = this.direct;
    if (d !== null) {
      this.direct = null;
      return { message, metadataBytes, body: d.body };
    }
    return { message, metadataBytes, body: this.take(message.bodyLength, true) };
  }

  /** Whether the pending message's body has all arrived. */
  private bodyComplete(): boolean {
    const d = this.direct;
    return d !== null ? d.filled === d.body.byteLength : this.available >= this.pending!.message.bodyLength;
  }

  /**
   * Reads the next message's metadata into `pending` once it has all arrived: true when there is
   * a pending message, false when more bytes are needed, 'eos' at an end-of-stream marker (left
   * unconsumed).
   */
  private readHeader(): boolean | 'eos' {
    if (this.pending !== null) return true;
    if (this.available < 4) return false;
    if (!this.started && this.available >= 6 && this.startsWithMagic()) throw new FormatMismatchError('stream', 'file');
    let first = this.peekUint32(0);
    let prefix = 4;
    if (first === CONTINUATION) {
      if (this.available < 8) return false;
      first = this.peekUint32(4);
      prefix = 8;
    }
    const len = first | 0;
    if (len === 0) return 'eos';
    if (len < 0) throw invalid(`message metadata length ${len} is negative`);
    // Before buffering the metadata, then before the body: nothing waits for bytes over the limit.
    checkMessageBytes(this.maxMessageBytes, prefix + len);
    if (this.available < prefix + len) return false;
    this.skip(prefix);
    const metadataBytes = this.take(len);
    const message = decodeMessage(metadataBytes, this.opts);
    checkMessageBytes(this.maxMessageBytes, prefix + len + message.bodyLength);
    this.started = true;
    this.pending = { metadataBytes, message };
    return true;
  }

  /** Call when the source has ended: fails if a message was cut short. */
  finish(): void {
    if (this.failed !== null) throw this.failed;
    if (this.pending) throw truncated(`input ended inside a message body (${this.buffered} of ${this.pending.message.bodyLength} bytes)`);
    if (this.available > 0) throw truncated(`input ended inside a message header (${this.available} stray bytes)`);
  }

  private startsWithMagic(): boolean {
    for (let i = 0; i < ARROW_MAGIC.length; i++) if (this.peekByte(i) !== ARROW_MAGIC[i]) return false;
    return true;
  }

  private peekUint32(at: number): number {
    return (this.peekByte(at) | (this.peekByte(at + 1) << 8) | (this.peekByte(at + 2) << 16) | (this.peekByte(at + 3) << 24)) >>> 0;
  }

  /** The buffered byte `at` bytes ahead, without consuming or allocating (`at` < available). */
  private peekByte(at: number): number {
    let i = 0;
    at += this.head;
    while (at >= this.chunks[i]!.byteLength) at -= this.chunks[i++]!.byteLength;
    return this.chunks[i]![at]!;
  }

  /** Consumes `n` bytes without making a view of them. */
  private skip(n: number): void {
    this.available -= n;
    while (n > 0) {
      const rest = this.chunks[0]!.byteLength - this.head;
      if (n < rest) {
        this.head += n;
        return;
      }
      n -= rest;
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** Consumes `n` bytes: a view when they lie in one chunk, else one copy (into a body's memory if `body`). */
  private take(n: number, body = false): Uint8Array {
    this.available -= n;
    const first = this.chunks[0];
    if (n === 0) return new Uint8Array(NO_BYTES); // as new Uint8Array(0), minus allocating a buffer
    if (first!.byteLength - this.head >= n) {
      const v = first!.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first!.byteLength) {
        this.chunks.shift();
        this.head = 0;
      }
      return v;
    }
    const out = body ? this.bodyBuffer(n) : uninitialized(n); // copyOut fills it
    this.copyOut(out, n);
    return out;
  }

  /** Moves the first `n` buffered bytes into `out` (`available` already accounts for them). */
  private copyOut(out: Uint8Array, n: number): void {
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
  }
}
