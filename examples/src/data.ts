/** Deterministic sample data shared by the examples. */
import * as A from 'apache-arrow';

/**
 * The two topics of the publish/subscribe example. Batch `i` of a topic holds rows
 * `seq = i * rows .. i * rows + rows - 1`, so a subscriber can tell which batches it missed from
 * the `seq` column alone, and each topic has one numeric column whose sum is checked.
 */
export interface TopicSpec {
  name: string;
  /** Rows per batch. */
  rows: number;
  /** The column whose sum subscribers report. */
  sumColumn: string;
  /** The value `sumColumn` holds in the row of sequence number `seq`. */
  valueOf(seq: number): number;
  batch(i: number): A.RecordBatch;
}

const SENSORS = A.vectorFromArray(['north', 'south', 'east', 'west'], new A.Utf8());
const LEVELS = ['info', 'warn', 'error'].map((l) => new TextEncoder().encode(l));

/** A utf8 column of `LEVELS[(first + r) % 3]`, built directly (vectorFromArray is slow for this). */
function levelColumn(first: number, rows: number): A.Data {
  const offsets = new Int32Array(rows + 1);
  for (let r = 0; r < rows; r++) offsets[r + 1] = offsets[r]! + LEVELS[(first + r) % 3]!.length;
  const bytes = new Uint8Array(offsets[rows]!);
  for (let r = 0; r < rows; r++) bytes.set(LEVELS[(first + r) % 3]!, offsets[r]!);
  return A.makeData({ type: new A.Utf8(), length: rows, nullCount: 0, valueOffsets: offsets, data: bytes });
}

/** Sequence numbers of batch `i`. */
function seqColumn(i: number, rows: number): A.Data {
  const seq = new BigInt64Array(rows);
  for (let r = 0, s = BigInt(i * rows); r < rows; r++, s++) seq[r] = s;
  return A.makeData({ type: new A.Int64(), data: seq });
}

/**
 * Sensor readings: seq (int64), sensor (dictionary), value (float64, a quarter of seq: exact
 * sums in float64). Published on the `default` topic, the one a plain pyarrow reader gets.
 */
export const readings: TopicSpec = {
  name: 'default',
  rows: 2_000,
  sumColumn: 'value',
  valueOf: (seq) => seq / 4,
  batch(i) {
    const rows = this.rows;
    const sensor = new Int32Array(rows);
    const value = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      sensor[r] = (i + r) % 4;
      value[r] = (i * rows + r) / 4;
    }
    return new A.RecordBatch({
      seq: seqColumn(i, rows),
      // One dictionary object for every batch: the encoder sends it once, not per batch.
      sensor: A.makeData({
        type: new A.Dictionary(new A.Utf8(), new A.Int32(), 0),
        length: rows,
        nullCount: 0,
        data: sensor,
        dictionary: SENSORS,
      }),
      value: A.makeData({ type: new A.Float64(), data: value }),
    });
  },
};

/** Events: seq (int64), level (utf8), code (int32, seq mod 1000). A second topic, another schema. */
export const events: TopicSpec = {
  name: 'events',
  rows: 500,
  sumColumn: 'code',
  valueOf: (seq) => seq % 1000,
  batch(i) {
    const rows = this.rows;
    return new A.RecordBatch({
      seq: seqColumn(i, rows),
      level: levelColumn(i * rows, rows),
      code: A.makeData({ type: new A.Int32(), data: Int32Array.from({ length: rows }, (_, r) => (i * rows + r) % 1000) }),
    });
  },
};

/** The sum of `topic`'s checked column over the batches numbered `indices`, from first principles. */
export function expectedSum(topic: TopicSpec, indices: readonly number[]): number {
  let sum = 0;
  for (const i of indices) for (let r = 0; r < topic.rows; r++) sum += topic.valueOf(i * topic.rows + r);
  return sum;
}

/**
 * Bytes of a batch's column data (values, offsets, validity; dictionary indices but not the
 * dictionaries, which travel once per stream): what "bytes moved" means in the examples' figures.
 */
export function batchBytes(batch: A.RecordBatch): number {
  const of = (d: A.Data): number =>
    (d.values?.byteLength ?? 0) + (d.valueOffsets?.byteLength ?? 0) + (d.nullBitmap?.byteLength ?? 0) + d.children.reduce((a, c) => a + of(c), 0);
  return batch.data.children.reduce((a, c) => a + of(c), 0);
}
