/**
 * Quiver's schema model <-> apache-arrow's. apache-arrow is the data model users hold; types it
 * cannot represent raise ERR_QUIVER_UNSUPPORTED_TYPE here, and only here, so everything below the
 * object level (framing, compression, conversion) still works for them.
 */
import * as A from 'apache-arrow';
import { UnsupportedTypeError, badArgument, invalid } from '../errors.js';
import { typeName, type ArrowType, type Field, type IntType, type Schema, type TimeUnit } from '../format/types.js';

const UNITS: TimeUnit[] = ['second', 'millisecond', 'microsecond', 'nanosecond'];

function intType(t: IntType): A.Int {
  return new A.Int(t.signed, t.bitWidth);
}

/** Dictionary types by id: fields sharing a dictionary must share the type object too. */
type DictTypes = Map<number, A.Dictionary>;

function valueType(f: Field, path: string, dicts: DictTypes): A.DataType {
  const t = f.type;
  const kids = () => f.children.map((c) => toArrowField(c, `${path}.${c.name}`, dicts));
  switch (t.kind) {
    case 'null': return new A.Null();
    case 'int': return intType(t);
    case 'float': return new A.Float(['half', 'single', 'double'].indexOf(t.precision));
    case 'binary': return new A.Binary();
    case 'utf8': return new A.Utf8();
    case 'largeBinary': return new A.LargeBinary();
    case 'largeUtf8': return new A.LargeUtf8();
    case 'binaryView': return new A.BinaryView();
    case 'utf8View': return new A.Utf8View();
    case 'bool': return new A.Bool();
    case 'decimal':
      // apache-arrow's decimal getters assume 128 or 256 bits; narrower ones would misread.
      if (t.bitWidth < 128) throw new UnsupportedTypeError(typeName(t), path);
      return new A.Decimal(t.scale, t.precision, t.bitWidth);
    case 'date': return new A.Date_(t.unit === 'day' ? A.DateUnit.DAY : A.DateUnit.MILLISECOND);
    case 'time': return new A.Time(UNITS.indexOf(t.unit), t.bitWidth);
    case 'timestamp': return new A.Timestamp(UNITS.indexOf(t.unit), t.timezone);
    case 'interval': return new A.Interval(['yearMonth', 'dayTime', 'monthDayNano'].indexOf(t.unit));
    case 'duration': return new A.Duration(UNITS.indexOf(t.unit));
    case 'list': return new A.List(kids()[0]!);
    case 'largeList': return new A.LargeList(kids()[0]!);
    case 'struct': return new A.Struct(kids());
    case 'fixedSizeBinary': return new A.FixedSizeBinary(t.byteWidth);
    case 'fixedSizeList': return new A.FixedSizeList(t.listSize, kids()[0]!);
    case 'map': return new A.Map_(kids()[0]! as A.Field<A.Struct<any>>, t.keysSorted);
    case 'union': {
      const children = kids();
      return new A.Union(t.mode === 'sparse' ? A.UnionMode.Sparse : A.UnionMode.Dense, t.typeIds ?? children.map((_, i) => i), children);
    }
    case 'listView':
    case 'largeListView':
    case 'runEndEncoded':
      throw new UnsupportedTypeError(typeName(t), path);
  }
}

/**
 * One field of our model as an apache-arrow Field; throws UnsupportedTypeError (code
 * ERR_QUIVER_UNSUPPORTED_TYPE) for a type apache-arrow cannot hold. `path` names the field in
 * errors; `dicts` makes fields of one dictionary id share one Dictionary type.
 */
export function toArrowField(f: Field, path = f.name, dicts: DictTypes = new Map()): A.Field {
  let type: A.DataType;
  if (f.dictionary) {
    const d = f.dictionary;
    const values = valueType(f, path, dicts);
    const shared = dicts.get(d.id);
    if (!shared) {
      dicts.set(d.id, (type = new A.Dictionary(values, intType(d.indexType) as never, d.id, d.isOrdered)));
    } else {
      // Fields sharing a dictionary id must agree on its value type (Arrow C++'s DictionaryMemo
      // refuses conflicting types); apache-arrow would throw a plain Error for it.
      if (!A.util.compareTypes(shared.dictionary, values)) {
        throw invalid(`field '${path}': dictionary ${d.id} is shared by fields of different value types`);
      }
      // The index type may differ per field; the value type object must be the shared one.
      const same = shared.indices.bitWidth === d.indexType.bitWidth && shared.indices.isSigned === d.indexType.signed && shared.isOrdered === d.isOrdered;
      type = same ? shared : new A.Dictionary(shared.dictionary, intType(d.indexType) as never, d.id, d.isOrdered);
    }
  } else {
    type = valueType(f, path, dicts);
  }
  return new A.Field(f.name, type, f.nullable, new Map(f.metadata));
}

/** Our schema as an apache-arrow Schema; throws UnsupportedTypeError naming the first bad type. */
export function toArrowSchema(s: Schema): A.Schema {
  const dicts: DictTypes = new Map();
  return new A.Schema(s.fields.map((f) => toArrowField(f, f.name, dicts)), new Map(s.metadata));
}

function unit(u: number): TimeUnit {
  return UNITS[u] ?? 'millisecond';
}

function fromArrowType(t: A.DataType, path: string): { type: ArrowType; children: Field[] } {
  const kids = (): Field[] => (t.children ?? []).map((c: A.Field) => fromArrowField(c, `${path}.${c.name}`));
  const leaf = (type: ArrowType) => ({ type, children: [] as Field[] });
  switch (t.typeId) {
    case A.Type.Null: return leaf({ kind: 'null' });
    case A.Type.Int: {
      const i = t as A.Int;
      return leaf({ kind: 'int', bitWidth: i.bitWidth as 8 | 16 | 32 | 64, signed: i.isSigned });
    }
    case A.Type.Float: return leaf({ kind: 'float', precision: (['half', 'single', 'double'] as const)[(t as A.Float).precision]! });
    case A.Type.Binary: return leaf({ kind: 'binary' });
    case A.Type.Utf8: return leaf({ kind: 'utf8' });
    case A.Type.LargeBinary: return leaf({ kind: 'largeBinary' });
    case A.Type.LargeUtf8: return leaf({ kind: 'largeUtf8' });
    case A.Type.BinaryView: return leaf({ kind: 'binaryView' });
    case A.Type.Utf8View: return leaf({ kind: 'utf8View' });
    case A.Type.Bool: return leaf({ kind: 'bool' });
    case A.Type.Decimal: {
      const d = t as A.Decimal;
      return leaf({ kind: 'decimal', precision: d.precision, scale: d.scale, bitWidth: d.bitWidth as 128 | 256 });
    }
    case A.Type.Date: return leaf({ kind: 'date', unit: (t as A.Date_).unit === A.DateUnit.DAY ? 'day' : 'millisecond' });
    case A.Type.Time: {
      const x = t as A.Time;
      return leaf({ kind: 'time', unit: unit(x.unit), bitWidth: x.bitWidth as 32 | 64 });
    }
    case A.Type.Timestamp: {
      const x = t as A.Timestamp;
      return leaf({ kind: 'timestamp', unit: unit(x.unit), timezone: x.timezone ?? null });
    }
    case A.Type.Interval:
      return leaf({ kind: 'interval', unit: (['yearMonth', 'dayTime', 'monthDayNano'] as const)[(t as A.Interval).unit]! });
    case A.Type.Duration: return leaf({ kind: 'duration', unit: unit((t as A.Duration).unit) });
    case A.Type.List: return { type: { kind: 'list' }, children: kids() };
    case A.Type.LargeList: return { type: { kind: 'largeList' }, children: kids() };
    case A.Type.Struct: return { type: { kind: 'struct' }, children: kids() };
    case A.Type.FixedSizeBinary: return leaf({ kind: 'fixedSizeBinary', byteWidth: (t as A.FixedSizeBinary).byteWidth });
    case A.Type.FixedSizeList: return { type: { kind: 'fixedSizeList', listSize: (t as A.FixedSizeList).listSize }, children: kids() };
    case A.Type.Map: return { type: { kind: 'map', keysSorted: (t as A.Map_).keysSorted }, children: kids() };
    case A.Type.Union: {
      const u = t as A.Union;
      return {
        type: { kind: 'union', mode: u.mode === A.UnionMode.Sparse ? 'sparse' : 'dense', typeIds: Array.from(u.typeIds) },
        children: kids(),
      };
    }
    default:
      throw badArgument(`field '${path}': apache-arrow type ${String(t)} has no Arrow IPC form`);
  }
}

/** An apache-arrow Field in Quiver's model; ERR_QUIVER_INVALID_ARGUMENT for a type with no IPC form. */
export function fromArrowField(f: A.Field, path = f.name): Field {
  let t: A.DataType = f.type;
  let dictionary: Field['dictionary'] = null;
  if (A.DataType.isDictionary(t)) {
    const d = t as A.Dictionary;
    dictionary = {
      id: Number(d.id),
      indexType: { bitWidth: d.indices.bitWidth as 8 | 16 | 32 | 64, signed: d.indices.isSigned },
      isOrdered: d.isOrdered ?? false,
    };
    t = d.dictionary;
  }
  const { type, children } = fromArrowType(t, path);
  return { name: f.name, nullable: f.nullable, type, children, dictionary, metadata: new Map(f.metadata) };
}

/** An apache-arrow Schema in Quiver's model. */
export function fromArrowSchema(s: A.Schema): Schema {
  return { fields: s.fields.map((f) => fromArrowField(f)), metadata: new Map(s.metadata), endianness: 'little', features: [] };
}
