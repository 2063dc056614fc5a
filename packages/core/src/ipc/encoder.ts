/**
 * Encoding Arrow IPC: schema, dictionaries, record batches and the end, as gather lists
 * ({@link EncodedMessage}) a transport or sink writes without concatenating. One encoder serves
 * both forms: a stream, or a file (magic, the same messages, a footer indexing them).
 */
import * as A from 'apache-arrow';
import { ErrorCode, QuiverError, badArgument } from '../errors.js';
import { encodeFooter, type Block } from '../format/footer.js';
import type { CompressionCodec, FieldNode, Message } from '../format/message.js';
import { MetadataVersion, type Schema } from '../format/types.js';
import { assembleColumns, type ColumnTypes } from '../arrow/assemble.js';
import { fromArrowSchema } from '../arrow/schema.js';
import type { CodecRegistry } from '../compression/registry.js';
import { flatPlan } from '../arrow/load.js';
import { writeBodyBuffers } from './body.js';
import { encodeFlatBatch, flatEncoding, type FlatEncoding } from './flat-encode.js';
import { ARROW_MAGIC, EOS, frameMessage, type EncodedMessage } from './framing.js';

/** How messages are encoded: compression, dictionary deltas, footer metadata. */
export interface EncoderOptions {
  /** Body compression. @default null (none) */
  compression?: CompressionCodec | null;
  /** Codec level where the codec has levels (zstd: 1-22). @default the codec's own default */
  level?: number;
  /** Where codecs come from. @default CodecRegistry.default (lz4 and zstd) */
  codecs?: CodecRegistry;
  /**
   * Send a grown dictionary as a delta (only the new entries) rather than in full. Deltas are
   * recognised when the new dictionary starts with the previous one's data chunks.
   * @default false (as pyarrow's emit_dictionary_deltas)
   */
  dictionaryDeltas?: boolean;
  /** Key/value metadata stored in a file's footer. @default none */
  footerMetadata?: Map<string, string>;
}

/** The two IPC forms: a stream (read front to back), or a file (magic, messages, footer; random access). */
export type IpcForm = 'stream' | 'file';

const RECORD_BATCH = { type: 'recordBatch' } as const;

/**
 * The flat encodings of schemas already seen: working one out costs four times as much as
 * making an encoder otherwise, and an encoder is often made per stream (per connection, per file)
 * of the same schema.
 */
const flatEncodings = new WeakMap<A.Schema, FlatEncoding | null>();

function flatEncodingOf(schema: A.Schema, ours: Schema): FlatEncoding | null {
  let e = flatEncodings.get(schema);
  if (e === undefined) {
    const plan = flatPlan(ours.fields, schema.fields);
    flatEncodings.set(schema, (e = plan === null ? null : flatEncoding(plan)));
  }
  return e;
}

function raw(bytes: Uint8Array): EncodedMessage {
  return { buffers: [bytes], byteLength: bytes.byteLength, metadataLength: 0, bodyLength: 0 };
}

/** Message-level encoder: takes schemas and buffer lists, so it works for every Arrow type. */
export class IpcEncoder {
  private started = false;
  private finished = false;
  private position = 0;
  private batchCount = 0;
  // Only a file's footer needs the blocks; a stream does not keep one per message it sends.
  private readonly dictionaryBlocks: Block[] = [];
  private readonly batchBlocks: Block[] = [];

  /** An encoder for `schema`; ERR_QUIVER_INVALID_ARGUMENT for a `level` without a `compression`. */
  constructor(
    /** The schema, in Quiver's model (any Arrow type). */
    readonly schema: Schema,
    /** Stream or file. */
    readonly form: IpcForm = 'stream',
    /** The options it was made with. */
    readonly options: EncoderOptions = {},
  ) {
    if (options.level !== undefined && !options.compression) throw badArgument('a compression level needs a compression');
  }

  /** The start: (for a file) the magic, then the schema message. Implied by the first write. */
  start(): EncodedMessage[] {
    if (this.started) return [];
    this.started = true;
    const out: EncodedMessage[] = [];
    if (this.form === 'file') out.push(this.track(raw(FILE_HEAD)));
    const message: Message = { version: MetadataVersion.V5, header: { type: 'schema', schema: this.schema }, bodyLength: 0, metadata: new Map() };
    out.push({ ...this.track(frameMessage(message, [])), kind: 'schema' });
    return out;
  }

  /**
   * A record batch or dictionary batch from its field nodes and (uncompressed) buffers,
   * compressed as the encoder is configured.
   */
  batchMessage(
    kind: { type: 'recordBatch' } | { type: 'dictionaryBatch'; id: number; isDelta: boolean },
    length: number,
    nodes: FieldNode[],
    buffers: Uint8Array[],
    variadicBufferCounts: number[] = [],
    metadata: Map<string, string> = new Map(),
  ): EncodedMessage[] {
    if (this.finished) throw new QuiverError(ErrorCode.CLOSED, 'the encoder has already finished');
    const out = this.start();
    const body = writeBodyBuffers(buffers, this.options);
    const batch = { length, nodes, buffers: body.regions, compression: this.options.compression ?? null, variadicBufferCounts };
    const header: Message['header'] = kind.type === 'recordBatch' ? { type: 'recordBatch', batch } : { ...kind, batch };
    const message: Message = { version: MetadataVersion.V5, header, bodyLength: body.byteLength, metadata };
    out.push(this.emitted(frameMessage(message, body.parts), kind));
    return out;
  }

  /**
   * A record batch message encoded by a schema's flat encoding (./flat-encode.ts), after
   * `start()`: counted, and indexed in a file's footer, as {@link batchMessage}'s are.
   * @internal RecordBatchEncoder's
   */
  flatRecordBatch(encoded: EncodedMessage): EncodedMessage {
    if (this.finished) throw new QuiverError(ErrorCode.CLOSED, 'the encoder has already finished');
    return this.emitted(encoded, RECORD_BATCH);
  }

  /** Bookkeeping of a batch message: its kind, the position, the count, a file's footer index. */
  private emitted(encoded: EncodedMessage, kind: { type: 'recordBatch' } | { type: 'dictionaryBatch'; id: number; isDelta: boolean }): EncodedMessage {
    const start = this.position;
    this.track(encoded);
    encoded.kind = kind.type;
    if (kind.type === 'dictionaryBatch') {
      encoded.dictionaryId = kind.id;
      encoded.isDelta = kind.isDelta;
    }
    if (kind.type === 'recordBatch') this.batchCount++;
    if (this.form === 'file') {
      const block = { offset: start, metaDataLength: encoded.metadataLength, bodyLength: encoded.bodyLength };
      (kind.type === 'recordBatch' ? this.batchBlocks : this.dictionaryBlocks).push(block);
    }
    return encoded;
  }

  /** The end: the end-of-stream marker, and for a file the footer, its size and the magic. */
  finish(): EncodedMessage[] {
    if (this.finished) return [];
    const out = this.start();
    this.finished = true;
    out.push(this.track(raw(EOS)));
    if (this.form === 'file') {
      const footer = encodeFooter({
        version: MetadataVersion.V5,
        schema: this.schema,
        dictionaries: this.dictionaryBlocks,
        recordBatches: this.batchBlocks,
        metadata: this.options.footerMetadata ?? new Map(),
      });
      const tail = new Uint8Array(10);
      new DataView(tail.buffer).setInt32(0, footer.byteLength, true);
      tail.set(ARROW_MAGIC, 4);
      out.push(this.track({ buffers: [footer, tail], byteLength: footer.byteLength + 10, metadataLength: 0, bodyLength: 0 }));
    }
    return out;
  }

  /** Bytes emitted so far. */
  get byteLength(): number {
    return this.position;
  }

  /** Record batches emitted so far. */
  get recordBatchCount(): number {
    return this.batchCount;
  }

  private track(m: EncodedMessage): EncodedMessage {
    this.position += m.byteLength;
    return m;
  }
}

/** "ARROW1" and two bytes of padding, so the first message starts 8-aligned. */
const FILE_HEAD = new Uint8Array([...ARROW_MAGIC, 0, 0]);

/**
 * Arrow-level encoder: apache-arrow RecordBatches and Tables in, messages out. Sends each
 * dictionary before the first batch that uses it, and again (in full, or as a delta) when a
 * batch carries a different one.
 */
export class RecordBatchEncoder {
  /** The message-level encoder underneath (its `byteLength`, `recordBatchCount`). */
  readonly ipc: IpcEncoder;
  private readonly sent = new Map<number, A.Vector>();

  /** An encoder for batches of `schema`; ERR_QUIVER_INVALID_ARGUMENT for options it refuses. */
  constructor(
    /** Every batch written must have this schema (same names and types). */
    readonly schema: A.Schema,
    form: IpcForm = 'stream',
    options: EncoderOptions = {},
  ) {
    this.ipc = new IpcEncoder(fromArrowSchema(schema), form, options);
    const dictionaryEncoded = (t: A.DataType): boolean => A.DataType.isDictionary(t) || (t.children ?? []).some((c) => dictionaryEncoded(c.type));
    this.hasDictionaries = schema.fields.some((f) => dictionaryEncoded(f.type));
    const types = schema.fields.map((f) => f.type);
    this.columnTypes = { types, typeIds: types.map((t) => t.typeId) };
    this.flat = options.compression ? null : flatEncodingOf(schema, this.ipc.schema);
  }

  /** How batches are encoded when every column is flat and the body is not compressed (./flat-encode.ts). */
  private readonly flat: FlatEncoding | null;

  /** Each column's type id, read once here rather than from each batch's types. */
  private readonly columnTypes: ColumnTypes;
  /** The last schema found to match (another object with the same fields and types). */
  private matched: A.Schema | undefined;

  /** Whether any column (nested ones included) is dictionary-encoded: if not, batches carry no dictionaries to look for. */
  private readonly hasDictionaries: boolean;

  /** The start (file magic, schema message); implied by the first write. Empty once started. */
  start(): EncodedMessage[] {
    return this.ipc.start();
  }

  /**
   * Messages for one batch, or for every batch of a table: the dictionaries that changed, then
   * the batch. ERR_QUIVER_SCHEMA_MISMATCH for a batch of another schema;
   * ERR_QUIVER_DICTIONARY_REPLACEMENT for a changed dictionary in a file (unless it only grew and
   * `dictionaryDeltas` is on).
   */
  write(data: A.RecordBatch | A.Table): EncodedMessage[] {
    if (data instanceof A.Table) return data.batches.flatMap((b) => this.write(b));
    this.checkSchema(data.schema);
    const out = this.ipc.start();
    const columns = data.data.children;
    if (this.flat !== null && data.metadata.size === 0) {
      const m = encodeFlatBatch(this.flat, columns, data.numRows);
      if (m !== null) {
        out.push(this.ipc.flatRecordBatch(m));
        return out;
      }
    }
    if (this.hasDictionaries) this.dictionaries(columns, out);
    const a = assembleColumns(columns, this.columnTypes);
    out.push(...this.ipc.batchMessage({ type: 'recordBatch' }, data.numRows, a.nodes, a.buffers, a.variadicBufferCounts, data.metadata));
    return out;
  }

  /** The end: end-of-stream marker (and a file's footer). Empty once finished. */
  finish(): EncodedMessage[] {
    return this.ipc.finish();
  }

  private checkSchema(s: A.Schema): void {
    // (apache-arrow's schemas and types are immutable: one found to match still does.)
    if (s === this.schema || s === this.matched) return;
    const same =
      s.fields.length === this.schema.fields.length &&
      s.fields.every((f, i) => {
        const g = this.schema.fields[i]!;
        return f.name === g.name && A.util.compareTypes(f.type, g.type);
      });
    if (!same) throw new QuiverError(ErrorCode.SCHEMA_MISMATCH, "the batch's schema differs from the writer's");
    this.matched = s;
  }

  /** Emits the dictionaries `columns` use that differ from what was last sent. Nested first. */
  private dictionaries(columns: readonly A.Data[], out: EncodedMessage[]): void {
    const visit = (d: A.Data): void => {
      if (A.DataType.isDictionary(d.type) && d.dictionary) {
        const dict = d.dictionary;
        for (const chunk of dict.data) visit(chunk); // dictionaries of the dictionary's values
        this.sendDictionary(d.type.id, dict, out);
      }
      for (const c of d.children) visit(c);
    };
    columns.forEach(visit);
  }

  private sendDictionary(id: number, dict: A.Vector, out: EncodedMessage[]): void {
    const prev = this.sent.get(id);
    if (prev === dict) return;
    let chunks: readonly A.Data[] = dict.data;
    let isDelta = false;
    if (prev) {
      const p = prev.data;
      const same = p.length === chunks.length && p.every((c, i) => c === chunks[i]);
      if (same) return;
      const extends_ = p.length < chunks.length && p.every((c, i) => c === chunks[i]);
      if (extends_ && this.ipc.options.dictionaryDeltas) {
        chunks = chunks.slice(p.length);
        isDelta = true;
      } else if (this.ipc.form === 'file') {
        throw new QuiverError(
          ErrorCode.DICTIONARY_REPLACEMENT,
          `dictionary ${id} changed; the file format cannot replace a dictionary (enable dictionaryDeltas for grown dictionaries, or write a stream)`,
        );
      }
    }
    if (!isDelta && chunks.length > 1 && !this.ipc.options.dictionaryDeltas) {
      // A dictionary held in several chunks, to be sent in full as one message: join its values
      // into one chunk (dictionaries are small next to the data they encode).
      chunks = A.vectorFromArray([...dict], dict.type).data;
    }
    // With deltas allowed, a dictionary held in several chunks goes out as its first chunk plus
    // deltas (no copy).
    chunks.forEach((chunk, i) => {
      const a = assembleColumns([chunk]);
      out.push(...this.ipc.batchMessage({ type: 'dictionaryBatch', id, isDelta: isDelta || i > 0 }, chunk.length, a.nodes, a.buffers, a.variadicBufferCounts));
    });
    this.sent.set(id, dict);
  }
}
