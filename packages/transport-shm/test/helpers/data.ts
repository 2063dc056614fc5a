// Test data usable outside ava (child processes, workers): batch number `i` is in every value,
// so a batch decoded against the wrong dictionary, or a torn one, does not pass for another.
import * as A from 'apache-arrow';
import { RecordBatchEncoder } from '@quiver/core';

export const dictType = new A.Dictionary(new A.Utf8(), new A.Int32());
export const schema = new A.Schema([new A.Field('x', new A.Int32()), new A.Field('s', dictType)]);

/** Batch `i`: x = i*rows .. i*rows+rows-1, s = `b<i>-<j % 3>` from a dictionary of its own. */
export function batch(i: number, rows = 10): A.RecordBatch {
  const x = A.makeData({ type: new A.Int32(), data: Int32Array.from({ length: rows }, (_, j) => i * rows + j) });
  const s = A.vectorFromArray(Array.from({ length: rows }, (_, j) => `b${i}-${j % 3}`), dictType).data[0]!;
  return new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: rows, nullCount: 0, children: [x, s] }));
}

/** The number of a batch made by {@link batch}, or -1 if any value is not what it should be. */
export function batchNumber(b: A.RecordBatch, rows = 10): number {
  const x = b.getChild('x')!;
  const s = b.getChild('s')!;
  const i = Math.floor((x.get(0) as number) / rows);
  for (let j = 0; j < b.numRows; j++) if (x.get(j) !== i * rows + j || s.get(j) !== `b${i}-${j % 3}`) return -1;
  return b.numRows === rows ? i : -1;
}

/** The bytes of batch `i`'s messages (its dictionary, then the batch) in a stream of batches 0..i. */
export function messagesOfBatch(i: number): Uint8Array {
  const enc = new RecordBatchEncoder(schema, 'stream');
  enc.start();
  for (let j = 0; j < i; j++) enc.write(batch(j));
  return new Uint8Array(Buffer.concat(enc.write(batch(i)).flatMap((m) => m.buffers)));
}
