/**
 * Quiver's model of Arrow schemas: every type of the format (Schema.fbs), including those the
 * apache-arrow JS data model lacks (list-view, run-end-encoded, 32/64-bit decimals), so messages
 * can be read, validated, recompressed and rewritten whatever they hold.
 */

/** The unit of a time, timestamp or duration type. */
export type TimeUnit = 'second' | 'millisecond' | 'microsecond' | 'nanosecond';

/** An Arrow data type (Schema.fbs `Type`), as a discriminated union on `kind`. Children live on the {@link Field}. */
export type ArrowType =
  | { kind: 'null' }
  | { kind: 'int'; bitWidth: 8 | 16 | 32 | 64; signed: boolean }
  | { kind: 'float'; precision: 'half' | 'single' | 'double' }
  | { kind: 'binary' | 'utf8' | 'largeBinary' | 'largeUtf8' | 'binaryView' | 'utf8View' | 'bool' }
  | { kind: 'decimal'; precision: number; scale: number; bitWidth: 32 | 64 | 128 | 256 }
  | { kind: 'date'; unit: 'day' | 'millisecond' }
  | { kind: 'time'; unit: TimeUnit; bitWidth: 32 | 64 }
  | { kind: 'timestamp'; unit: TimeUnit; timezone: string | null }
  | { kind: 'interval'; unit: 'yearMonth' | 'dayTime' | 'monthDayNano' }
  | { kind: 'duration'; unit: TimeUnit }
  | { kind: 'list' | 'largeList' | 'listView' | 'largeListView' | 'struct' | 'runEndEncoded' }
  | { kind: 'fixedSizeList'; listSize: number }
  | { kind: 'fixedSizeBinary'; byteWidth: number }
  | { kind: 'map'; keysSorted: boolean }
  | { kind: 'union'; mode: 'sparse' | 'dense'; typeIds: number[] | null };

/** The `kind` of an {@link ArrowType}: `'int'`, `'utf8'`, `'list'`, ... */
export type TypeKind = ArrowType['kind'];

/** An integer type: a dictionary's index type. */
export interface IntType {
  /** Bits per value. */
  bitWidth: 8 | 16 | 32 | 64;
  /** Signed (two's complement) or unsigned. */
  signed: boolean;
}

/** How a field is dictionary-encoded (Schema.fbs `DictionaryEncoding`). */
export interface DictionaryEncoding {
  /** Dictionary id, unique within a stream or file. */
  id: number;
  /** The index type; Arrow defaults to signed 32-bit. */
  indexType: IntType;
  /** Whether the dictionary's order is meaningful (comparisons may use the indices). */
  isOrdered: boolean;
}

/** A field of a schema, in Quiver's model: any Arrow type, nested fields as `children`. */
export interface Field {
  /** The field's name (may be empty, and need not be unique). */
  name: string;
  /** Whether values may be null. */
  nullable: boolean;
  /** For a dictionary-encoded field, the type of the dictionary's values. */
  type: ArrowType;
  /** Child fields of nested types (list, struct, map, union, run-end-encoded...), in order. */
  children: Field[];
  /** The dictionary encoding, or null when the field is not dictionary-encoded. */
  dictionary: DictionaryEncoding | null;
  /** The field's custom key/value metadata. */
  metadata: Map<string, string>;
}

/** A schema in Quiver's model (Schema.fbs), able to hold every Arrow type; see {@link toArrowSchema}. */
export interface Schema {
  /** Top-level fields, in order. */
  fields: Field[];
  /** The schema's custom key/value metadata. */
  metadata: Map<string, string>;
  /**
   * The byte order the writer declared. Quiver writes `'little'`; when reading, the flag is
   * kept but not acted upon (data is always decoded as little-endian).
   */
  endianness: 'little' | 'big';
  /** Feature flags declared by the writer (Schema.features), as raw int64 values. */
  features: bigint[];
}

/** Arrow's MetadataVersion; Quiver writes V5 and reads V4 and V5. */
export const MetadataVersion = { V1: 0, V2: 1, V3: 2, V4: 3, V5: 4 } as const;

/** A readable name for a type, in pyarrow's vocabulary (used in errors and by `inspect`); not byte-for-byte pyarrow's str(). */
export function typeName(t: ArrowType): string {
  switch (t.kind) {
    case 'int':
      return `${t.signed ? 'int' : 'uint'}${t.bitWidth}`;
    case 'float':
      return { half: 'float16', single: 'float32', double: 'float64' }[t.precision];
    case 'decimal':
      return `decimal${t.bitWidth}(${t.precision}, ${t.scale})`;
    case 'date':
      return t.unit === 'day' ? 'date32' : 'date64';
    case 'time':
      return `time${t.bitWidth}[${unitAbbrev(t.unit)}]`;
    case 'timestamp':
      return `timestamp[${unitAbbrev(t.unit)}${t.timezone ? `, tz=${t.timezone}` : ''}]`;
    case 'duration':
      return `duration[${unitAbbrev(t.unit)}]`;
    case 'interval':
      return { yearMonth: 'month_interval', dayTime: 'day_time_interval', monthDayNano: 'month_day_nano_interval' }[t.unit];
    case 'fixedSizeList':
      return `fixed_size_list[${t.listSize}]`;
    case 'fixedSizeBinary':
      return `fixed_size_binary[${t.byteWidth}]`;
    case 'union':
      return `${t.mode}_union`;
    case 'largeBinary':
      return 'large_binary';
    case 'largeUtf8':
      return 'large_string';
    case 'binaryView':
      return 'binary_view';
    case 'utf8View':
      return 'string_view';
    case 'utf8':
      return 'string';
    case 'largeList':
      return 'large_list';
    case 'listView':
      return 'list_view';
    case 'largeListView':
      return 'large_list_view';
    case 'runEndEncoded':
      return 'run_end_encoded';
    default:
      return t.kind;
  }
}

function unitAbbrev(u: TimeUnit): string {
  return { second: 's', millisecond: 'ms', microsecond: 'us', nanosecond: 'ns' }[u];
}

/** A field's type with its children and dictionary, in the style of {@link typeName}. */
export function fieldTypeName(f: Field): string {
  let base = typeName(f.type);
  if (f.children.length > 0) {
    const kids = f.children.map((c) => `${c.name}: ${fieldTypeName(c)}`).join(', ');
    base = `${base}<${kids}>`;
  }
  if (f.dictionary) {
    const { bitWidth, signed } = f.dictionary.indexType;
    return `dictionary<values=${base}, indices=${signed ? 'int' : 'uint'}${bitWidth}>`;
  }
  return base;
}

/**
 * The buffers an array of this type occupies in a record batch, in order (Arrow columnar spec,
 * "Buffer Listing for Each Layout"). View types add their variadic data buffers after these.
 */
export function bufferCount(t: ArrowType, version: number): number {
  switch (t.kind) {
    case 'null':
    case 'runEndEncoded':
      return 0;
    case 'struct':
    case 'fixedSizeList':
      return 1;
    case 'union':
      // Before V5 unions carried a validity buffer too.
      return (t.mode === 'dense' ? 2 : 1) + (version < MetadataVersion.V5 ? 1 : 0);
    case 'binary':
    case 'utf8':
    case 'largeBinary':
    case 'largeUtf8':
    case 'listView':
    case 'largeListView':
      return 3;
    case 'list':
    case 'largeList':
    case 'map':
      return 2;
    default:
      return 2;
  }
}

