// The flat plan (arrow/load.ts): a schema whose columns are all flat loads its batches straight
// from the body. Every batch it loads must be the batch the general path (readBodyBuffers, then
// loadRecordBatch) makes, byte for byte; anything off its path must go to the general path, with
// the general path's error.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import * as A from 'apache-arrow';
import { BatchDecoder, QuiverError, readBodyBuffers, type Message, type RawMessage, type RecordBatchHeader } from '../src/index.js';
import { flatPlan, loadFlatBatch, loadRecordBatch } from '../src/arrow/load.js';
import { collectMessages, encode, seededRandom } from './helpers/unit-helpers.js';
import { column, FLAT_TYPES, flatBatch } from './helpers/flat-batches.js';

/** The schema message and one record batch message of `batch`, decoded as a reader would. */
async function messagesOf(batch: A.RecordBatch): Promise<{ decoder: BatchDecoder; message: Message; header: RecordBatchHeader; body: Uint8Array }> {
  const messages = (await collectMessages(encode(batch.schema, [batch]))).filter((x): x is RawMessage => x !== 'eos');
  const schema = messages[0];
  const m = messages.find((x) => x.message.header.type === 'recordBatch');
  if (schema!.message.header.type !== 'schema') throw new Error('expected a schema message');
  const message = m!.message;
  if (message.header.type !== 'recordBatch') throw new Error('expected a record batch message');
  // A body of its own (8-aligned), as the tests below move and change it.
  const body = m!.body.slice();
  return { decoder: new BatchDecoder(schema!.message.header.schema, schema!.message.version), message, header: message.header.batch, body };
}

/** The batch as the general path loads it. */
function general(decoder: BatchDecoder, message: Message, body: Uint8Array): A.RecordBatch {
  const h = (message.header as { batch: RecordBatchHeader }).batch;
  return loadRecordBatch(decoder.schema.fields, decoder.arrowSchema, h, readBodyBuffers(h, body), decoder.dictionaries, decoder.version, message.metadata);
}

/** Everything a Data holds that is read: its numbers, and each buffer's class and bytes. */
function describe(d: A.Data): unknown {
  const bytes = (v: ArrayBufferView | undefined) => (v === undefined ? undefined : [v.constructor.name, [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)]]);
  return {
    typeId: d.typeId,
    type: String(d.type),
    offset: d.offset,
    length: d.length,
    nullCount: d.nullCount,
    storedNullCount: (d as unknown as { _nullCount: number })._nullCount,
    stride: d.stride,
    valueOffsets: bytes(d.valueOffsets),
    values: bytes(d.values),
    nullBitmap: bytes(d.nullBitmap),
    typeIds: d.typeIds,
    dictionary: d.dictionary,
    children: d.children.length,
    variadicBuffers: d.variadicBuffers.length,
  };
}

function sameBatch(t: ExecutionContext, got: A.RecordBatch, want: A.RecordBatch, what: string): void {
  t.is(got.numRows, want.numRows, what);
  t.is(got.schema, want.schema, what);
  t.deepEqual(got.data.children.map(describe), want.data.children.map(describe), what);
  t.deepEqual(describe(got.data), describe(want.data), `${what}: the struct`);
}

test('a batch of every flat type loads by the plan exactly as by the general path', async (t) => {
  let seed = 1;
  for (const length of [0, 1, 9, 64, 301]) {
    for (const nulls of [false, true]) {
      const what = `${length} rows${nulls ? ' with nulls' : ''}`;
      const { decoder, message, header, body } = await messagesOf(flatBatch(length, nulls, seed++));
      const plan = flatPlan(decoder.schema.fields, decoder.arrowSchema.fields);
      if (plan === null) return t.fail('every column is flat: expected a plan');
      const planned = loadFlatBatch(plan, decoder.arrowSchema, header, body, message.metadata);
      if (planned === null) return t.fail(`${what}: the plan refused a well-formed batch`);
      sameBatch(t, planned, general(decoder, message, body), what);
      // Every Data it makes (the struct too) has one shape: all fields, in the constructor's order.
      const keys = 'type,children,dictionary,offset,length,_nullCount,stride,valueOffsets,values,nullBitmap,typeIds,variadicBuffers';
      for (const d of [planned.data, ...planned.data.children]) t.is(Object.keys(d).join(), keys);
      t.true(planned.data.children.every((d) => d instanceof A.Data));
      // The decoder takes the plan's path: its columns are of that one shape.
      const decoded = decoder.apply(message, body)!;
      t.is(Object.keys(decoded.data.children[0]!).join(), keys, what);
      sameBatch(t, decoded, planned, `${what}, through BatchDecoder`);
    }
  }
});

test('the plan views the body in place, and copies a misaligned body', async (t) => {
  const { decoder, message, header, body } = await messagesOf(flatBatch(40, true, 7));
  const plan = flatPlan(decoder.schema.fields, decoder.arrowSchema.fields)!;
  const inPlace = loadFlatBatch(plan, decoder.arrowSchema, header, body, message.metadata)!;
  const int64 = FLAT_TYPES.findIndex((x) => x.typeId === A.Type.Int && (x as A.Int).bitWidth === 64);
  t.is((inPlace.data.children[int64]!.values as BigInt64Array).buffer, body.buffer, 'aligned: a view of the body');
  for (const shift of [1, 2, 4, 7]) {
    const memory = new Uint8Array(body.byteLength + 8);
    const moved = memory.subarray(shift, shift + body.byteLength);
    moved.set(body);
    const got = loadFlatBatch(plan, decoder.arrowSchema, header, moved, message.metadata)!;
    sameBatch(t, got, general(decoder, message, moved), `byteOffset ${shift}`);
    sameBatch(t, got, inPlace, `byteOffset ${shift} against the aligned body`);
    for (const d of got.data.children) {
      for (const v of [d.values, d.valueOffsets, d.nullBitmap] as (ArrayBufferView | undefined)[]) {
        if (v && v.byteLength > 0) t.not(v.buffer, memory.buffer, `byteOffset ${shift}: ${String(d.type)} was copied`);
      }
    }
  }
});

test('a schema with a column that is not flat has no plan', async (t) => {
  const cases: A.DataType[] = [
    new A.List(new A.Field('item', new A.Int32(), true)),
    new A.Struct([new A.Field('a', new A.Int32(), true)]),
    new A.Dictionary(new A.Utf8(), new A.Int32(), 0),
    new A.Null(),
  ];
  for (const type of cases) {
    const rand = seededRandom(3);
    const ints = column(new A.Int32(), 3, false, rand);
    const other = type instanceof A.Dictionary
      ? A.makeData({ type, length: 3, nullCount: 0, data: new Int32Array(3), dictionary: A.vectorFromArray(['x'], new A.Utf8()) })
      : A.vectorFromArray([null, null, null], type).data[0]!;
    const fields = [new A.Field('i', new A.Int32(), true), new A.Field('o', type, true)];
    const batch = new A.RecordBatch(new A.Schema(fields), A.makeData({ type: new A.Struct(fields), length: 3, nullCount: 0, children: [ints, other] }));
    const { decoder } = await messagesOf(batch);
    t.is(flatPlan(decoder.schema.fields, decoder.arrowSchema.fields), null, String(type));
  }
});

/** What a call throws, as code and message (or 'no error'). */
function thrown(f: () => unknown): string {
  try {
    f();
    return 'no error';
  } catch (e) {
    return e instanceof QuiverError ? `${e.code}: ${e.message}` : `not a QuiverError: ${String(e)}`;
  }
}

test('a batch off the plan\'s path goes to the general path, which reports what is wrong', async (t) => {
  const utf8 = FLAT_TYPES.findIndex((x) => x.typeId === A.Type.Utf8);
  const int32 = FLAT_TYPES.findIndex((x) => x.typeId === A.Type.Int && (x as A.Int).bitWidth === 32);
  // Buffer index of each column's first buffer (validity): two per column, three for binaries.
  const first = (col: number) => FLAT_TYPES.slice(0, col).reduce((n, x) => n + ([A.Type.Utf8, A.Type.Binary, A.Type.LargeUtf8, A.Type.LargeBinary].includes(x.typeId) ? 3 : 2), 0);
  const spoil: Array<[string, (h: RecordBatchHeader, body: Uint8Array) => void]> = [
    ['a column longer than its batch', (h) => (h.nodes[int32]!.length += 1)],
    ['a buffer past the end of the body', (h, body) => (h.buffers[first(int32) + 1]!.offset = body.byteLength)],
    ['a values buffer too short', (h) => (h.buffers[first(int32) + 1]!.length = 4)],
    ['a validity bitmap too short', (h) => (h.buffers[first(int32)]!.length = 0)],
    ['utf8 offsets too short', (h) => (h.buffers[first(utf8) + 1]!.length = 8)],
    ['utf8 offsets past the data', (h, body) => {
      const o = h.buffers[first(utf8) + 1]!;
      new DataView(body.buffer, body.byteOffset).setInt32(o.offset + 4 * 20, 1 << 20, true);
    }],
    ['a buffer too many', (h) => h.buffers.push({ offset: 0, length: 0 })],
    ['a field node too few', (h) => h.nodes.pop()],
  ];
  for (const [what, change] of spoil) {
    const { decoder, message, header, body } = await messagesOf(flatBatch(20, true, 11));
    change(header, body);
    const plan = flatPlan(decoder.schema.fields, decoder.arrowSchema.fields)!;
    t.is(loadFlatBatch(plan, decoder.arrowSchema, header, body, message.metadata), null, `${what}: the plan refuses it`);
    const want = thrown(() => general(decoder, message, body));
    t.is(thrown(() => decoder.apply(message, body)), want, what);
    // (A buffer too many is no error: the general path ignores it, as Arrow C++ does.)
    if (what !== 'a buffer too many') t.regex(want, /^ERR_QUIVER_INVALID_IPC/, what);
  }
  // A compressed body, too, is the general path's.
  const { decoder, message, header, body } = await messagesOf(flatBatch(3, false, 12));
  t.is(loadFlatBatch(flatPlan(decoder.schema.fields, decoder.arrowSchema.fields)!, decoder.arrowSchema, { ...header, compression: 'lz4' }, body, message.metadata), null);
});
