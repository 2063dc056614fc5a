/**
 * Message.fbs <-> {@link Message}: the metadata of one IPC message (schema, record batch or
 * dictionary batch). Only metadata lives here; bodies are handled by ../ipc/body.ts.
 */
import { Builder } from 'flatbuffers';
import { ErrorCode, invalid, QuiverError } from '../errors.js';
import { FbTable, rootTable, safeInt64 } from '../flatbuf/reader.js';
import { addFieldInt64, addInt64, writeInt64 } from '../flatbuf/writer.js';
import { readKeyValues, readSchema, writeKeyValues, writeSchema, type SchemaLimits } from './schema.js';
import { MetadataVersion, type Schema } from './types.js';

/** One array of a record batch, in depth-first order of the fields (Message.fbs `FieldNode`). */
export interface FieldNode {
  /** Number of values. */
  length: number;
  /** Number of nulls among them. */
  nullCount: number;
}

/** Where one buffer lies in a message body (Message.fbs `Buffer`). */
export interface BufferRegion {
  /** Byte offset from the start of the body. */
  offset: number;
  /** Byte length (of the compressed form, when the batch is compressed). */
  length: number;
}

/** Body compression codecs of the format (Message.fbs CompressionType). */
export type CompressionCodec = 'lz4' | 'zstd';

/** The metadata of a record batch or dictionary batch: how to find its arrays in the body. */
export interface RecordBatchHeader {
  /** Number of rows. */
  length: number;
  /** One node per array, depth first. */
  nodes: FieldNode[];
  /** Every buffer of every array, in order. */
  buffers: BufferRegion[];
  /** The body compression, or null when the buffers are stored raw. */
  compression: CompressionCodec | null;
  /** For view types (string-view, binary-view): the number of variadic data buffers of each such array. */
  variadicBufferCounts: number[];
}

/** What a message carries: a schema, a record batch, or a (possibly delta) dictionary batch. */
export type MessageHeader =
  | { type: 'schema'; schema: Schema }
  | { type: 'recordBatch'; batch: RecordBatchHeader }
  | { type: 'dictionaryBatch'; id: number; isDelta: boolean; batch: RecordBatchHeader };

/** One decoded IPC message's metadata (Message.fbs `Message`). */
export interface Message {
  /** The metadata version ({@link MetadataVersion}); Quiver reads V4 and V5, writes V5. */
  version: number;
  /** What the message is. */
  header: MessageHeader;
  /** Bytes of body that follow the metadata (a multiple of 8). */
  bodyLength: number;
  /** Message-level custom metadata (where pyarrow puts a record batch's metadata). */
  metadata: Map<string, string>;
}

const HEADER = { Schema: 1, DictionaryBatch: 2, RecordBatch: 3, Tensor: 4, SparseTensor: 5 } as const;

/** Decodes a Message flatbuffer. */
export function decodeMessage(bytes: Uint8Array, limits?: SchemaLimits): Message {
  const t = rootTable(bytes, 'message');
  const version = t.int16(0, 0);
  if (version < MetadataVersion.V4 || version > MetadataVersion.V5) {
    throw new QuiverError(ErrorCode.UNSUPPORTED, `metadata version V${version + 1} is not supported (V4 and V5 are)`);
  }
  const tag = t.uint8(1, 0);
  const bodyLength = t.int64(3, 0);
  if (bodyLength < 0) throw invalid(`message body length ${bodyLength} is negative`);
  const metadata = readKeyValues(t.tables(4, 'key-value'));
  const h = t.table(2, 'message header');
  if (h === null) throw invalid('message has no header');
  let header: MessageHeader;
  switch (tag) {
    case HEADER.Schema:
      header = { type: 'schema', schema: readSchema(h, limits) };
      break;
    case HEADER.RecordBatch:
      header = { type: 'recordBatch', batch: readRecordBatch(h) };
      break;
    case HEADER.DictionaryBatch: {
      const data = h.table(1, 'dictionary data');
      if (data === null) throw invalid('dictionary batch has no data');
      header = { type: 'dictionaryBatch', id: h.int64(0, 0), isDelta: h.bool(2, false), batch: readRecordBatch(data) };
      break;
    }
    case HEADER.Tensor:
    case HEADER.SparseTensor:
      throw new QuiverError(ErrorCode.UNSUPPORTED, 'tensor messages are not supported');
    default:
      throw invalid(`unknown message header type ${tag}`);
  }
  return { version, header, bodyLength, metadata };
}

function readRecordBatch(t: FbTable): RecordBatchHeader {
  const length = t.int64(0, 0);
  if (length < 0) throw invalid(`record batch length ${length} is negative`);
  // (Both arrays made at their size: grown by push, each would be reallocated on the way.)
  const nv = t.vector(1, 16);
  const nodes = new Array<FieldNode>(nv ? nv.length : 0);
  for (let i = 0; i < nodes.length; i++) {
    const at = nv!.start + 16 * i;
    const n = { length: safeInt64(t.view, at, 'field node'), nullCount: safeInt64(t.view, at + 8, 'field node') };
    if (n.length < 0 || n.nullCount < 0 || n.nullCount > n.length) throw invalid(`field node ${i} has length ${n.length} and null count ${n.nullCount}`);
    nodes[i] = n;
  }
  const bv = t.vector(2, 16);
  const buffers = new Array<BufferRegion>(bv ? bv.length : 0);
  for (let i = 0; i < buffers.length; i++) {
    const at = bv!.start + 16 * i;
    const b = { offset: safeInt64(t.view, at, 'buffer'), length: safeInt64(t.view, at + 8, 'buffer') };
    if (b.offset < 0 || b.length < 0) throw invalid(`buffer ${i} has offset ${b.offset} and length ${b.length}`);
    buffers[i] = b;
  }
  let compression: CompressionCodec | null = null;
  const c = t.table(3, 'body compression');
  if (c) {
    const codec = c.uint8(0, 0);
    if (codec !== 0 && codec !== 1) throw invalid(`unknown compression codec ${codec}`);
    if (c.uint8(1, 0) !== 0) throw new QuiverError(ErrorCode.UNSUPPORTED, 'only BUFFER body compression is defined');
    compression = codec === 0 ? 'lz4' : 'zstd';
  }
  const variadicBufferCounts: number[] = [];
  const vv = t.vector(4, 8);
  if (vv) {
    for (let i = 0; i < vv.length; i++) {
      const n = safeInt64(t.view, vv.start + 8 * i, 'variadic buffer count');
      if (n < 0) throw invalid('negative variadic buffer count');
      variadicBufferCounts.push(n);
    }
  }
  return { length, nodes, buffers, compression, variadicBufferCounts };
}

// ---- writing -------------------------------------------------------------------------------

function writeRecordBatch(b: Builder, h: RecordBatchHeader): number {
  // Vectors of structs are written back to front (flatbuffers builds downwards).
  b.startVector(16, h.nodes.length, 8);
  for (let i = h.nodes.length - 1; i >= 0; i--) {
    writeInt64(b, h.nodes[i]!.nullCount);
    writeInt64(b, h.nodes[i]!.length);
  }
  const nodes = b.endVector();
  b.startVector(16, h.buffers.length, 8);
  for (let i = h.buffers.length - 1; i >= 0; i--) {
    writeInt64(b, h.buffers[i]!.length);
    writeInt64(b, h.buffers[i]!.offset);
  }
  const buffers = b.endVector();
  let variadic = 0;
  if (h.variadicBufferCounts.length > 0) {
    b.startVector(8, h.variadicBufferCounts.length, 8);
    for (let i = h.variadicBufferCounts.length - 1; i >= 0; i--) addInt64(b, h.variadicBufferCounts[i]!);
    variadic = b.endVector();
  }
  let compression = 0;
  if (h.compression) {
    b.startObject(2);
    // forceDefaults is off, so LZ4_FRAME (0) would be omitted; that still reads back as LZ4.
    b.addFieldInt8(0, h.compression === 'lz4' ? 0 : 1, 0);
    b.addFieldInt8(1, 0, 0);
    compression = b.endObject();
  }
  b.startObject(5);
  addFieldInt64(b, 0, h.length, 0);
  b.addFieldOffset(1, nodes, 0);
  b.addFieldOffset(2, buffers, 0);
  if (compression) b.addFieldOffset(3, compression, 0);
  if (variadic) b.addFieldOffset(4, variadic, 0);
  return b.endObject();
}

/**
 * Where {@link writeRecordBatchMessageAt} puts the numbers of a record batch message that change
 * from batch to batch (from the start of the flatbuffer; the layout is in its documentation).
 */
export const DIRECT_AT = {
  bodyLength: 32,
  length: 72,
  /** The first node's length; its null count 8 after, the next node 16 after. */
  nodes: 104,
  /** The first buffer's offset, after `nodes` nodes; its length 8 after, the next buffer 16 after. */
  buffers: (nodes: number): number => 104 + 16 * nodes + 8,
} as const;

/** Whether {@link writeRecordBatchMessageAt} can write `m` (a record batch without custom metadata). */
export function isDirectRecordBatch(m: Message): m is Message & { header: { type: 'recordBatch' } } {
  return m.header.type === 'recordBatch' && m.metadata.size === 0;
}

/** Bytes {@link writeRecordBatchMessageAt} writes for `h`. */
export function recordBatchMessageBytes(h: RecordBatchHeader): number {
  const nv = h.variadicBufferCounts.length;
  return 104 + 16 * h.nodes.length + 8 + 16 * h.buffers.length + 8 + (nv > 0 ? 8 * nv + 8 : 0) - 8 + (h.compression ? 16 : 0);
}

/**
 * A record batch message without custom metadata (nearly every message of a stream), written
 * field by field at fixed places instead of through the Builder, whose bookkeeping (a vtable
 * search and a call per field, a buffer grown downwards) cost as much as the rest of encoding a
 * small batch. The layout is a valid flatbuffer as the Builder would make it, except that
 * default values are written rather than left out, and every int64 is 8-aligned from the start
 * (as Arrow C++'s verifier checks):
 *
 *      0  uoffset to the Message table (24)
 *      4  Message vtable: 12 bytes (version, header_type, header, bodyLength)
 *     24  Message table: soffset, header uoffset, bodyLength, version, header_type
 *     44  RecordBatch vtable: 4 + 2 bytes per field (length, nodes, buffers[, compression[, variadic]])
 *     64  RecordBatch table: soffset, nodes, length, buffers, compression, variadicBufferCounts
 *     96  the nodes vector (a uint32 count at 100, structs of 16 bytes from 104), the buffers
 *         vector likewise, the variadic counts (int64s) if any, then the compression table.
 *
 * Written at `base` of `v` (8-aligned, and zero over the {@link recordBatchMessageBytes} it
 * takes, for the padding left unwritten).
 */
export function writeRecordBatchMessageAt(v: DataView, base: number, version: number, bodyLength: number, h: RecordBatchHeader): void {
  const nn = h.nodes.length;
  const nb = h.buffers.length;
  const nv = h.variadicBufferCounts.length;
  const fields = nv > 0 ? 5 : h.compression ? 4 : 3;
  const nodesAt = DIRECT_AT.nodes;
  const buffersAt = DIRECT_AT.buffers(nn);
  const variadicAt = buffersAt + 16 * nb + 8;
  const compressionAt = variadicAt + (nv > 0 ? 8 * nv + 8 : 0) - 8; // its vtable; the table 8 after
  const b = base;
  v.setUint32(b, 24, true);
  // Message: vtable at 4, table at 24.
  v.setUint16(b + 4, 12, true); // vtable bytes
  v.setUint16(b + 6, 20, true); // table bytes
  v.setUint16(b + 8, 16, true); // version
  v.setUint16(b + 10, 18, true); // header_type
  v.setUint16(b + 12, 4, true); // header
  v.setUint16(b + 14, 8, true); // bodyLength
  v.setInt32(b + 24, 24 - 4, true);
  v.setUint32(b + 28, 64 - 28, true);
  i64(v, b + DIRECT_AT.bodyLength, bodyLength);
  v.setInt16(b + 40, version, true);
  v.setUint8(b + 42, HEADER.RecordBatch);
  // RecordBatch: vtable at 44, table at 64.
  v.setUint16(b + 44, 4 + 2 * fields, true);
  v.setUint16(b + 46, 28, true);
  v.setUint16(b + 48, 8, true); // length
  v.setUint16(b + 50, 4, true); // nodes
  v.setUint16(b + 52, 16, true); // buffers
  if (fields > 3) v.setUint16(b + 54, h.compression ? 20 : 0, true);
  if (fields > 4) v.setUint16(b + 56, 24, true);
  v.setInt32(b + 64, 64 - 44, true);
  v.setUint32(b + 68, nodesAt - 4 - 68, true);
  i64(v, b + DIRECT_AT.length, h.length);
  v.setUint32(b + 80, buffersAt - 4 - 80, true);
  if (h.compression) v.setUint32(b + 84, compressionAt + 8 - 84, true);
  if (nv > 0) v.setUint32(b + 88, variadicAt - 4 - 88, true);
  v.setUint32(b + nodesAt - 4, nn, true);
  for (let i = 0; i < nn; i++) {
    const n = h.nodes[i]!;
    i64(v, b + nodesAt + 16 * i, n.length);
    i64(v, b + nodesAt + 16 * i + 8, n.nullCount);
  }
  v.setUint32(b + buffersAt - 4, nb, true);
  for (let i = 0; i < nb; i++) {
    const r = h.buffers[i]!;
    i64(v, b + buffersAt + 16 * i, r.offset);
    i64(v, b + buffersAt + 16 * i + 8, r.length);
  }
  if (nv > 0) {
    v.setUint32(b + variadicAt - 4, nv, true);
    for (let i = 0; i < nv; i++) i64(v, b + variadicAt + 8 * i, h.variadicBufferCounts[i]!);
  }
  if (h.compression) {
    // BodyCompression: vtable (codec, method) then the table; method BUFFER is 0.
    const c = b + compressionAt;
    v.setUint16(c, 8, true);
    v.setUint16(c + 2, 8, true);
    v.setUint16(c + 4, 4, true);
    v.setUint16(c + 6, 5, true);
    v.setInt32(c + 8, 8, true);
    v.setUint8(c + 12, h.compression === 'lz4' ? 0 : 1);
    v.setUint8(c + 13, 0);
  }
}

/** {@link writeRecordBatchMessageAt} into scratch memory, valid until the next call. */
function writeRecordBatchMessage(version: number, bodyLength: number, h: RecordBatchHeader): Uint8Array {
  const size = recordBatchMessageBytes(h);
  const bytes = directScratch(size);
  writeRecordBatchMessageAt(new DataView(bytes.buffer, bytes.byteOffset, size), 0, version, bodyLength, h);
  return bytes;
}

/** Writes a safe integer as an int64 (little-endian) at `at`. */
export function i64(v: DataView, at: number, x: number): void {
  v.setInt32(at, x | 0, true); // ToInt32 keeps the low 32 bits, also of negative values
  v.setInt32(at + 4, Math.floor(x / 0x100000000) | 0, true);
}

/** Scratch memory of {@link writeRecordBatchMessage}, zeroed where padding is left unwritten. */
let direct = new Uint8Array(1024);

function directScratch(n: number): Uint8Array {
  if (n > direct.byteLength) {
    if (n > SCRATCH_MAX_BYTES) return new Uint8Array(n);
    direct = new Uint8Array(Math.max(n, 2 * direct.byteLength));
  } else direct.fill(0, 0, n);
  return direct.subarray(0, n);
}

/** Encodes a Message flatbuffer (without the framing prefix). */
export function encodeMessage(m: Message): Uint8Array {
  return buildMessage(new Builder(256 + 32 * (m.header.type === 'schema' ? m.header.schema.fields.length : m.header.batch.buffers.length)), m);
}

/**
 * A Builder kept between {@link withEncodedMessage} calls: constructing one (its buffer, its
 * TextEncoder) cost more than encoding a record batch header into it. Module state, but only
 * scratch: encoding is synchronous, and the builder is taken out while in use.
 */
let scratch: Builder | null = null;
/** Builders that grew past this (huge schemas) are dropped rather than kept. */
const SCRATCH_MAX_BYTES = 1 << 16;

/**
 * Encodes `m` into a reused builder and hands its bytes to `use`; they are valid only during
 * the call (copy what must outlive it). What framing uses to encode without allocating.
 */
export function withEncodedMessage<T>(m: Message, use: (metadata: Uint8Array) => T): T {
  if (isDirectRecordBatch(m)) return use(writeRecordBatchMessage(m.version, m.bodyLength, m.header.batch));
  const b = scratch ?? new Builder(1024);
  scratch = null;
  b.clear();
  try {
    return use(buildMessage(b, m));
  } finally {
    if (b.dataBuffer().capacity() <= SCRATCH_MAX_BYTES) scratch = b;
  }
}

function buildMessage(b: Builder, m: Message): Uint8Array {
  let tag: number;
  let header: number;
  switch (m.header.type) {
    case 'schema':
      tag = HEADER.Schema;
      header = writeSchema(b, m.header.schema);
      break;
    case 'recordBatch':
      tag = HEADER.RecordBatch;
      header = writeRecordBatch(b, m.header.batch);
      break;
    case 'dictionaryBatch': {
      tag = HEADER.DictionaryBatch;
      const data = writeRecordBatch(b, m.header.batch);
      b.startObject(3);
      addFieldInt64(b, 0, m.header.id, 0);
      b.addFieldOffset(1, data, 0);
      b.addFieldInt8(2, m.header.isDelta ? 1 : 0, 0);
      header = b.endObject();
      break;
    }
  }
  const meta = writeKeyValues(b, m.metadata);
  b.startObject(5);
  b.addFieldInt16(0, m.version, 0);
  b.addFieldInt8(1, tag, 0);
  b.addFieldOffset(2, header, 0);
  addFieldInt64(b, 3, m.bodyLength, 0);
  if (meta) b.addFieldOffset(4, meta, 0);
  b.finish(b.endObject());
  return b.asUint8Array();
}
