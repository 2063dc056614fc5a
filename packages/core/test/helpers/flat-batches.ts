// Batches of every flat type (fixed-width, bool, the binaries), for the flat plans' tests: each
// plan must do exactly what the general path does.
import * as A from 'apache-arrow';
import { seededRandom } from './unit-helpers.js';

/** Every flat type apache-arrow models: fixed-width of each width, bool, and the four binaries. */
export const FLAT_TYPES: A.DataType[] = [
  new A.Int8(), new A.Int16(), new A.Int32(), new A.Int64(),
  new A.Uint8(), new A.Uint16(), new A.Uint32(), new A.Uint64(),
  new A.Float16(), new A.Float32(), new A.Float64(),
  new A.Decimal(2, 30, 128),
  new A.DateDay(), new A.DateMillisecond(),
  new A.TimeSecond(), new A.TimeMicrosecond(),
  new A.TimestampMillisecond(), new A.Timestamp(A.TimeUnit.NANOSECOND, 'UTC'),
  new A.DurationSecond(),
  new A.IntervalDayTime(), new A.IntervalYearMonth(), new A.IntervalMonthDayNano(),
  new A.FixedSizeBinary(5),
  new A.Bool(),
  new A.Utf8(), new A.Binary(), new A.LargeUtf8(), new A.LargeBinary(),
];

/** `n` random bytes. */
function randomBytes(rand: () => number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
}

/** A column of `type`, `length` long, of random bytes, with nulls when `nulls`. */
export function column(type: A.DataType, length: number, nulls: boolean, rand: () => number): A.Data {
  const nullBitmap = nulls ? randomBytes(rand, Math.ceil(length / 8)) : undefined;
  let nullCount = 0;
  if (nullBitmap) for (let i = 0; i < length; i++) if (!(nullBitmap[i >> 3]! & (1 << (i & 7)))) nullCount++;
  const typeId = type.typeId;
  if (typeId === A.Type.Bool) return A.makeData({ type: type as A.Bool, length, nullCount, nullBitmap, data: randomBytes(rand, Math.ceil(length / 8)) });
  if (typeId === A.Type.Utf8 || typeId === A.Type.Binary || typeId === A.Type.LargeUtf8 || typeId === A.Type.LargeBinary) {
    const ends = [0];
    for (let i = 0; i < length; i++) ends.push(ends[i]! + Math.floor(rand() * 6));
    const data = Uint8Array.from({ length: ends[length]! }, () => 97 + Math.floor(rand() * 26));
    const large = typeId === A.Type.LargeUtf8 || typeId === A.Type.LargeBinary;
    const valueOffsets = large ? BigInt64Array.from(ends, BigInt) : Int32Array.from(ends);
    return A.makeData({ type, length, nullCount, nullBitmap, valueOffsets, data } as never);
  }
  const Values = type.ArrayType as unknown as { new (b: ArrayBuffer): ArrayBufferView; BYTES_PER_ELEMENT: number };
  const stride = new A.Data(type, 0, 0, 0, [] as never).stride;
  const bytes = randomBytes(rand, length * stride * Values.BYTES_PER_ELEMENT);
  return A.makeData({ type, length, nullCount, nullBitmap, data: new Values(bytes.buffer as ArrayBuffer) } as never);
}

/** A batch of one column per flat type. */
export function flatBatch(length: number, nulls: boolean, seed: number): A.RecordBatch {
  const rand = seededRandom(seed);
  const fields = FLAT_TYPES.map((type, i) => new A.Field(`c${i}`, type, true));
  const schema = new A.Schema(fields);
  const columns = FLAT_TYPES.map((type) => column(type, length, nulls, rand));
  return new A.RecordBatch(schema, A.makeData({ type: new A.Struct(fields), length, nullCount: 0, children: columns }));
}

