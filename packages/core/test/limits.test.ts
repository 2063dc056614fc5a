// The reader limits (ReadLimits), each at its edge: input exactly at the limit reads, one over
// fails with a LimitExceededError (ERR_QUIVER_MESSAGE_TOO_LARGE) naming the limit, its value and
// what the input had. Through StreamReader and FileReader; the defaults are checked at their edge
// where that is cheap (depth, fields), and accept every golden file (the other tests read them
// all with the defaults).
import test from 'ava';
import * as A from 'apache-arrow';
import { readFileSync } from 'node:fs';
import { goldenCases, type GoldenCase } from '@quiver/testkit';
import {
  DEFAULT_LIMITS, decodeMessage, ErrorCode, FileReader, IpcEncoder, LimitExceededError, RecordBatchEncoder, StreamReader,
  type ArrowType, type Field, type LimitOption, type ReadLimits, type Schema,
} from '../src/index.js';
import { fileLayout, streamLayout } from './helpers/layout.js';

const golden = (key: string): GoldenCase => goldenCases().find((c) => `${c.version}/${c.name}` === key)!;

async function readStream(bytes: Uint8Array, opts: ReadLimits): Promise<number> {
  let n = 0;
  for await (const _ of await StreamReader.open(bytes, opts)) n++;
  return n;
}

async function readFile(bytes: Uint8Array, opts: ReadLimits): Promise<number> {
  const r = await FileReader.open(bytes, opts);
  let n = 0;
  for await (const _ of r) n++;
  return n;
}

/** Asserts `p` fails with a LimitExceededError for `option` at `limit`, the input having `value`. */
async function over(t: import('ava').ExecutionContext, p: Promise<unknown>, option: LimitOption, limit: number, value: number, what?: string): Promise<void> {
  const e = await t.throwsAsync(p, { instanceOf: LimitExceededError, code: ErrorCode.MESSAGE_TOO_LARGE }, what);
  t.like(e, { option, limit, value }, what);
}

const field = (name: string, type: ArrowType, children: Field[] = [], dictionary: Field['dictionary'] = null): Field => ({
  name,
  nullable: true,
  type,
  children,
  dictionary,
  metadata: new Map(),
});
const schemaOf = (fields: Field[]): Schema => ({ fields, metadata: new Map(), endianness: 'little', features: [] });

/** A stream (schema and end-of-stream, no batches) or a file of `schema`. */
function encoded(schema: Schema, form: 'stream' | 'file'): Uint8Array {
  const enc = new IpcEncoder(schema, form);
  return new Uint8Array(Buffer.concat([...enc.start(), ...enc.finish()].flatMap((m) => m.buffers)));
}

/** A field nested `depth` levels deep: structs around an int32. */
function nested(depth: number): Field {
  let f = field('leaf', { kind: 'int', bitWidth: 32, signed: true });
  for (let d = 1; d < depth; d++) f = field(`level${depth - d}`, { kind: 'struct' }, [f]);
  return f;
}

// ---- maxMessageBytes -------------------------------------------------------------------------

test('maxMessageBytes: the largest message of a stream and of a file reads at its size, one byte less fails', async (t) => {
  const c = golden('1.0.0-littleendian/primitive');
  const stream = new Uint8Array(readFileSync(c.stream));
  const largest = Math.max(...streamLayout(stream).messages.map((m) => m.end - m.start));
  t.is(await readStream(stream, { maxMessageBytes: largest }), await readStream(stream, {}));
  await over(t, readStream(stream, { maxMessageBytes: largest - 1 }), 'maxMessageBytes', largest - 1, largest, 'stream');

  const file = new Uint8Array(readFileSync(c.file));
  const largestBlock = Math.max(...fileLayout(file).messages.map((m) => m.end - m.start));
  t.is(largestBlock, largest, 'a message takes the same bytes in a file');
  t.is(await readFile(file, { maxMessageBytes: largest }), await readFile(file, {}));
  await over(t, readFile(file, { maxMessageBytes: largest - 1 }), 'maxMessageBytes', largest - 1, largest, 'file');
});

test('maxMessageBytes: a message whose metadata alone is over the limit fails before its body is awaited', async (t) => {
  const stream = new Uint8Array(readFileSync(golden('1.0.0-littleendian/primitive').stream));
  const first = streamLayout(stream).messages[0]!;
  const metadata = first.bodyStart - first.start;
  // Only the first message's metadata, and nothing after it: the limit decides before more is needed.
  await over(t, readStream(stream.subarray(0, first.bodyStart), { maxMessageBytes: metadata - 1 }), 'maxMessageBytes', metadata - 1, metadata);
});

// ---- maxBufferBytes --------------------------------------------------------------------------

test('maxBufferBytes: the largest decompressed buffer of a compressed stream reads at its size, one byte less fails', async (t) => {
  for (const key of ['2.0.0-compression/lz4', '2.0.0-compression/zstd']) {
    const stream = new Uint8Array(readFileSync(golden(key).stream));
    // Each compressed buffer starts with its decompressed length (int64; -1 when stored raw).
    let largest = 0;
    for (const m of streamLayout(stream).messages) {
      const h = decodeMessage(stream.subarray(m.start + 8, m.bodyStart)).header;
      if (h.type === 'schema') continue;
      for (const b of h.batch.buffers) {
        if (b.length < 8) continue;
        const declared = new DataView(stream.buffer, stream.byteOffset + m.bodyStart + b.offset, 8).getBigInt64(0, true);
        if (declared > largest) largest = Number(declared);
      }
    }
    t.true(largest > 0, `${key}: a compressed buffer`);
    t.true((await readStream(stream, { maxBufferBytes: largest })) > 0, key);
    await over(t, readStream(stream, { maxBufferBytes: largest - 1 }), 'maxBufferBytes', largest - 1, largest, key);
  }
});

// ---- maxDepth and maxFields --------------------------------------------------------------------

test('maxDepth: a schema exactly that deep reads, one level deeper fails (stream and file footer); the default is 64', async (t) => {
  for (const depth of [1, 2, 5]) {
    const schema = schemaOf([field('flat', { kind: 'utf8' }), nested(depth)]);
    t.is((await StreamReader.open(encoded(schema, 'stream'), { maxDepth: depth })).ipcSchema.fields.length, 2);
    await over(t, StreamReader.open(encoded(schema, 'stream'), { maxDepth: depth - 1 }), 'maxDepth', depth - 1, depth, `stream, depth ${depth}`);
    t.is((await FileReader.open(encoded(schema, 'file'), { maxDepth: depth })).numRecordBatches, 0);
    await over(t, FileReader.open(encoded(schema, 'file'), { maxDepth: depth - 1 }), 'maxDepth', depth - 1, depth, `file, depth ${depth}`);
  }
  t.is(DEFAULT_LIMITS.maxDepth, 64);
  const deepest = await StreamReader.open(encoded(schemaOf([nested(64)]), 'stream'));
  t.is(deepest.schema.fields.length, 1, 'apache-arrow holds 64 levels too');
  await over(t, StreamReader.open(encoded(schemaOf([nested(65)]), 'stream')), 'maxDepth', 64, 65, 'default');
});

test('maxFields: nested children count; exactly that many fields read, one more fails; the default is 100,000', async (t) => {
  // 2 top-level fields, a struct of 2 and a list of 1: 5 fields.
  const schema = schemaOf([
    field('s', { kind: 'struct' }, [field('a', { kind: 'bool' }), field('b', { kind: 'utf8' })]),
    field('l', { kind: 'list' }, [field('item', { kind: 'float', precision: 'double' })]),
  ]);
  t.is((await StreamReader.open(encoded(schema, 'stream'), { maxFields: 5 })).ipcSchema.fields.length, 2);
  await over(t, StreamReader.open(encoded(schema, 'stream'), { maxFields: 4 }), 'maxFields', 4, 5, 'stream');
  await over(t, FileReader.open(encoded(schema, 'file'), { maxFields: 4 }), 'maxFields', 4, 5, 'file');

  t.is(DEFAULT_LIMITS.maxFields, 100_000);
  const wide = (n: number) => encoded(schemaOf(Array.from({ length: n }, (_, i) => field(`f${i}`, { kind: 'null' }))), 'stream');
  t.is((await StreamReader.open(wide(100_000))).ipcSchema.fields.length, 100_000);
  await over(t, StreamReader.open(wide(100_001)), 'maxFields', 100_000, 100_001, 'default');
});

// ---- maxDictionaryBytes ----------------------------------------------------------------------

/**
 * A stream with one dictionary column: batch 1 carries a dictionary of three chunks (sent as a
 * full dictionary and two deltas), batch 2 a new dictionary (a replacement). Returns the stream
 * and the bytes the dictionary holds after each dictionary message.
 */
async function dictionaryStream(): Promise<{ bytes: Uint8Array; held: number[] }> {
  const type = new A.Dictionary(new A.Utf8(), new A.Int32());
  const chunks = [['alpha', 'beta'], ['gamma'], ['delta', 'epsilon', 'zeta']].map((v) => A.vectorFromArray(v, new A.Utf8()));
  const grown = chunks.slice(1).reduce((v, c) => v.concat(c), chunks[0]!);
  const replaced = A.vectorFromArray(['x', 'y'], new A.Utf8());
  const batch = (dictionary: A.Vector, indices: number[]) => {
    const data = A.makeData({ type, length: indices.length, nullCount: 0, data: Int32Array.from(indices), dictionary });
    return new A.RecordBatch({ d: data });
  };
  const b1 = batch(grown, [0, 5, 2]);
  const enc = new RecordBatchEncoder(b1.schema, 'stream', { dictionaryDeltas: true });
  const messages = [...enc.write(b1), ...enc.write(batch(replaced, [1, 0])), ...enc.finish()];
  const held: number[] = [];
  for (const m of messages.filter((x) => x.kind === 'dictionaryBatch')) {
    const h = decodeMessage(m.buffers[1]!).header;
    if (h.type !== 'dictionaryBatch') continue;
    const size = h.batch.buffers.reduce((n, b) => n + b.length, 0);
    held.push((h.isDelta ? held.at(-1)! : 0) + size);
  }
  return { bytes: new Uint8Array(Buffer.concat(messages.flatMap((m) => m.buffers))), held };
}

test('maxDictionaryBytes: a dictionary with its deltas reads at its size, one byte less fails at the delta; a replacement starts again', async (t) => {
  const { bytes, held } = await dictionaryStream();
  t.is(held.length, 4, 'a dictionary, two deltas, a replacement');
  const grown = held[2]!;
  t.true(held[3]! < grown && held[0]! < grown);
  t.is(await readStream(bytes, { maxDictionaryBytes: grown }), 2);
  t.deepEqual(
    [...(await StreamReader.open(bytes, { maxDictionaryBytes: grown }).then((r) => r.readAll())).getChild('d')!],
    ['alpha', 'zeta', 'gamma', 'y', 'x'],
  );
  await over(t, readStream(bytes, { maxDictionaryBytes: grown - 1 }), 'maxDictionaryBytes', grown - 1, grown);
  // One over the first delta's total: the first delta fails.
  await over(t, readStream(bytes, { maxDictionaryBytes: held[1]! - 1 }), 'maxDictionaryBytes', held[1]! - 1, held[1]!);
});

// ---- the options themselves --------------------------------------------------------------------

test('a limit that is not a count is ERR_QUIVER_INVALID_ARGUMENT; 0 and Infinity are limits', async (t) => {
  const stream = new Uint8Array(readFileSync(golden('1.0.0-littleendian/primitive').stream));
  for (const bad of [-1, 1.5, NaN, '64', null]) {
    await t.throwsAsync(readStream(stream, { maxDepth: bad as number }), { code: ErrorCode.INVALID_ARGUMENT }, String(bad));
    await t.throwsAsync(readStream(stream, { maxMessageBytes: bad as number }), { code: ErrorCode.INVALID_ARGUMENT }, String(bad));
  }
  await over(t, readStream(stream, { maxFields: 0 }), 'maxFields', 0, 1);
  t.true((await readStream(stream, { maxMessageBytes: Infinity, maxFields: Infinity })) > 0);
});
