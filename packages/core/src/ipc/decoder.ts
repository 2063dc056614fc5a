/**
 * Turns decoded messages into apache-arrow objects: keeps the schema and the dictionaries
 * (replacements and deltas) of one stream or file, and loads record batches as views.
 */
import * as A from 'apache-arrow';
import { ErrorCode, invalid, QuiverError } from '../errors.js';
import type { Message, RecordBatchHeader } from '../format/message.js';
import type { Field, Schema } from '../format/types.js';
import { toArrowField, toArrowSchema } from '../arrow/schema.js';
import { flatPlan, loadColumns, loadFlatBatch, loadRecordBatch, type DictionaryVectors, type FlatPlan } from '../arrow/load.js';
import { readBodyBuffers, type BodyReadOptions } from './body.js';
import { checkLimit, limitOf, type ReadLimits } from '../limits.js';

/** What a decoder takes: codecs, `maxBufferBytes`, and `maxDictionaryBytes`. */
export interface DecoderOptions extends BodyReadOptions, Pick<ReadLimits, 'maxDictionaryBytes'> {}

/** Every dictionary-encoded field of a schema by id, nested ones included, as its value field. */
export function dictionaryFields(schema: Schema): Map<number, Field> {
  const out = new Map<number, Field>();
  const walk = (f: Field) => {
    if (f.dictionary && !out.has(f.dictionary.id)) out.set(f.dictionary.id, { ...f, dictionary: null });
    f.children.forEach(walk);
  };
  schema.fields.forEach(walk);
  return out;
}

/**
 * Decodes the messages of one stream or file after its schema: applies dictionary batches
 * (replacements and deltas) and loads record batches as apache-arrow RecordBatches whose buffers
 * are views of the message bodies given.
 */
export class BatchDecoder {
  private arrowSchemaCache: A.Schema | undefined;
  /** How batches of a schema of flat columns load (null: another schema), once worked out. */
  private plan: FlatPlan | null | undefined;
  private readonly dictFields: Map<number, Field>;
  private readonly arrowDictFields = new Map<number, A.Field>();
  /** The current dictionary of each id. */
  readonly dictionaries: DictionaryVectors = new Map();
  /** Bytes each dictionary holds: its last full batch plus the deltas since. */
  private readonly dictionaryBytes = new Map<number, number>();
  private readonly maxDictionaryBytes: number;

  /** A decoder for `schema`, whose messages carry metadata `version`. */
  constructor(
    /** The stream's or file's schema. */
    readonly schema: Schema,
    /** Its metadata version (before V5, unions carry a validity buffer). */
    readonly version: number,
    private readonly opts: DecoderOptions = {},
  ) {
    // Values would be read in the wrong byte order. Message-level conversion and inspection
    // still handle such data byte for byte.
    if (schema.endianness === 'big') throw new QuiverError(ErrorCode.UNSUPPORTED, 'big-endian data cannot be decoded (convert and inspect still handle it as bytes)');
    this.dictFields = dictionaryFields(schema);
    this.maxDictionaryBytes = limitOf(opts, 'maxDictionaryBytes');
  }

  /** The schema in apache-arrow's model; ERR_QUIVER_UNSUPPORTED_TYPE if it cannot hold it. */
  get arrowSchema(): A.Schema {
    return (this.arrowSchemaCache ??= toArrowSchema(this.schema));
  }

  /** Applies a dictionary batch (a replacement, or a delta appended to the current one). */
  dictionary(id: number, isDelta: boolean, h: RecordBatchHeader, body: Uint8Array): void {
    const field = this.dictFields.get(id);
    if (!field) throw invalid(`dictionary batch for id ${id}, which no field of the schema uses`);
    let af = this.arrowDictFields.get(id);
    if (!af) this.arrowDictFields.set(id, (af = toArrowField(field)));
    const current = this.dictionaries.get(id);
    if (isDelta && !current) throw invalid(`delta for dictionary ${id} before any dictionary`);
    const buffers = readBodyBuffers(h, body, this.opts);
    // Counted before anything is kept: a delta that would take the dictionary over is refused.
    let bytes = isDelta ? this.dictionaryBytes.get(id)! : 0;
    for (const b of buffers) bytes += b.byteLength;
    checkLimit('maxDictionaryBytes', this.maxDictionaryBytes, bytes, `dictionary ${id} bytes`);
    const [data] = loadColumns([field], [af], h, buffers, this.dictionaries, this.version);
    const vector = A.makeVector(data!);
    this.dictionaries.set(id, isDelta ? current!.concat(vector) : vector);
    this.dictionaryBytes.set(id, bytes);
  }

  /** Loads a record batch message. */
  recordBatch(message: Message, body: Uint8Array): A.RecordBatch {
    if (message.header.type !== 'recordBatch') throw invalid(`expected a record batch, got a ${message.header.type} message`);
    const h = message.header.batch;
    const schema = this.arrowSchema;
    const plan = (this.plan ??= flatPlan(this.schema.fields, schema.fields));
    const flat = plan === null ? null : loadFlatBatch(plan, schema, h, body, message.metadata);
    if (flat !== null) return flat;
    const buffers = readBodyBuffers(h, body, this.opts);
    return loadRecordBatch(this.schema.fields, schema, h, buffers, this.dictionaries, this.version, message.metadata);
  }

  /** Applies a dictionary or loads a batch; returns the batch, or null for a dictionary. */
  apply(message: Message, body: Uint8Array): A.RecordBatch | null {
    const h = message.header;
    if (h.type === 'dictionaryBatch') {
      this.arrowSchema; // fail with UNSUPPORTED_TYPE before touching bodies of unsupported types
      this.dictionary(h.id, h.isDelta, h.batch, body);
      return null;
    }
    if (h.type === 'schema') throw invalid('a second schema message inside one stream');
    return this.recordBatch(message, body);
  }
}
