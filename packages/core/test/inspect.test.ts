// inspect(): counts and compression equal the truth, and only metadata is read. A counting
// RandomAccessSource proves the second claim: on a ~50 MB source of 256 batches, the bytes read
// stay under 1% of its size, for both IPC forms, compressed or not. The truth for golden files
// comes from pyarrow (the judge); fuzz files must fail with a QuiverError, never anything else.
import test from 'ava';
import * as A from 'apache-arrow';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fuzzFiles, goldenCases, judge, tmpDir } from '@quiver/testkit';
import {
  ErrorCode,
  fieldTypeName,
  inspect,
  memorySource,
  QuiverError,
  tableToFile,
  tableToStream,
  type CompressionCodec,
  type RandomAccessSource,
} from '../src/index.js';

/** Wraps a source, counting the bytes and calls of every read. */
function counting(inner: RandomAccessSource): RandomAccessSource & { bytesRead: number; reads: number } {
  const c = {
    size: inner.size,
    bytesRead: 0,
    reads: 0,
    read(offset: number, length: number) {
      c.bytesRead += length;
      c.reads++;
      return inner.read(offset, length);
    },
  };
  return c;
}

const BATCHES = 256;
const BATCH_ROWS = 16384;

/** 256 batches of 16Ki rows: random float64 (barely compressible, so compressed sources stay over 40 MB) and an int32. */
function bigTable(): A.Table {
  let s = 42;
  const rand = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
  const batches: A.RecordBatch[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const x = new Float64Array(BATCH_ROWS);
    for (let i = 0; i < BATCH_ROWS; i++) x[i] = rand() * 1e6 + rand();
    const n = Int32Array.from({ length: BATCH_ROWS }, (_, i) => b * BATCH_ROWS + i);
    batches.push(new A.RecordBatch({ x: A.makeData({ type: new A.Float64(), data: x }), n: A.makeData({ type: new A.Int32(), data: n }) }));
  }
  return new A.Table(batches);
}

let table: A.Table | undefined;
const big = () => (table ??= bigTable());

const variants: Array<{ form: 'stream' | 'file'; compression: CompressionCodec | null }> = [];
for (const form of ['stream', 'file'] as const) for (const compression of [null, 'lz4', 'zstd'] as const) variants.push({ form, compression });

for (const { form, compression } of variants) {
  test.serial(`${form}, ${compression ?? 'uncompressed'}: exact counts from < 1% of the bytes`, async (t) => {
    const bytes = form === 'stream' ? await tableToStream(big(), { compression }) : await tableToFile(big(), { compression });
    t.true(bytes.byteLength > 30e6, `the source is ${bytes.byteLength} bytes`);
    const src = counting(memorySource(bytes));
    const r = await inspect(src);
    t.is(r.format, form);
    t.is(r.compression, compression ?? 'none');
    t.is(r.batches, BATCHES);
    t.is(r.rows, BATCHES * BATCH_ROWS);
    t.is(r.dictionaries, 0);
    t.is(r.size, bytes.byteLength);
    t.deepEqual(
      r.schema.fields.map((f) => [f.name, fieldTypeName(f)]),
      [
        ['x', 'float64'],
        ['n', 'int32'],
      ],
    );
    t.log(`read ${src.bytesRead} of ${bytes.byteLength} bytes in ${src.reads} reads`);
    t.true(src.bytesRead < bytes.byteLength / 100, `read ${src.bytesRead} of ${bytes.byteLength} bytes`);
    // Two reads per message at most (plus the magic and the footer): bodies are skipped, never fetched.
    t.true(src.reads <= 2 * (BATCHES + 1) + 4, `${src.reads} reads`);
  });
}

test('a path is read the same way as bytes', async (t) => {
  const dir = tmpDir(t);
  const small = big().slice(0, 3 * BATCH_ROWS + 5);
  for (const form of ['stream', 'file'] as const) {
    const path = join(dir, `small.${form}`);
    writeFileSync(path, form === 'stream' ? await tableToStream(small) : await tableToFile(small));
    const r = await inspect(path);
    t.is(r.format, form);
    t.is(r.batches, 4);
    t.is(r.rows, 3 * BATCH_ROWS + 5);
  }
});

test('dictionary batches are counted apart from record batches', async (t) => {
  const dict = A.vectorFromArray(['a', 'b', 'a', null], new A.Dictionary(new A.Utf8(), new A.Int32()));
  const tbl = new A.Table({ d: dict });
  for (const bytes of [await tableToStream(tbl), await tableToFile(tbl)]) {
    const r = await inspect(bytes);
    t.is(r.batches, 1);
    t.is(r.rows, 4);
    t.is(r.dictionaries, 1);
    t.is(fieldTypeName(r.schema.fields[0]!), 'dictionary<values=string, indices=int32>');
  }
});

test('a stream of only a schema has no batches; its compression is none', async (t) => {
  const empty = new A.Table(new A.Schema([new A.Field('a', new A.Int64())]));
  const r = await inspect(await tableToStream(empty, { compression: 'zstd' }));
  t.like(r, { format: 'stream', compression: 'none', batches: 0, rows: 0 });
});

test('truncated and empty inputs fail with their codes', async (t) => {
  const small = big().slice(0, 1000);
  const stream = await tableToStream(small);
  const file = await tableToFile(small);
  const code = async (b: Uint8Array) => ((await t.throwsAsync(inspect(b), { instanceOf: QuiverError })) as QuiverError).code;
  t.is(await code(new Uint8Array(0)), ErrorCode.INVALID_IPC);
  // Cut inside the body of the only record batch (the stream ends with an 8-byte EOS).
  t.is(await code(stream.subarray(0, stream.byteLength - 100)), ErrorCode.TRUNCATED);
  t.is(await code(stream.subarray(0, 6)), ErrorCode.TRUNCATED);
  t.is(await code(file.subarray(0, file.byteLength - 3)), ErrorCode.TRUNCATED);
  // A stream that simply lacks its EOS marker is complete (as in pyarrow).
  t.like(await inspect(stream.subarray(0, stream.byteLength - 8)), { batches: 1, rows: 1000 });
});

test('golden files: counts and compression agree with pyarrow', async (t) => {
  const cases = goldenCases();
  t.true(cases.length > 20);
  const paths = cases.flatMap((c) => [c.stream, c.file]);
  const canons = await judge.canonMany(paths);
  for (const [i, path] of paths.entries()) {
    const want = canons[i]!;
    const walked = await judge.inspect(path);
    const codecs = new Set(walked.messages.flatMap((m) => (m.compression ? [m.compression] : [])));
    const compression = codecs.size === 0 ? 'none' : codecs.size === 1 ? [...codecs][0] : 'mixed';
    const r = await inspect(path);
    t.deepEqual(
      { format: r.format, batches: r.batches, rows: r.rows, compression: r.compression, names: r.schema.fields.map((f) => f.name) },
      { format: want.format, batches: want.batches, rows: want.rows, compression, names: want.schema.map((f) => f.name) },
      path,
    );
  }
});

test('fuzz files: inspect either answers or throws a QuiverError', async (t) => {
  for (const path of fuzzFiles()) {
    try {
      await inspect(path);
    } catch (e) {
      t.true(e instanceof QuiverError, `${path}: ${String(e)}`);
    }
  }
  t.pass();
});
