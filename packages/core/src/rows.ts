/**
 * Record batches and tables as plain JS values: an array of row objects, or one array per
 * column (what read_pandas is for in Python). Nested values become plain objects and arrays.
 */
import * as A from 'apache-arrow';

/** Options of {@link toRows} and {@link toColumns}. */
export interface RowOptions {
  /** How 64-bit integers come out. @default 'bigint' (exact) */
  int64?: 'bigint' | 'number' | 'string';
}

type Convert = (v: unknown) => unknown;

function decimalString(words: Uint32Array, scale: number): string {
  let n = 0n;
  for (let i = words.length - 1; i >= 0; i--) n = (n << 32n) | BigInt(words[i]!);
  const bits = BigInt(words.length * 32);
  if (n >> (bits - 1n)) n -= 1n << bits;
  const neg = n < 0n;
  let s = (neg ? -n : n).toString();
  if (scale > 0) {
    s = s.padStart(scale + 1, '0');
    s = `${s.slice(0, -scale)}.${s.slice(-scale)}`;
  } else if (scale < 0 && n !== 0n) {
    s += '0'.repeat(-scale); // a negative scale multiplies by a power of ten: 123e2 is 12300
  }
  return neg ? `-${s}` : s;
}

function converter(t: A.DataType, opts: RowOptions): Convert {
  const int64 = opts.int64 ?? 'bigint';
  switch (t.typeId) {
    case A.Type.Int: {
      if ((t as A.Int).bitWidth !== 64 || int64 === 'bigint') return (v) => v;
      return int64 === 'number' ? (v) => (v == null ? v : Number(v)) : (v) => (v == null ? v : String(v));
    }
    case A.Type.Decimal: {
      const scale = (t as A.Decimal).scale;
      const words = (t as A.Decimal).bitWidth / 32;
      return (v) => {
        if (v == null) return v;
        const u = v as Uint32Array;
        return decimalString(new Uint32Array(u.buffer, u.byteOffset, words), scale);
      };
    }
    case A.Type.Struct: {
      const kids = t.children.map((f: A.Field) => [f.name, converter(f.type, opts)] as const);
      return (v) => {
        if (v == null) return v;
        const row = v as { [k: string]: unknown };
        const out: Record<string, unknown> = {};
        for (const [name, conv] of kids) out[name] = conv(row[name]);
        return out;
      };
    }
    case A.Type.List:
    case A.Type.LargeList:
    case A.Type.FixedSizeList: {
      const conv = converter(t.children[0]!.type, opts);
      return (v) => (v == null ? v : Array.from(v as A.Vector, conv));
    }
    case A.Type.Map: {
      const entry = t.children[0]!.type as A.Struct;
      const key = converter(entry.children[0]!.type, opts);
      const val = converter(entry.children[1]!.type, opts);
      return (v) => (v == null ? v : Array.from(v as A.MapRow<any, any>, ([k, x]: [unknown, unknown]) => [key(k), val(x)]));
    }
    case A.Type.Dictionary:
      return converter((t as A.Dictionary).dictionary, opts);
    case A.Type.Interval:
      return (v) => (v == null ? v : Array.from(v as Int32Array));
    default:
      return (v) => v;
  }
}


/** Rows as plain objects keyed by column name. */
export function toRows(data: A.Table | A.RecordBatch, opts: RowOptions = {}): Array<Record<string, unknown>> {
  const cols = data.schema.fields.map((f, i) => ({ name: f.name, vector: data.getChildAt(i)!, conv: converter(f.type, opts) }));
  const out = new Array<Record<string, unknown>>(data.numRows);
  for (let r = 0; r < data.numRows; r++) {
    const row: Record<string, unknown> = {};
    for (const c of cols) row[c.name] = c.conv(c.vector.get(r));
    out[r] = row;
  }
  return out;
}

/** One plain array per column, keyed by column name. */
export function toColumns(data: A.Table | A.RecordBatch, opts: RowOptions = {}): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [i, f] of data.schema.fields.entries()) {
    const conv = converter(f.type, opts);
    const v = data.getChildAt(i)!;
    const col = new Array<unknown>(v.length);
    for (let r = 0; r < v.length; r++) col[r] = conv(v.get(r));
    out[f.name] = col;
  }
  return out;
}

