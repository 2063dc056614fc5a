// The flat encoding (ipc/flat-encode.ts): a batch of a schema whose columns are all flat is
// encoded in one pass. Its message must be the general path's (assemble the columns, lay out the
// body, frame the header), byte for byte and in every count; a batch off its path must go to the
// general path.
import test from 'ava';
import * as A from 'apache-arrow';
import { IpcEncoder, RecordBatchEncoder, type EncodedMessage } from '../src/index.js';
import { assembleColumns } from '../src/arrow/assemble.js';
import { flatPlan } from '../src/arrow/load.js';
import { fromArrowSchema } from '../src/arrow/schema.js';
import { encodeFlatBatch, flatEncoding } from '../src/ipc/flat-encode.js';
import { concatBytes, seededRandom } from './helpers/unit-helpers.js';
import { column, FLAT_TYPES, flatBatch } from './helpers/flat-batches.js';

/** What a message is: its bytes, their sizes, its kind. */
function describe(m: EncodedMessage): unknown {
  // (Bytes as hex: ava's diff of two long arrays takes minutes.)
  return { bytes: Buffer.from(concatBytes(m.buffers)).toString('hex'), byteLength: m.byteLength, metadataLength: m.metadataLength, bodyLength: m.bodyLength, kind: m.kind, prefix: m.buffers[0]!.byteLength };
}

/** The record batch message of `batch` by the general path. */
function general(batch: A.RecordBatch): EncodedMessage {
  const ipc = new IpcEncoder(fromArrowSchema(batch.schema));
  ipc.start();
  const a = assembleColumns(batch.data.children);
  return ipc.batchMessage({ type: 'recordBatch' }, batch.numRows, a.nodes, a.buffers, a.variadicBufferCounts, batch.metadata)[0]!;
}

/** The record batch message RecordBatchEncoder makes of `batch` (after its schema message). */
function encoded(batch: A.RecordBatch): EncodedMessage {
  const enc = new RecordBatchEncoder(batch.schema);
  enc.start();
  const out = enc.write(batch);
  if (out.length !== 1) throw new Error(`expected one message, got ${out.length}`);
  return out[0]!;
}

/** The flat encoding's message of `batch`, or null when it leaves the batch to the general path. */
function flat(batch: A.RecordBatch): EncodedMessage | null {
  const plan = flatPlan(fromArrowSchema(batch.schema).fields, batch.schema.fields);
  if (plan === null) throw new Error('expected a flat plan');
  return encodeFlatBatch(flatEncoding(plan), batch.data.children, batch.numRows);
}

test('a batch of every flat type encodes by the flat encoding exactly as by the general path', (t) => {
  let seed = 1;
  for (const length of [0, 1, 7, 9, 64, 301]) {
    for (const nulls of [false, true]) {
      const what = `${length} rows${nulls ? ' with nulls' : ''}`;
      const batch = flatBatch(length, nulls, seed++);
      const want = describe(general(batch));
      const got = flat(batch);
      if (got === null) return t.fail(`${what}: the flat encoding refused a plain batch`);
      t.deepEqual(describe(got), want, what);
      t.deepEqual(describe(encoded(batch)), want, `${what}, through RecordBatchEncoder`);
      // Column buffers go out as views of the batch's own memory, not copies.
      const values = batch.data.children[FLAT_TYPES.findIndex((x) => x.typeId === A.Type.Float)]!.values as Float64Array;
      if (length > 0) t.true(got.buffers.some((b) => b.buffer === values.buffer && b.byteOffset === values.byteOffset), `${what}: a view of the values`);
    }
  }
});

test('a file of flat batches indexes each batch the flat encoding made', (t) => {
  const batches = [flatBatch(5, true, 40), flatBatch(0, false, 41), flatBatch(70, true, 42)];
  const enc = new RecordBatchEncoder(batches[0]!.schema, 'file');
  const ipc = new IpcEncoder(fromArrowSchema(batches[0]!.schema), 'file');
  const mine = [...enc.start(), ...batches.flatMap((b) => enc.write(b)), ...enc.finish()];
  const theirs = [...ipc.start()];
  for (const b of batches) {
    const a = assembleColumns(b.data.children);
    theirs.push(...ipc.batchMessage({ type: 'recordBatch' }, b.numRows, a.nodes, a.buffers, a.variadicBufferCounts));
  }
  theirs.push(...ipc.finish());
  const hex = (ms: EncodedMessage[]) => Buffer.from(concatBytes(ms.flatMap((m) => m.buffers))).toString('hex');
  t.is(hex(mine), hex(theirs));
  t.is(enc.ipc.recordBatchCount, 3);
  t.is(enc.ipc.byteLength, ipc.byteLength);
});

test('a batch off the flat encoding\'s path goes to the general path', (t) => {
  const rand = seededRandom(9);
  const base = flatBatch(40, true, 8);
  const schema = base.schema;
  const utf8 = FLAT_TYPES.findIndex((x) => x.typeId === A.Type.Utf8);
  const int32 = FLAT_TYPES.findIndex((x) => x.typeId === A.Type.Int && (x as A.Int).bitWidth === 32);
  const withColumn = (i: number, d: A.Data): A.RecordBatch => {
    const children = base.data.children.slice();
    children[i] = d;
    return new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: 40, nullCount: 0, children }));
  };
  const u = base.data.children[utf8]! as A.Data<A.Utf8>;
  const shifted = Int32Array.from(u.valueOffsets, (o) => o + 3);
  const backwards = Int32Array.from(u.valueOffsets);
  backwards[40] = -4;
  // Without the binaries, whose sliced offsets no longer start at zero (refused for that alone).
  const fixed = base.selectAt(FLAT_TYPES.flatMap((x, i) => ([A.Type.Utf8, A.Type.Binary, A.Type.LargeUtf8, A.Type.LargeBinary].includes(x.typeId) ? [] : [i])));
  t.not(flat(fixed), null);
  const cases: Array<[string, A.RecordBatch]> = [
    ['a slice (data at an offset)', base.slice(3, 30)],
    ['a slice of fixed-width and bool columns', fixed.slice(3, 30)],
    ['a slice of fixed-width and bool columns at a whole byte of their bitmaps', fixed.slice(8, 30)],
    ['utf8 offsets that start past zero', withColumn(utf8, A.makeData({ type: u.type, length: 40, nullCount: u.nullCount, nullBitmap: u.nullBitmap, valueOffsets: shifted, data: concatBytes([new Uint8Array(3), u.values]) }))],
    ['utf8 with too few offsets', withColumn(utf8, new A.Data(u.type, 0, 40, 0, [u.valueOffsets.subarray(0, 40), u.values, undefined] as never))],
    ['utf8 whose last offset is negative', withColumn(utf8, new A.Data(u.type, 0, 40, 0, [backwards, u.values, undefined] as never))],
    ['int32 values held in a Uint8Array', withColumn(int32, new A.Data(schema.fields[int32]!.type, 0, 40, 0, [undefined, new Uint8Array(160).fill(7), undefined] as never))],
    ['a column of another type object than the schema\'s', withColumn(int32, column(new A.Int32(), 40, true, rand))],
  ];
  for (const [what, batch] of cases) {
    t.is(flat(batch), null, `${what}: refused`);
    t.deepEqual(describe(encoded(batch)), describe(general(batch)), `${what}: encoded by the general path`);
  }
  // Values shorter than the column (malformed): both paths send what there is.
  const short = withColumn(int32, new A.Data(schema.fields[int32]!.type, 0, 40, 0, [undefined, new Int32Array(10).fill(7), undefined] as never));
  t.deepEqual(describe(flat(short)!), describe(general(short)), 'int32 values shorter than the column');
  // Custom metadata: not for the flat encoding, which writes none (RecordBatchEncoder checks).
  const tagged = new A.RecordBatch(schema, base.data, new Map([['k', 'v']]));
  t.deepEqual(describe(encoded(tagged)), describe(general(tagged)), 'a batch with custom metadata');
  t.notDeepEqual(describe(encoded(tagged)), describe(general(base)));
});

test('a schema with a column that is not flat, or a compressed encoder, has no flat encoding', (t) => {
  const list = new A.Schema([new A.Field('l', new A.List(new A.Field('x', new A.Int32(), true)), true)]);
  t.is(flatPlan(fromArrowSchema(list).fields, list.fields), null);
  // Compressed: the general path, whose bytes pyarrow's tests judge (the plan writes no compression).
  const batch = flatBatch(20, true, 3);
  const enc = new RecordBatchEncoder(batch.schema, 'stream', { compression: 'lz4' });
  enc.start();
  t.notDeepEqual(describe(enc.write(batch)[0]!), describe(general(batch)));
});
