/**
 * Schema.fbs <-> {@link Schema}. Reading validates what the flatbuffer reader cannot: enum ranges,
 * child counts per type, nesting depth. Writing mirrors reading slot for slot.
 */
import { Builder } from 'flatbuffers';
import { invalid } from '../errors.js';
import { checkLimit, limitOf, type ReadLimits } from '../limits.js';
import { FbTable } from '../flatbuf/reader.js';
import { addFieldInt64, createString } from '../flatbuf/writer.js';
import type { ArrowType, Field, IntType, Schema, TimeUnit } from './types.js';

/** Limits applied while reading a schema; a hostile schema must not exhaust the stack or memory. */
export type SchemaLimits = Pick<ReadLimits, 'maxDepth' | 'maxFields'>;

// Type union tags, Schema.fbs `union Type`.
const TAG = {
  Null: 1, Int: 2, FloatingPoint: 3, Binary: 4, Utf8: 5, Bool: 6, Decimal: 7, Date: 8, Time: 9,
  Timestamp: 10, Interval: 11, List: 12, Struct: 13, Union: 14, FixedSizeBinary: 15,
  FixedSizeList: 16, Map: 17, Duration: 18, LargeBinary: 19, LargeUtf8: 20, LargeList: 21,
  RunEndEncoded: 22, BinaryView: 23, Utf8View: 24, ListView: 25, LargeListView: 26,
} as const;

const UNITS: TimeUnit[] = ['second', 'millisecond', 'microsecond', 'nanosecond'];
const SIMPLE: Record<number, ArrowType['kind']> = {
  [TAG.Null]: 'null', [TAG.Binary]: 'binary', [TAG.Utf8]: 'utf8', [TAG.Bool]: 'bool',
  [TAG.List]: 'list', [TAG.Struct]: 'struct', [TAG.LargeBinary]: 'largeBinary',
  [TAG.LargeUtf8]: 'largeUtf8', [TAG.LargeList]: 'largeList', [TAG.RunEndEncoded]: 'runEndEncoded',
  [TAG.BinaryView]: 'binaryView', [TAG.Utf8View]: 'utf8View', [TAG.ListView]: 'listView',
  [TAG.LargeListView]: 'largeListView',
};
const SIMPLE_TAG = Object.fromEntries(Object.entries(SIMPLE).map(([k, v]) => [v, Number(k)])) as Record<string, number>;

export function readKeyValues(tables: FbTable[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const kv of tables) out.set(kv.string(0) ?? '', kv.string(1) ?? '');
  return out;
}

/** Reads a Schema table. */
export function readSchema(t: FbTable, limits: SchemaLimits = {}): Schema {
  const state = { fields: 0, maxFields: limitOf(limits, 'maxFields'), maxDepth: limitOf(limits, 'maxDepth') };
  const endianness = t.int16(0, 0);
  if (endianness !== 0 && endianness !== 1) throw invalid(`schema: unknown endianness ${endianness}`);
  const fields = t.tables(1, 'field').map((f) => readField(f, 1, state));
  const features: bigint[] = [];
  const fv = t.vector(3, 8);
  if (fv) for (let i = 0; i < fv.length; i++) features.push(t.view.getBigInt64(fv.start + 8 * i, true));
  return { fields, metadata: readKeyValues(t.tables(2, 'key-value')), endianness: endianness === 0 ? 'little' : 'big', features };
}

/** Reads a field at nesting level `depth` (1 for a top-level field), counting it. */
function readField(t: FbTable, depth: number, state: { fields: number; maxFields: number; maxDepth: number }): Field {
  // Both checked before the field's children are read: a hostile schema costs at most the limit.
  checkLimit('maxDepth', state.maxDepth, depth, 'schema nesting depth');
  checkLimit('maxFields', state.maxFields, ++state.fields, 'schema fields');
  const name = t.string(0) ?? '';
  const tag = t.uint8(2, 0);
  const typeTable = t.table(3, 'type');
  const type = readType(tag, typeTable, name);
  const children = t.tables(5, 'field').map((c) => readField(c, depth + 1, state));
  const d = t.table(4, 'dictionary encoding');
  let dictionary: Field['dictionary'] = null;
  if (d) {
    const idx = d.table(1, 'dictionary index type');
    const indexType: IntType = idx ? readIntType(idx) : { bitWidth: 32, signed: true };
    dictionary = { id: d.int64(0, 0), indexType, isOrdered: d.bool(2, false) };
  }
  const field: Field = { name, nullable: t.bool(1, false), type, children, dictionary, metadata: readKeyValues(t.tables(6, 'key-value')) };
  checkChildren(field);
  return field;
}

function readIntType(t: FbTable): IntType {
  const bitWidth = t.int32(0, 0);
  if (bitWidth !== 8 && bitWidth !== 16 && bitWidth !== 32 && bitWidth !== 64) throw invalid(`int bit width ${bitWidth} is invalid`);
  return { bitWidth, signed: t.bool(1, false) };
}

function unit(v: number, what: string): TimeUnit {
  const u = UNITS[v];
  if (u === undefined) throw invalid(`${what}: unknown time unit ${v}`);
  return u;
}

function readType(tag: number, t: FbTable | null, fieldName: string): ArrowType {
  const simple = SIMPLE[tag];
  if (simple !== undefined) return { kind: simple } as ArrowType;
  if (t === null) throw invalid(`field '${fieldName}': type tag ${tag} without its type table`);
  switch (tag) {
    case TAG.Int:
      return { kind: 'int', ...readIntType(t) };
    case TAG.FloatingPoint: {
      const p = t.int16(0, 0);
      const precision = (['half', 'single', 'double'] as const)[p];
      if (precision === undefined) throw invalid(`field '${fieldName}': unknown float precision ${p}`);
      return { kind: 'float', precision };
    }
    case TAG.Decimal: {
      const bitWidth = t.int32(2, 128);
      if (bitWidth !== 32 && bitWidth !== 64 && bitWidth !== 128 && bitWidth !== 256) throw invalid(`decimal bit width ${bitWidth} is invalid`);
      // As Arrow C++ (DecimalType::ValidateParameters): 1 <= precision <= the most digits the width holds.
      const precision = t.int32(0, 0);
      const maxPrecision = { 32: 9, 64: 18, 128: 38, 256: 76 }[bitWidth];
      if (precision < 1 || precision > maxPrecision) throw invalid(`decimal${bitWidth} precision ${precision} is outside [1, ${maxPrecision}]`);
      return { kind: 'decimal', precision, scale: t.int32(1, 0), bitWidth };
    }
    case TAG.Date: {
      const u = t.int16(0, 1);
      if (u !== 0 && u !== 1) throw invalid(`date unit ${u} is invalid`);
      return { kind: 'date', unit: u === 0 ? 'day' : 'millisecond' };
    }
    case TAG.Time: {
      const u = unit(t.int16(0, 1), 'time');
      const bitWidth = t.int32(1, 32);
      const expected = u === 'second' || u === 'millisecond' ? 32 : 64;
      if (bitWidth !== expected) throw invalid(`time[${u}] must be ${expected}-bit, not ${bitWidth}`);
      return { kind: 'time', unit: u, bitWidth };
    }
    case TAG.Timestamp:
      return { kind: 'timestamp', unit: unit(t.int16(0, 0), 'timestamp'), timezone: t.string(1) };
    case TAG.Interval: {
      const u = (['yearMonth', 'dayTime', 'monthDayNano'] as const)[t.int16(0, 0)];
      if (u === undefined) throw invalid('unknown interval unit');
      return { kind: 'interval', unit: u };
    }
    case TAG.Duration:
      return { kind: 'duration', unit: unit(t.int16(0, 1), 'duration') };
    case TAG.FixedSizeBinary: {
      const byteWidth = t.int32(0, 0);
      if (byteWidth < 0) throw invalid(`fixed_size_binary width ${byteWidth} is invalid`);
      return { kind: 'fixedSizeBinary', byteWidth };
    }
    case TAG.FixedSizeList: {
      const listSize = t.int32(0, 0);
      if (listSize < 0) throw invalid(`fixed_size_list size ${listSize} is invalid`);
      return { kind: 'fixedSizeList', listSize };
    }
    case TAG.Map:
      return { kind: 'map', keysSorted: t.bool(0, false) };
    case TAG.Union: {
      const m = t.int16(0, 0);
      if (m !== 0 && m !== 1) throw invalid(`union mode ${m} is invalid`);
      const v = t.vector(1, 4);
      let typeIds: number[] | null = null;
      if (v) {
        typeIds = [];
        for (let i = 0; i < v.length; i++) typeIds.push(t.view.getInt32(v.start + 4 * i, true));
      }
      return { kind: 'union', mode: m === 0 ? 'sparse' : 'dense', typeIds };
    }
    default:
      throw invalid(`field '${fieldName}': unknown type tag ${tag}`);
  }
}

function checkChildren(f: Field): void {
  const n = f.children.length;
  const k = f.type.kind;
  const want: Record<string, number> = {
    list: 1, largeList: 1, listView: 1, largeListView: 1, fixedSizeList: 1, map: 1, runEndEncoded: 2,
  };
  if (k in want) {
    if (n !== want[k]) throw invalid(`field '${f.name}': ${k} needs ${want[k]} child field(s), has ${n}`);
    if (k === 'map' && (f.children[0]!.type.kind !== 'struct' || f.children[0]!.children.length !== 2)) {
      throw invalid(`field '${f.name}': map entries must be a struct of key and value`);
    }
    if (k === 'runEndEncoded') {
      const re = f.children[0]!.type;
      if (re.kind !== 'int' || !re.signed || re.bitWidth === 8) throw invalid(`field '${f.name}': run ends must be int16, int32 or int64`);
    }
  } else if (k === 'union') {
    const ids = f.type.kind === 'union' ? f.type.typeIds : null;
    if (ids && ids.length !== n) throw invalid(`field '${f.name}': union has ${n} children but ${ids.length} type ids`);
    if (n > 128) throw invalid(`field '${f.name}': union has more than 128 children`);
  } else if (k !== 'struct' && n !== 0 && !f.dictionary) {
    throw invalid(`field '${f.name}': ${k} cannot have child fields`);
  }
}

// ---- writing -------------------------------------------------------------------------------

export function writeKeyValues(b: Builder, m: Map<string, string>): number {
  if (m.size === 0) return 0;
  const kvs: number[] = [];
  for (const [k, v] of m) {
    const ko = createString(b, k);
    const vo = createString(b, v);
    b.startObject(2);
    b.addFieldOffset(0, ko, 0);
    b.addFieldOffset(1, vo, 0);
    kvs.push(b.endObject());
  }
  return offsetVector(b, kvs);
}

export function offsetVector(b: Builder, offsets: number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
  return b.endVector();
}

function writeIntTable(b: Builder, t: IntType): number {
  b.startObject(2);
  b.addFieldInt32(0, t.bitWidth, 0);
  b.addFieldInt8(1, t.signed ? 1 : 0, 0);
  return b.endObject();
}

function writeType(b: Builder, t: ArrowType): [tag: number, table: number] {
  switch (t.kind) {
    case 'int':
      return [TAG.Int, writeIntTable(b, t)];
    case 'float':
      b.startObject(1);
      b.addFieldInt16(0, ['half', 'single', 'double'].indexOf(t.precision), 0);
      return [TAG.FloatingPoint, b.endObject()];
    case 'decimal':
      b.startObject(3);
      b.addFieldInt32(0, t.precision, 0);
      b.addFieldInt32(1, t.scale, 0);
      b.addFieldInt32(2, t.bitWidth, 128);
      return [TAG.Decimal, b.endObject()];
    case 'date':
      b.startObject(1);
      b.addFieldInt16(0, t.unit === 'day' ? 0 : 1, 1);
      return [TAG.Date, b.endObject()];
    case 'time':
      b.startObject(2);
      b.addFieldInt16(0, UNITS.indexOf(t.unit), 1);
      b.addFieldInt32(1, t.bitWidth, 32);
      return [TAG.Time, b.endObject()];
    case 'timestamp': {
      const tz = t.timezone === null ? 0 : createString(b, t.timezone);
      b.startObject(2);
      b.addFieldInt16(0, UNITS.indexOf(t.unit), 0);
      if (tz) b.addFieldOffset(1, tz, 0);
      return [TAG.Timestamp, b.endObject()];
    }
    case 'interval':
      b.startObject(1);
      b.addFieldInt16(0, ['yearMonth', 'dayTime', 'monthDayNano'].indexOf(t.unit), 0);
      return [TAG.Interval, b.endObject()];
    case 'duration':
      b.startObject(1);
      b.addFieldInt16(0, UNITS.indexOf(t.unit), 1);
      return [TAG.Duration, b.endObject()];
    case 'fixedSizeBinary':
      b.startObject(1);
      b.addFieldInt32(0, t.byteWidth, 0);
      return [TAG.FixedSizeBinary, b.endObject()];
    case 'fixedSizeList':
      b.startObject(1);
      b.addFieldInt32(0, t.listSize, 0);
      return [TAG.FixedSizeList, b.endObject()];
    case 'map':
      b.startObject(1);
      b.addFieldInt8(0, t.keysSorted ? 1 : 0, 0);
      return [TAG.Map, b.endObject()];
    case 'union': {
      let ids = 0;
      if (t.typeIds) {
        b.startVector(4, t.typeIds.length, 4);
        for (let i = t.typeIds.length - 1; i >= 0; i--) b.addInt32(t.typeIds[i]!);
        ids = b.endVector();
      }
      b.startObject(2);
      b.addFieldInt16(0, t.mode === 'sparse' ? 0 : 1, 0);
      if (ids) b.addFieldOffset(1, ids, 0);
      return [TAG.Union, b.endObject()];
    }
    default:
      b.startObject(0);
      return [SIMPLE_TAG[t.kind]!, b.endObject()];
  }
}

function writeField(b: Builder, f: Field): number {
  const name = createString(b, f.name);
  const [tag, type] = writeType(b, f.type);
  let dict = 0;
  if (f.dictionary) {
    const idx = writeIntTable(b, f.dictionary.indexType);
    b.startObject(4);
    addFieldInt64(b, 0, f.dictionary.id, 0);
    b.addFieldOffset(1, idx, 0);
    b.addFieldInt8(2, f.dictionary.isOrdered ? 1 : 0, 0);
    dict = b.endObject();
  }
  const children = offsetVector(b, f.children.map((c) => writeField(b, c)));
  const meta = writeKeyValues(b, f.metadata);
  b.startObject(7);
  b.addFieldOffset(0, name, 0);
  b.addFieldInt8(1, f.nullable ? 1 : 0, 0);
  b.addFieldInt8(2, tag, 0);
  b.addFieldOffset(3, type, 0);
  if (dict) b.addFieldOffset(4, dict, 0);
  b.addFieldOffset(5, children, 0);
  if (meta) b.addFieldOffset(6, meta, 0);
  return b.endObject();
}

/** Writes a Schema table and returns its offset. */
export function writeSchema(b: Builder, s: Schema): number {
  const fields = offsetVector(b, s.fields.map((f) => writeField(b, f)));
  const meta = writeKeyValues(b, s.metadata);
  let features = 0;
  if (s.features.length > 0) {
    b.startVector(8, s.features.length, 8);
    for (let i = s.features.length - 1; i >= 0; i--) b.addInt64(s.features[i]!);
    features = b.endVector();
  }
  b.startObject(4);
  b.addFieldInt16(0, s.endianness === 'little' ? 0 : 1, 0);
  b.addFieldOffset(1, fields, 0);
  if (meta) b.addFieldOffset(2, meta, 0);
  if (features) b.addFieldOffset(3, features, 0);
  return b.endObject();
}
