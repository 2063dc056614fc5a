/**
 * Message bodies: the buffers of a record or dictionary batch, padded to 8 bytes each, optionally
 * compressed buffer by buffer (Message.fbs BodyCompression: an int64 uncompressed length, -1 for
 * "stored raw", then the codec's frame).
 */
import { ErrorCode, invalid, QuiverError } from '../errors.js';
import { checkLimit, limitOf } from '../limits.js';
import type { BufferRegion, CompressionCodec, RecordBatchHeader } from '../format/message.js';
import { CodecRegistry } from '../compression/registry.js';

export const ZERO_PAD = new Uint8Array(8);

/** Every empty buffer of a body read: it has no bytes to write or to keep alive. */
const NO_BYTES = new Uint8Array(0);

/** PADS[k]: k zero bytes, for k in 1..7 (one view each, shared by every body). */
export const PADS = Array.from({ length: 8 }, (_, k) => ZERO_PAD.subarray(0, k));

/** `n` rounded up to a multiple of 8 (any safe integer: `(n + 7) & ~7` wraps past 2 GiB). */
export const align8 = (n: number): number => n + (-n & 7);

/** How message bodies are read: codecs and the decompression limit. */
export interface BodyReadOptions {
  /** Codecs for compressed bodies. @default CodecRegistry.default (LZ4, ZSTD) */
  codecs?: CodecRegistry;
  /** Largest size a compressed buffer may declare decompressed (see ReadLimits). @default 2147483647 */
  maxBufferBytes?: number;
}

/** The buffers of a batch as views of `body`, decompressed when the batch is compressed. */
export function readBodyBuffers(h: RecordBatchHeader, body: Uint8Array, opts: BodyReadOptions = {}): Uint8Array[] {
  const out = new Array<Uint8Array>(h.buffers.length);
  const codec = h.compression ? (opts.codecs ?? CodecRegistry.default).get(h.compression) : null;
  const maxBuffer = codec === null ? 0 : limitOf(opts, 'maxBufferBytes');
  const memory = body.buffer;
  const start = body.byteOffset;
  for (let i = 0; i < h.buffers.length; i++) {
    const { offset, length } = h.buffers[i]!;
    if (offset + length > body.byteLength) {
      throw invalid(`buffer ${i} (${offset}+${length}) lies outside the ${body.byteLength}-byte body`);
    }
    if (length === 0) {
      out[i] = NO_BYTES; // (a third of a small batch's buffers: validity bitmaps of columns without nulls)
      continue;
    }
    if (codec === null) {
      // A plain view made directly (a subarray costs more, and of a Node Buffer makes a Buffer);
      // copied when misaligned (see aligned).
      const at = start + offset;
      out[i] = at % 8 === 0 ? new Uint8Array(memory, at, length) : new Uint8Array(new Uint8Array(memory, at, length));
      continue;
    }
    const raw = body.subarray(offset, offset + length);
    if (length < 8) throw invalid(`compressed buffer ${i} is shorter than its length prefix`);
    const view = new DataView(raw.buffer, raw.byteOffset, 8);
    const lo = view.getUint32(0, true);
    const hi = view.getInt32(4, true);
    if (hi === -1 && lo === 0xffffffff) {
      out[i] = aligned(raw.subarray(8)); // stored uncompressed: the writer found it did not compress
      continue;
    }
    if (hi < 0) throw invalid(`compressed buffer ${i} declares a negative length`);
    const declared = hi * 0x100000000 + lo;
    checkLimit('maxBufferBytes', maxBuffer, declared, `compressed buffer ${i}, decompressed bytes`);
    let plain: Uint8Array;
    try {
      plain = codec.decompress(raw.subarray(8), declared);
    } catch (cause) {
      if (cause instanceof QuiverError) throw cause;
      throw new QuiverError(ErrorCode.DECOMPRESSION_FAILED, `buffer ${i} did not decompress with ${codec.name}`, { cause });
    }
    if (plain.byteLength !== declared) {
      throw new QuiverError(ErrorCode.DECOMPRESSION_FAILED, `buffer ${i} decompressed to ${plain.byteLength} bytes, ${declared} were declared`);
    }
    out[i] = aligned(plain);
  }
  return out;
}

/**
 * `b` itself when it starts 8-aligned, else a copy that does. apache-arrow builds typed arrays
 * over the bytes as they are and cannot view an Int32Array or Float64Array at an odd offset, so
 * input that arrives misaligned (a Uint8Array at byteOffset 1, a legacy 4-byte prefix) is copied.
 */
function aligned(b: Uint8Array): Uint8Array {
  return b.byteOffset % 8 === 0 ? b : new Uint8Array(b); // a copy (a Node Buffer's slice() would be a view)
}

/** How {@link writeBodyBuffers} lays out a body. */
export interface BodyWriteOptions {
  /** Compress each buffer with this codec. @default null (none) */
  compression?: CompressionCodec | null;
  /** Codec level, for codecs that have levels. @default the codec's default */
  level?: number;
  /** Where codecs come from. @default CodecRegistry.default */
  codecs?: CodecRegistry;
}

/** A body laid out by {@link writeBodyBuffers}. */
export interface EncodedBody {
  /** Where each buffer lies in the body, for the message's metadata. */
  regions: BufferRegion[];
  /** The body as a gather list: buffers and zero padding, in order. */
  parts: Uint8Array[];
  /** Total bytes (a multiple of 8). */
  byteLength: number;
}

/** Lays buffers out as a body, compressing each when asked. Never concatenates. */
export function writeBodyBuffers(buffers: Uint8Array[], opts: BodyWriteOptions = {}): EncodedBody {
  const codec = opts.compression ? (opts.codecs ?? CodecRegistry.default).get(opts.compression) : null;
  if (codec && opts.level !== undefined && !codec.supportsLevel) {
    throw new QuiverError(ErrorCode.INVALID_ARGUMENT, `the ${codec.name} codec takes no compression level`);
  }
  const regions: BufferRegion[] = new Array(buffers.length);
  const parts: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < buffers.length; i++) {
    const buf = buffers[i]!;
    let len = buf.byteLength;
    if (codec && len > 0) {
      const packed = codec.compress(buf, opts.level);
      const prefix = new Uint8Array(8);
      const view = new DataView(prefix.buffer);
      if (packed.byteLength < len) {
        view.setUint32(0, len >>> 0, true);
        view.setUint32(4, Math.floor(len / 0x100000000), true);
        parts.push(prefix, packed);
        len = 8 + packed.byteLength;
      } else {
        // As Arrow C++ does: a buffer that does not shrink is stored raw, marked by length -1.
        view.setInt32(0, -1, true);
        view.setInt32(4, -1, true);
        parts.push(prefix, buf);
        len = 8 + len;
      }
    } else if (len > 0) {
      parts.push(buf);
    }
    regions[i] = { offset: at, length: len };
    const padded = align8(len);
    if (padded > len) parts.push(PADS[padded - len]!);
    at += padded;
  }
  return { regions, parts, byteLength: at };
}
