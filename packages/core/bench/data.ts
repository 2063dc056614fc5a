/**
 * Benchmark data shared by Quiver's benches: deterministic apache-arrow tables, so every run and
 * every package measures the same bytes.
 */
import * as A from 'apache-arrow';

/** mulberry32: a small seeded PRNG, so every run benchmarks the same bytes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = new TextEncoder().encode('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_');

/** One table of one record batch: int64, float64, and utf8 with ~10% nulls (0-16 ASCII bytes). */
export function makeTable(rows: number, seed = 42): A.Table {
  const rand = prng(seed);
  const ints = new BigInt64Array(rows);
  const halves = new Int32Array(ints.buffer);
  for (let i = 0; i < rows; i++) {
    halves[2 * i] = (rand() * 0x100000000) | 0;
    halves[2 * i + 1] = ((rand() - 0.5) * 0x200000) | 0; // keeps values inside ±2^52
  }
  const floats = new Float64Array(rows);
  for (let i = 0; i < rows; i++) floats[i] = (rand() - 0.5) * 1e6;

  const offsets = new Int32Array(rows + 1);
  const validity = new Uint8Array((rows + 7) >> 3);
  const chars = new Uint8Array(rows * 16);
  let end = 0;
  let nullCount = 0;
  for (let i = 0; i < rows; i++) {
    if (rand() < 0.1) {
      nullCount++;
    } else {
      validity[i >> 3]! |= 1 << (i & 7);
      const len = Math.floor(rand() * 17);
      for (let j = 0; j < len; j++) chars[end++] = ALPHABET[Math.floor(rand() * ALPHABET.length)]!;
    }
    offsets[i + 1] = end;
  }
  const data = {
    i64: A.makeVector(A.makeData({ type: new A.Int64(), length: rows, data: ints })),
    f64: A.makeVector(A.makeData({ type: new A.Float64(), length: rows, data: floats })),
    str: A.makeVector(
      A.makeData({ type: new A.Utf8(), length: rows, nullCount, nullBitmap: validity, valueOffsets: offsets, data: chars.slice(0, end) }),
    ),
  };
  const table = new A.Table(data);
  if (table.batches.length !== 1) throw new Error('expected one record batch');
  return table;
}

/**
 * What a consumer does with each batch, so no implementation can skip work by being lazy: every
 * value of the int64 and float64 columns is read (summed), and the utf8 column's offsets and null
 * count give the total string length. Returns a checksum, identical for identical batches.
 * The int64 values are summed as doubles from their 32-bit halves: reading them as BigInt would
 * make the benchmark measure BigInt allocation, not the transport.
 */
export function touch(batch: A.RecordBatch): number {
  let sum = 0;
  for (let c = 0; c < batch.numCols; c++) {
    const data = batch.getChildAt(c)!.data[0]!;
    const values = data.values as ArrayLike<number | bigint> & ArrayBufferView;
    const n = data.length;
    if (values instanceof BigInt64Array) {
      const w = new Int32Array(values.buffer, values.byteOffset + data.offset * 8, n * 2);
      for (let i = 0; i < 2 * n; i += 2) sum += (w[i]! >>> 0) + w[i + 1]! * 4294967296;
    } else if (values instanceof Float64Array) {
      for (let i = data.offset; i < data.offset + n; i++) sum += values[i]!;
    } else {
      const offsets = data.valueOffsets as Int32Array;
      sum += offsets[data.offset + n]! - offsets[data.offset]! + data.nullCount;
    }
  }
  return sum;
}

/**
 * The lighter consumer: every column touched once — its length, null count, and its first and
 * last value (for utf8, its first and last offset) — so each column must really have been decoded,
 * but the cost no longer grows with the rows. What a benchmark of moving batches should charge
 * the consumer: {@link touch}'s loop over every value costs the same for every Node implementation
 * and is a language's loop speed (pyarrow sums in C++), not the transport's.
 */
export function touchColumns(batch: A.RecordBatch): number {
  let sum = 0;
  for (let c = 0; c < batch.numCols; c++) {
    const d = batch.getChildAt(c)!.data[0]!;
    sum += d.length + d.nullCount;
    if (d.length === 0) continue;
    if (d.valueOffsets) {
      sum += Number(d.valueOffsets[d.offset]!) + Number(d.valueOffsets[d.offset + d.length]!);
    } else {
      const v = d.values as ArrayLike<number | bigint>;
      sum += Number(v[d.offset]!) + Number(v[d.offset + d.length - 1]!);
    }
  }
  return sum;
}

/** How a benchmark's consumer touches each batch: every value ({@link touch}) or every column ({@link touchColumns}). */
export type TouchMode = 'values' | 'columns';

export function toucher(mode: TouchMode): (batch: A.RecordBatch) => number {
  return mode === 'values' ? touch : touchColumns;
}

/** The `--touch` option of the benches: 'columns' (the default) or 'values'; anything else throws. */
export function touchModeOf(v: string | undefined): TouchMode {
  if (v === undefined || v === 'columns') return 'columns';
  if (v === 'values') return 'values';
  throw new Error(`--touch is columns or values, not ${v}`);
}
