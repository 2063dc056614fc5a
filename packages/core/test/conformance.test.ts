// Conformance of the core codec with Arrow C++, judged by pyarrow, for every golden integration
// case (arrow-testing 1.0.0-littleendian, 2.0.0-compression, 4.0.0-shareddict). One ava test per
// case; each:
//  (a) reads the case's .stream with StreamReader and its .arrow_file with FileReader, and checks
//      that the schema (names, types as pyarrow prints them, nullability, schema/field metadata),
//      the batch count, each batch's custom metadata and every value (canonical form) equal what
//      pyarrow reads from the same file;
//  (b) writes the data back as stream, file and Feather, each uncompressed, LZ4 and ZSTD, four
//      ways: the arrow-level writers (writeIpcFile / writeFeather) from the Table each reader made,
//      and message-level `convert` from the .stream and from the .arrow_file (36 files). pyarrow
//      must read every one as equal to the original, with the codec asked for in its metadata.
// The golden files are read in place (../shared); outputs go to a per-test temp dir.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goldenCases, judge, tmpDir, type GoldenCase } from '@quiver/testkit';
import { convert, fileSink, IpcEncoder, writeFeather, writeIpcFile, type ConvertResult, type Field, type Schema } from '../src/index.js';
import { expected, observed, readFileAt, readStreamAt } from './helpers/observe.js';

const CODECS = ['none', 'lz4', 'zstd'] as const;
type Codec = (typeof CODECS)[number];

interface Candidate {
  path: string;
  codec: Codec;
  how: string;
}

async function checkCase(t: ExecutionContext, c: GoldenCase): Promise<void> {
  const [canonStream, canonFile] = await judge.canonMany([c.stream, c.file]);

  // (a) our readers against pyarrow's reading of the same bytes.
  const fromStream = await readStreamAt(c.stream);
  t.deepEqual(observed(fromStream), expected(canonStream!), 'StreamReader differs from pyarrow on the .stream');
  const fromFile = await readFileAt(c.file);
  t.deepEqual(observed(fromFile), expected(canonFile!), 'FileReader differs from pyarrow on the .arrow_file');

  // (b) our writers, judged by pyarrow.
  const dir = tmpDir(t);
  const candidates: Candidate[] = [];
  const conversions: Array<{ how: string; result: ConvertResult }> = [];
  for (const codec of CODECS) {
    const compression = codec === 'none' ? null : codec;
    const out = (how: string) => {
      const path = join(dir, `${how}.${codec}`);
      candidates.push({ path, codec, how });
      return path;
    };
    for (const [table, label] of [[fromStream, 'stream'], [fromFile, 'file']] as const) {
      await writeIpcFile(out(`write-${label}-table-as-stream`), table, 'stream', { compression });
      await writeIpcFile(out(`write-${label}-table-as-file`), table, 'file', { compression });
      await writeFeather(table, out(`write-${label}-table-as-feather`), { compression: codec === 'none' ? 'uncompressed' : codec });
    }
    for (const [input, label] of [[c.stream, 'stream'], [c.file, 'file']] as const) {
      for (const format of ['stream', 'file', 'feather'] as const) {
        const how = `convert-${label}-to-${format}`;
        const result = await convert(input, await fileSink(out(how)), { format, compression: codec });
        conversions.push({ how: `${how}.${codec}`, result });
      }
    }
  }
  for (const { how, result } of conversions) {
    t.deepEqual(
      { recordBatches: result.recordBatches, rows: result.rows },
      { recordBatches: canonStream!.batches, rows: canonStream!.rows },
      `${how}: convert's counts`,
    );
  }

  const verdicts = await judge.equal(
    c.stream,
    candidates.map((x) => x.path),
  );
  t.is(verdicts.length, candidates.length);
  // Every buffer-bearing batch must say which codec compressed it; a case without rows may have
  // no batch at all, and then nothing says "compressed".
  const hasData = canonStream!.rows > 0;
  verdicts.forEach((v, i) => {
    const want = candidates[i]!;
    const name = `${want.how}.${want.codec}`;
    t.is(v.path, want.path);
    t.is(v.reason, null, `${name}: pyarrow reads it differently`);
    t.true(v.equal, `${name}: not equal`);
    if (hasData || want.codec === 'none') t.is(v.compression, want.codec, `${name}: compression`);
    else t.true(v.compression === want.codec || v.compression === 'none', `${name}: compression ${v.compression}`);
  });
}

const conformance = test.macro({
  exec: checkCase,
  title: (_title, c: GoldenCase) => `golden ${c.version}/${c.name}: our reader and writers agree with pyarrow`,
});

const cases = goldenCases();

test('the golden corpus is all there', (t) => {
  // 22 + 4 + 1 cases in arrow-testing: the suite must not pass on a partial checkout.
  t.is(cases.filter((c) => c.version === '1.0.0-littleendian').length, 22);
  t.is(cases.filter((c) => c.version === '2.0.0-compression').length, 4);
  t.is(cases.filter((c) => c.version === '4.0.0-shareddict').length, 1);
});

for (const c of cases) test(conformance, c);

// ---- a crafted case the corpus lacks ------------------------------------------------------------

test('a dictionary shared by fields with different index types reads as pyarrow reads it', async (t) => {
  // Two columns use dictionary 0 (strings), one through int8 indices, one through int16: legal
  // Arrow (only the value type must agree), and each column must be read with its own indices.
  const dictField = (name: string, bitWidth: 8 | 16): Field => ({
    name,
    nullable: true,
    type: { kind: 'utf8' },
    children: [],
    dictionary: { id: 0, indexType: { bitWidth, signed: true }, isOrdered: false },
    metadata: new Map(),
  });
  const schema: Schema = { fields: [dictField('a', 8), dictField('b', 16)], metadata: new Map(), endianness: 'little', features: [] };
  const enc = new IpcEncoder(schema, 'stream');
  const bytes = (a: ArrayLike<number>, ctor: { new (a: ArrayLike<number>): ArrayBufferView }) => {
    const v = new ctor(a);
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  };
  const empty = new Uint8Array(0);
  const messages = [
    ...enc.batchMessage({ type: 'dictionaryBatch', id: 0, isDelta: false }, 3, [{ length: 3, nullCount: 0 }], [empty, bytes([0, 1, 3, 6], Int32Array), new TextEncoder().encode('xyyzzz')]),
    ...enc.batchMessage(
      { type: 'recordBatch' },
      4,
      [
        { length: 4, nullCount: 0 },
        { length: 4, nullCount: 0 },
      ],
      [empty, bytes([0, 1, 2, 1], Int8Array), empty, bytes([2, 2, 0, 1], Int16Array)],
    ),
    ...enc.finish(),
  ];
  const path = join(tmpDir(t), 'shared.stream');
  writeFileSync(path, Buffer.concat(messages.flatMap((m) => m.buffers)));
  const canon = await judge.canon(path);
  t.deepEqual(canon.columns, [
    ['x', 'yy', 'zzz', 'yy'],
    ['zzz', 'zzz', 'x', 'yy'],
  ]);
  t.deepEqual(observed(await readStreamAt(path)), expected(canon));
});
