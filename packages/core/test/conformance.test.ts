// Conformance of the core codec with Arrow C++, judged by pyarrow, for every golden integration
// case (arrow-testing 1.0.0-littleendian, 2.0.0-compression, 4.0.0-shareddict). One ava test per
// case; each:
//  (a) reads the case's .stream with StreamReader and its .arrow_file with FileReader, and checks
//      that the schema (names, types as pyarrow prints them, nullability, schema/field metadata),
//      the batch count, each batch's custom metadata and every value (canonical form) equal what
//      pyarrow reads from the same file;
//  (b) writes the data back as stream, file and Feather, each uncompressed, LZ4 and ZSTD, three
//      ways: the arrow-level writer (writeIpcFile / writeFeather from the Table our reader made),
//      and message-level `convert` from the .stream and from the .arrow_file. pyarrow must read
//      every one as equal to the original, and its metadata must carry the codec asked for.
// The golden files are read in place (../shared); outputs go to a per-test temp dir.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { join } from 'node:path';
import { goldenCases, judge, tmpDir, type GoldenCase } from '@quiver/testkit';
import { convert, fileSink, writeFeather, writeIpcFile, type ConvertResult } from '../src/index.js';
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
    await writeIpcFile(out('writer-stream'), fromStream, 'stream', { compression });
    await writeIpcFile(out('writer-file'), fromStream, 'file', { compression });
    await writeFeather(fromStream, out('writer-feather'), { compression: codec === 'none' ? 'uncompressed' : codec });
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
