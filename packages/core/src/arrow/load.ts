/**
 * Buffers of a record batch -> apache-arrow Data, as views of the body (../ipc/body.ts has already
 * copied any buffer that was not 8-aligned). The mirror of ./assemble.ts.
 * Buffer sizes are checked against the lengths the batch declares, so a lying batch is an
 * InvalidDataError rather than a read past the end of a buffer.
 */
import * as A from 'apache-arrow';
import { invalid, QuiverError, UnsupportedTypeError } from '../errors.js';
import type { RecordBatchHeader } from '../format/message.js';
import { MetadataVersion, typeName, type ArrowType, type Field } from '../format/types.js';

export type DictionaryVectors = Map<number, A.Vector>;

const EMPTY = new Uint8Array(0);

class Cursor {
  node = 0;
  buffer = 0;
  variadic = 0;
  constructor(
    readonly h: RecordBatchHeader,
    readonly buffers: Uint8Array[],
    readonly dictionaries: DictionaryVectors,
    readonly version: number,
  ) {}
  nextNode(path: string): { length: number; nullCount: number } {
    const n = this.h.nodes[this.node++];
    if (!n) throw invalid(`record batch has too few field nodes (at '${path}')`);
    return n;
  }
  nextBuffer(path: string): Uint8Array {
    const b = this.buffers[this.buffer++];
    if (!b) throw invalid(`record batch has too few buffers (at '${path}')`);
    return b;
  }
  validity(path: string, length: number, nullCount: number): Uint8Array {
    const b = this.nextBuffer(path);
    if (nullCount === 0) return EMPTY;
    return need(b, Math.ceil(length / 8), path, 'validity');
  }
}

/** A typed array constructor, as apache-arrow's DataType.ArrayType and OffsetArrayType are. */
interface ViewCtor {
  new (length: number): ArrayBufferView;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): ArrayBufferView;
  readonly BYTES_PER_ELEMENT: number;
}

/**
 * What apache-arrow's toArrayBufferView makes of a Uint8Array: a view of the same memory as
 * `Ctor` (a RangeError if misaligned, as there), or an empty array for no bytes (for Uint8Array,
 * the shared {@link NO_BITS}; a plain Uint8Array is returned as it is).
 */
function view(Ctor: ViewCtor, b: Uint8Array): ArrayBufferView {
  if (Ctor === Uint8Array) {
    if (b.byteLength === 0) return NO_BITS;
    // A plain Uint8Array (not a Node Buffer, whose subclass apache-arrow's views would carry on) is kept as it is.
    return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  return b.byteLength <= 0 ? new Ctor(0) : new Ctor(b.buffer, b.byteOffset, b.byteLength / Ctor.BYTES_PER_ELEMENT);
}

/**
 * The empty validity bitmap of every column without nulls. Shared: it has no bytes to write,
 * and apache-arrow replaces (never grows) a bitmap too short for a setValid.
 */
const NO_BITS = new Uint8Array(0);

/**
 * makeData's result for the flat layouts (validity, optional offsets, values: every
 * fixed-width type, bool, binary and utf8), built directly. makeData's visitor dispatch cost
 * more than the rest of loading such a column; the Data is the same.
 */
function flatData(type: A.DataType, length: number, nullCount: number, nullBitmap: Uint8Array, values: Uint8Array, valueOffsets?: Int32Array | BigInt64Array): A.Data {
  const buffers = [valueOffsets, view(type.ArrayType as ViewCtor, values), view(Uint8Array, nullBitmap)];
  return new A.Data(type, 0, length, nullCount, buffers as never);
}

function need(b: Uint8Array, bytes: number, path: string, what: string): Uint8Array {
  if (b.byteLength < bytes) throw invalid(`'${path}': ${what} buffer has ${b.byteLength} bytes, needs ${bytes}`);
  return b;
}

function fixedWidth(t: ArrowType): number {
  switch (t.kind) {
    case 'int': return t.bitWidth / 8;
    case 'float': return { half: 2, single: 4, double: 8 }[t.precision];
    case 'decimal': return t.bitWidth / 8;
    case 'date': return t.unit === 'day' ? 4 : 8;
    case 'time': return t.bitWidth / 8;
    case 'timestamp':
    case 'duration': return 8;
    case 'interval': return { yearMonth: 4, dayTime: 8, monthDayNano: 16 }[t.unit];
    case 'fixedSizeBinary': return t.byteWidth;
    default: return 0;
  }
}

function loadField(f: Field, at: A.DataType, c: Cursor, path: string): A.Data {
  const { length, nullCount } = c.nextNode(path);
  if (f.dictionary) {
    const nullBitmap = c.validity(path, length, nullCount);
    const data = need(c.nextBuffer(path), length * (f.dictionary.indexType.bitWidth / 8), path, 'indices');
    const dictionary = c.dictionaries.get(f.dictionary.id);
    if (!dictionary) throw invalid(`'${path}': dictionary ${f.dictionary.id} was not sent before the batch using it`);
    return A.makeData({ type: at as A.Dictionary, length, nullCount, nullBitmap, data, dictionary });
  }
  const t = f.type;
  switch (t.kind) {
    case 'null':
      return A.makeData({ type: at as A.Null, length });
    case 'bool': {
      const nullBitmap = c.validity(path, length, nullCount);
      const data = need(c.nextBuffer(path), Math.ceil(length / 8), path, 'data');
      return flatData(at, length, nullCount, nullBitmap, data);
    }
    case 'binary':
    case 'utf8':
    case 'largeBinary':
    case 'largeUtf8': {
      const wide = t.kind === 'largeBinary' || t.kind === 'largeUtf8';
      const nullBitmap = c.validity(path, length, nullCount);
      const valueOffsets = view(wide ? BigInt64Array : Int32Array, offsets(c.nextBuffer(path), length, wide, path)) as Int32Array | BigInt64Array;
      const data = c.nextBuffer(path);
      checkOffsetRange(valueOffsets, length, data.byteLength, path);
      return flatData(at, length, nullCount, nullBitmap, data, valueOffsets);
    }
    case 'binaryView':
    case 'utf8View': {
      const nullBitmap = c.validity(path, length, nullCount);
      const views = need(c.nextBuffer(path), length * 16, path, 'views');
      const count = c.h.variadicBufferCounts[c.variadic++];
      if (count === undefined) throw invalid(`'${path}': missing variadic buffer count`);
      const variadicBuffers: Uint8Array[] = [];
      for (let i = 0; i < count; i++) variadicBuffers.push(c.nextBuffer(path));
      return A.makeData({ type: at, length, nullCount, nullBitmap, views, variadicBuffers } as never);
    }
    case 'list':
    case 'largeList':
    case 'map': {
      const wide = t.kind === 'largeList';
      const nullBitmap = c.validity(path, length, nullCount);
      const valueOffsets = view(wide ? BigInt64Array : Int32Array, offsets(c.nextBuffer(path), length, wide, path)) as Int32Array | BigInt64Array;
      const [child] = kids(f, at, c, path, 1);
      checkOffsetRange(valueOffsets, length, child!.length, path);
      return A.makeData({ type: at, length, nullCount, nullBitmap, valueOffsets, child } as never);
    }
    case 'fixedSizeList': {
      const nullBitmap = c.validity(path, length, nullCount);
      const [child] = kids(f, at, c, path, 1);
      if (child!.length < length * t.listSize) throw invalid(`'${path}': fixed-size list child is too short`);
      return A.makeData({ type: at as A.FixedSizeList, length, nullCount, nullBitmap, child: child! });
    }
    case 'struct': {
      const nullBitmap = c.validity(path, length, nullCount);
      const children = kids(f, at, c, path, f.children.length);
      for (const ch of children) if (ch.length < length) throw invalid(`'${path}': struct child is shorter than the struct`);
      return A.makeData({ type: at as A.Struct, length, nullCount, nullBitmap, children });
    }
    case 'union': {
      if (c.version < MetadataVersion.V5) c.nextBuffer(path); // V4 unions had a validity buffer
      const typeIds = need(c.nextBuffer(path), length, path, 'type ids');
      const valueOffsets = t.mode === 'dense' ? need(c.nextBuffer(path), length * 4, path, 'offsets') : undefined;
      const children = kids(f, at, c, path, f.children.length);
      return A.makeData({ type: at, length, nullCount, typeIds, valueOffsets, children } as never);
    }
    case 'listView':
    case 'largeListView':
    case 'runEndEncoded':
      throw new UnsupportedTypeError(typeName(t), path);
    default: {
      const width = fixedWidth(t);
      const nullBitmap = c.validity(path, length, nullCount);
      const data = need(c.nextBuffer(path), length * width, path, 'data');
      return flatData(at, length, nullCount, nullBitmap, data);
    }
  }
}

/** The first `n` children of a nested field. */
function kids(f: Field, at: A.DataType, c: Cursor, path: string, n: number): A.Data[] {
  return f.children.slice(0, n).map((cf, i) => loadField(cf, at.children[i]!.type, c, `${path}.${cf.name}`));
}

function offsets(b: Uint8Array, length: number, wide: boolean, path: string): Uint8Array {
  return length === 0 ? b : need(b, (length + 1) * (wide ? 8 : 4), path, 'offsets');
}

/** The first and last of `length` + 1 offsets lie within [0, `limit`], in order. */
function checkOffsetRange(o: Int32Array | BigInt64Array, length: number, limit: number, path: string): void {
  if (length === 0) return;
  const first = Number(o[0]!);
  const last = Number(o[length]!);
  if (first < 0 || last < first || last > limit) throw invalid(`'${path}': offsets ${first}..${last} exceed the ${limit} values present`);
}

/**
 * Builds the columns of one record batch. `fields` and `arrowFields` describe the same columns
 * in the two models; dictionaries must already hold every id the columns use.
 */
export function loadColumns(
  fields: Field[],
  arrowFields: A.Field[],
  h: RecordBatchHeader,
  buffers: Uint8Array[],
  dictionaries: DictionaryVectors,
  version: number,
): A.Data[] {
  const c = new Cursor(h, buffers, dictionaries, version);
  try {
    const out = fields.map((f, i) => loadField(f, arrowFields[i]!.type, c, f.name));
    // A column must be exactly as long as its batch (as Arrow C++ RecordBatch::Validate): apache-arrow
    // would "fix" a longer one by backfilling a validity bitmap sized for the shorter length.
    for (const d of out) if (d.length !== h.length) throw invalid(`a column has ${d.length} rows, its batch ${h.length}`);
    return out;
  } catch (e) {
    if (e instanceof QuiverError) throw e;
    // apache-arrow validates some shapes itself (typed array lengths); report those as bad input.
    throw invalid(`record batch does not match its schema: ${(e as Error).message}`, e);
  }
}

/** The own fields of a Data its constructor makes when given every buffer, in its order (apache-arrow 21). */
const DATA_FIELDS = 'type,children,dictionary,offset,length,_nullCount,stride,valueOffsets,values,nullBitmap,typeIds,variadicBuffers';

/**
 * Whether apache-arrow's Data constructor stores exactly {@link DATA_FIELDS}. Checked once, so
 * that {@link newData} is used only while that holds (else the constructor is).
 */
const PLAIN_DATA = (() => {
  const b = new Uint8Array(0);
  return Object.keys(new A.Data(new A.Int32(), 0, 0, 0, [b, b, b, b] as never)).join() === DATA_FIELDS;
})();

/**
 * What `new A.Data(type, 0, length, nullCount, [valueOffsets, values, nullBitmap], children)`
 * makes, for a type of stride `stride`, built as one object shape: every field is stored, the
 * absent buffers as undefined (the constructor leaves them out, so Data of different layouts
 * differ in shape, and every read of a Data's fields, ours, apache-arrow's and the user's, sees
 * several shapes). It also skips the constructor's per-call work (the stride's type switch, the
 * argument clamps): about 60 ns a Data against 13.
 */
function dataOfOneShape(
  this: Record<string, unknown>,
  type: A.DataType,
  length: number,
  nullCount: number,
  valueOffsets: ArrayBufferView | undefined,
  values: ArrayBufferView | undefined,
  nullBitmap: Uint8Array,
  stride: number,
  children: A.Data[],
): void {
  this.type = type;
  this.children = children;
  this.dictionary = undefined;
  this.offset = 0;
  this.length = length;
  this._nullCount = nullCount;
  this.stride = stride;
  this.valueOffsets = valueOffsets;
  this.values = values;
  this.nullBitmap = nullBitmap;
  this.typeIds = undefined;
  this.variadicBuffers = [];
}
dataOfOneShape.prototype = A.Data.prototype;
/** `new DataOfOneShape(...)`: an A.Data (its prototype), see {@link dataOfOneShape}. */
const DataOfOneShape = dataOfOneShape as unknown as new (...args: Parameters<typeof dataOfOneShape>) => A.Data;

// ---- flat plans --------------------------------------------------------------------------------

/** The layouts of a {@link FlatColumn}. */
export const FIXED = 0;
export const BOOL = 1;
export const VAR = 2;
export const LARGE_VAR = 3;

/** How one column of a {@link FlatPlan} is laid out, worked out once per schema. */
export interface FlatColumn {
  type: A.DataType;
  /** FIXED, BOOL, VAR (int32 offsets) or LARGE_VAR (int64 offsets). */
  layout: number;
  /** Bytes per value (FIXED). */
  width: number;
  /** The values' typed array (FIXED), as apache-arrow's `type.ArrayType`. */
  Values: ViewCtor;
  /** What the Data constructor would work out for the type. */
  stride: number;
}

/**
 * The loading of one schema's record batches when every column is flat (fixed-width, bool,
 * binary or utf8, large or not; no dictionary, no children): each column's layout is worked out
 * once, and each batch's columns are made straight from the body (see {@link loadFlatBatch}).
 */
export interface FlatPlan {
  readonly columns: readonly FlatColumn[];
  /** Buffers a batch of the schema has. */
  readonly buffers: number;
}

/** The flat plan of a schema, or null when some column is not flat (or apache-arrow changed shape). */
export function flatPlan(fields: readonly Field[], arrowFields: readonly A.Field[]): FlatPlan | null {
  if (!PLAIN_DATA || !PLAIN_BATCH || fields.length !== arrowFields.length) return null;
  const columns: FlatColumn[] = [];
  let buffers = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const type = arrowFields[i]!.type;
    if (f.dictionary || f.children.length > 0) return null;
    const t = f.type;
    const layout = t.kind === 'bool' ? BOOL : t.kind === 'binary' || t.kind === 'utf8' ? VAR : t.kind === 'largeBinary' || t.kind === 'largeUtf8' ? LARGE_VAR : FIXED;
    const width = layout === FIXED ? fixedWidth(t) : 0;
    if (layout === FIXED && width === 0) return null;
    const stride = new A.Data(type, 0, 0, 0, [] as never).stride;
    columns.push({ type, layout, width, Values: (layout === FIXED ? type.ArrayType : Uint8Array) as ViewCtor, stride });
    buffers += layout === VAR || layout === LARGE_VAR ? 3 : 2;
  }
  return { columns, buffers };
}

/**
 * `n` bytes of `memory` at `at` as a `Ctor` view, as {@link view} makes of the Uint8Array
 * readBodyBuffers gives for them (copied when not 8-aligned; empty for no bytes).
 */
function viewAt(Ctor: ViewCtor, memory: ArrayBufferLike, at: number, n: number): ArrayBufferView {
  if (n === 0) return Ctor === Uint8Array ? NO_BITS : new Ctor(0);
  if (at % 8 === 0) return new Ctor(memory, at, n / Ctor.BYTES_PER_ELEMENT);
  const copy = new Uint8Array(new Uint8Array(memory, at, n));
  return Ctor === Uint8Array ? copy : new Ctor(copy.buffer, 0, n / Ctor.BYTES_PER_ELEMENT);
}

/**
 * A record batch of an uncompressed body by its schema's flat plan: the same RecordBatch as
 * readBodyBuffers and {@link loadRecordBatch} make, without their intermediate byte views, their
 * per-column type dispatch, or apache-arrow's Data constructor. Null for anything off the common
 * path (compression, a count or size that does not match, offsets out of range): the general
 * path then loads the batch, or reports exactly what is wrong with it.
 */
export function loadFlatBatch(plan: FlatPlan, schema: A.Schema, h: RecordBatchHeader, body: Uint8Array, metadata: Map<string, string>): A.RecordBatch | null {
  const columns = plan.columns;
  const nodes = h.nodes;
  const regions = h.buffers;
  if (h.compression !== null || nodes.length !== columns.length || regions.length !== plan.buffers) return null;
  const memory = body.buffer;
  const base = body.byteOffset;
  const size = body.byteLength;
  const length = h.length;
  const children = new Array<A.Data>(columns.length);
  let r = 0;
  for (let i = 0; i < columns.length; i++) {
    const col = columns[i]!;
    const node = nodes[i]!;
    if (node.length !== length) return null;
    const nullCount = node.nullCount;
    const v = regions[r++]!;
    if (v.offset + v.length > size) return null;
    let nullBitmap: Uint8Array = NO_BITS;
    if (nullCount > 0) {
      if (v.length < Math.ceil(length / 8)) return null;
      nullBitmap = viewAt(Uint8Array, memory, base + v.offset, v.length) as Uint8Array;
    }
    let valueOffsets: Int32Array | BigInt64Array | undefined;
    let values: ArrayBufferView;
    const layout = col.layout;
    if (layout === VAR || layout === LARGE_VAR) {
      const wide = layout === LARGE_VAR;
      const o = regions[r++]!;
      const d = regions[r++]!;
      if (o.offset + o.length > size || d.offset + d.length > size) return null;
      if (length > 0 && o.length < (length + 1) * (wide ? 8 : 4)) return null;
      valueOffsets = viewAt(wide ? BigInt64Array : Int32Array, memory, base + o.offset, o.length) as Int32Array | BigInt64Array;
      values = viewAt(Uint8Array, memory, base + d.offset, d.length);
      if (length > 0) {
        const first = Number(valueOffsets[0]!);
        const last = Number(valueOffsets[length]!);
        if (first < 0 || last < first || last > d.length) return null;
      }
    } else {
      const d = regions[r++]!;
      if (d.offset + d.length > size || d.length < (layout === BOOL ? Math.ceil(length / 8) : length * col.width)) return null;
      values = viewAt(col.Values, memory, base + d.offset, d.length);
    }
    children[i] = new DataOfOneShape(col.type, length, nullCount, valueOffsets, values, nullBitmap, col.stride, []);
  }
  return newRecordBatch(schema, length, children, metadata);
}

/**
 * Whether a RecordBatch built by its constructor holds exactly `schema`, `data` and `_metadata`,
 * as in apache-arrow 21 (the pinned version). Checked once, so that {@link newRecordBatch} falls
 * back to the constructor if an upgrade adds state.
 */
const PLAIN_BATCH = (() => {
  const schema = new A.Schema([]);
  const data = A.makeData({ type: new A.Struct([]), length: 0, nullCount: 0, children: [] });
  const keys = Object.keys(new A.RecordBatch(schema, data, new Map())).sort().join();
  return keys === '_metadata,data,schema';
})();

/** The struct type of each schema's batches: types are immutable, so its batches share one. */
const structs = new WeakMap<A.Schema, A.Struct>();

function structOf(schema: A.Schema): A.Struct {
  let t = structs.get(schema);
  if (t === undefined) structs.set(schema, (t = new A.Struct([...schema.fields])));
  return t;
}

/**
 * A RecordBatch over `children`, each exactly `length` long. The constructor's checks
 * (ensureSameLengthData: Schema.assign, a second struct Data) were the largest fixed cost of
 * decoding a batch, about 3 µs, and change nothing for columns of the batch's length; this
 * builds what the constructor would: a struct Data as makeData makes it, and the three fields.
 */
function newRecordBatch(schema: A.Schema, length: number, children: A.Data[], metadata: Map<string, string>): A.RecordBatch {
  // As makeData({ type, length, children }) leaves a struct: offset 0, nullCount 0, an empty bitmap.
  const data = PLAIN_DATA
    ? new DataOfOneShape(structOf(schema), length, 0, undefined, undefined, NO_BITS, 1, children)
    : new A.Data(structOf(schema), 0, length, 0, [undefined, undefined, NO_BITS] as never, children);
  // Stored one by one, in the constructor's order (Object.assign of a literal cost more).
  const batch = Object.create(A.RecordBatch.prototype) as { schema: A.Schema; data: A.Data; _metadata: Map<string, string> };
  batch.schema = schema;
  batch.data = data;
  batch._metadata = metadata;
  return batch as unknown as A.RecordBatch;
}

/** One record batch as an apache-arrow RecordBatch. */
export function loadRecordBatch(
  fields: Field[],
  schema: A.Schema,
  h: RecordBatchHeader,
  buffers: Uint8Array[],
  dictionaries: DictionaryVectors,
  version: number,
  metadata?: Map<string, string>,
): A.RecordBatch {
  const children = loadColumns(fields, schema.fields, h, buffers, dictionaries, version);
  if (PLAIN_BATCH && children.every((c) => c.length === h.length)) return newRecordBatch(schema, h.length, children, metadata ?? new Map());
  const data = A.makeData({ type: new A.Struct(schema.fields), length: h.length, nullCount: 0, children });
  const batch = new A.RecordBatch(schema, data, metadata);
  // apache-arrow rebuilds the schema with Schema.assign, which merges fields of the same name;
  // Arrow allows duplicate names (pyarrow writes them), so keep the schema exactly as decoded.
  // The children were already checked to be as long as the batch, so nothing else changed.
  (batch as { schema: A.Schema }).schema = schema;
  return batch;
}
