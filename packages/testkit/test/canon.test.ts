// The decisive cross-check of the canonical form: for every golden file that apache-arrow can read,
// canonFromArrow(tableFromIPC(bytes)) must deep-equal what pyarrow (judge.py) says the file holds.
// If both sides agree on all golden files, the core team can rely on either side of the comparison.
import test from 'ava';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  Bool,
  Data,
  Field,
  Float16,
  Int32,
  Schema,
  Struct,
  Table,
  RecordBatch,
  Utf8,
  makeData,
  tableFromIPC,
  vectorFromArray,
} from 'apache-arrow';
import {
  JudgeClient,
  canonFromArrow,
  canonFromData,
  fuzzFiles,
  goldenCases,
  goldenDir,
  judge,
  python,
  repoRoot,
  tmpDir,
  type Canon,
  type CanonColumns,
} from '../src/index.js';

/**
 * Golden files apache-arrow 21.2.0's own tableFromIPC cannot read. Each entry must really fail to read
 * (checked below), so the list cannot silently hide anything:
 * - 2.0.0-compression/*: compressed bodies (LZ4 frame / ZSTD). apache-arrow only decompresses with a codec
 *   registered in its `compressionRegistry`, and ships none; testkit deliberately depends on apache-arrow
 *   alone. The same value types (int32/int64/utf8) are cross-checked uncompressed in 1.0.0-littleendian.
 */
const KNOWN_UNREADABLE: Record<string, RegExp> = {
  '2.0.0-compression/lz4': /compress|codec/i,
  '2.0.0-compression/uncompressible_lz4': /compress|codec/i,
  '2.0.0-compression/zstd': /compress|codec/i,
  '2.0.0-compression/uncompressible_zstd': /compress|codec/i,
};

const cases = goldenCases();

test('the golden cases and fuzz files are found beside the checkout', (t) => {
  t.true(existsSync(join(repoRoot(), 'pnpm-workspace.yaml')));
  t.true(existsSync(goldenDir()));
  const names = new Set(cases.map((c) => `${c.version}/${c.name}`));
  for (const n of ['1.0.0-littleendian/primitive', '1.0.0-littleendian/union', '2.0.0-compression/zstd', '4.0.0-shareddict/shared_dict']) {
    t.true(names.has(n), n);
  }
  t.true(cases.length >= 27);
  for (const c of cases) {
    t.true(statSync(c.stream).isFile() && statSync(c.file).isFile() && statSync(c.json).isFile(), c.name);
  }
  const fuzz = fuzzFiles();
  t.true(fuzz.length > 50);
  t.true(fuzz.every((f) => /\/(clusterfuzz-|crash-)[^/]+$/.test(f)));
  t.true(existsSync(python()));
});

const unreadable: string[] = [];

for (const c of cases) {
  for (const kind of ['stream', 'file'] as const) {
    const id = `${c.version}/${c.name}`;
    test(`canonFromArrow agrees with pyarrow: ${id}.${kind}`, async (t) => {
      const path = c[kind];
      const expected: Canon = await judge.canon(path);
      t.is(expected.format, kind);
      let table: Table;
      try {
        table = tableFromIPC(readFileSync(path));
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        unreadable.push(`${id}.${kind}: ${message}`);
        t.log(`apache-arrow cannot read ${id}.${kind}: ${message}`);
        const known = KNOWN_UNREADABLE[id];
        t.truthy(known, `not a known apache-arrow limitation: ${message}`);
        t.regex(message, known!);
        return;
      }
      t.falsy(KNOWN_UNREADABLE[id], `${id} is listed as unreadable but apache-arrow read it: shorten the list`);
      t.is(table.numRows, expected.rows);
      t.deepEqual(
        table.schema.fields.map((f) => f.name),
        expected.schema.map((f) => f.name),
      );
      const actual: CanonColumns = canonFromArrow(table);
      t.is(actual.length, expected.columns.length);
      for (let j = 0; j < actual.length; j++) {
        t.deepEqual(actual[j], expected.columns[j], `column ${j} (${expected.schema[j]!.name}: ${expected.schema[j]!.type})`);
      }
    });
  }
}

test.after.always('list the golden files apache-arrow could not read', (t) => {
  t.log(`apache-arrow could not read ${unreadable.length} golden files${unreadable.length ? ':\n' + unreadable.join('\n') : ''}`);
});

test('canonFromArrow handles sliced Data (offsets in bitmaps, values and children)', (t) => {
  const ints = vectorFromArray([1, null, 3, 4, null, 6], new Int32()).data[0]!;
  t.deepEqual(canonFromData(ints.slice(1, 3)), [null, '3', '4']);
  t.deepEqual(canonFromData(ints.slice(3, 3)), ['4', null, '6']);
  const bools = vectorFromArray([true, null, false, true, true, false, null, true, false, true], new Bool()).data[0]!;
  t.deepEqual(canonFromData(bools.slice(5, 5)), [false, null, true, false, true]);
  // float16 bit patterns: 1, -2, +inf, NaN, smallest subnormal, -0, largest finite
  const halves = makeData({ type: new Float16(), data: Uint16Array.of(0x3c00, 0xc000, 0x7c00, 0x7e00, 0x0001, 0x8000, 0x7bff) });
  t.deepEqual(canonFromData(halves), [1, -2, 'Infinity', 'NaN', 2 ** -24, 0, 65504]);
  const strs = vectorFromArray(['a', null, 'ccc', 'dd'], new Utf8()).data[0]!;
  t.deepEqual(canonFromData(strs.slice(2, 2)), ['ccc', 'dd']);
  const type = new Struct([new Field('x', new Int32()), new Field('x', new Utf8())]);
  const struct = makeData({
    type,
    length: 4,
    nullCount: 1,
    nullBitmap: Uint8Array.of(0b1101),
    children: [
      vectorFromArray([1, 2, 3, 4], new Int32()).data[0]!,
      vectorFromArray(['p', 'q', null, 's'], new Utf8()).data[0]!,
    ],
  });
  t.deepEqual(canonFromData(struct), [['1', 'p'], null, ['3', null], ['4', 's']]);
  t.deepEqual(canonFromData(struct.slice(1, 3)), [null, ['3', null], ['4', 's']]);
  const table = new Table(new RecordBatch(new Schema(type.children), struct as Data<Struct>));
  // As table columns, the children stand alone: the struct's validity does not apply to them.
  t.deepEqual(canonFromArrow(table), [['1', '2', '3', '4'], ['p', 'q', null, 's']]);
});

test('judge.equal: a golden stream equals its file twin; different data does not', async (t) => {
  const primitive = cases.find((c) => c.name === 'primitive')!;
  const zstd = cases.find((c) => c.name === 'zstd')!;
  const [same, other] = await judge.equal(primitive.stream, [primitive.file, zstd.stream]);
  t.deepEqual(same, { path: primitive.file, equal: true, reason: null, compression: 'none' });
  t.false(other!.equal);
  t.regex(other!.reason ?? '', /schema/);
  t.is(other!.compression, 'zstd');
  const [lz4] = await judge.equal(zstd.stream.replace('zstd', 'lz4'), [zstd.stream.replace('zstd', 'lz4')]);
  t.is(lz4!.compression, 'lz4');
});

test('judge.writeCase: pyarrow writes every case; apache-arrow-readable ones agree with canonFromArrow', async (t) => {
  const dir = tmpDir(t);
  const written: { path: string; case: string; format: string; compression: string }[] = [];
  for (const name of ['basic', 'exotic', 'modern', 'metadata', 'legacy', 'dict_delta'] as const) {
    for (const format of ['stream', 'file', 'feather'] as const) {
      if (name === 'dict_delta' && format !== 'stream') {
        await t.throwsAsync(judge.writeCase(join(dir, `${name}.${format}`), { case: name, format }), {
          message: /only valid in the stream format/,
        });
        continue;
      }
      const path = join(dir, `${name}.${format}`);
      await judge.writeCase(path, { case: name, format, compression: 'none' });
      written.push({ path, case: name, format, compression: 'none' });
    }
  }
  const zpath = join(dir, 'basic.zstd.arrow');
  await judge.writeCase(zpath, { case: 'basic', format: 'file', compression: 'zstd' });
  const [z] = await judge.equal(join(dir, 'basic.stream'), [zpath]);
  t.deepEqual([z!.equal, z!.compression], [true, 'zstd']);

  const canons = await judge.canonMany(written.map((w) => w.path));
  for (const [k, w] of written.entries()) {
    const expected = canons[k]!;
    t.is(expected.format, w.format === 'stream' ? 'stream' : 'file', w.path);
    let table: Table;
    try {
      table = tableFromIPC(readFileSync(w.path));
    } catch (e) {
      // Only the exotic case holds types apache-arrow lacks (list views, run-end encoding).
      t.is(w.case, 'exotic', `apache-arrow could not read ${w.case}.${w.format}: ${String(e)}`);
      continue;
    }
    t.deepEqual(canonFromArrow(table), expected.columns, `${w.case}.${w.format}`);
  }
  const meta = canons[written.findIndex((w) => w.case === 'metadata' && w.format === 'stream')]!;
  t.deepEqual(meta.batch_metadata, [{ batch: '0', note: 'first batch' }, { batch: '1' }]);
  t.is(meta.metadata['schema_key'], 'schema value');

  const dd = await judge.inspect(join(dir, 'dict_delta.stream'));
  t.deepEqual(
    dd.messages.filter((m) => m.type === 'dictionary').map((m) => m.is_delta),
    [false, true, false],
  );
  t.true((await judge.inspect(join(dir, 'legacy.stream'))).legacy_framing);

  const big = join(dir, 'big.arrow');
  await judge.writeCase(big, { case: 'big', format: 'file', rows: 10_000, batches: 3 });
  const bigCanon = await judge.canon(big);
  t.deepEqual([bigCanon.rows, bigCanon.batches], [10_000, 3]);
  t.deepEqual(canonFromArrow(tableFromIPC(readFileSync(big))), bigCanon.columns);
});

test('judge errors reject with pyarrow’s message and the server keeps serving', async (t) => {
  const dir = tmpDir(t);
  await t.throwsAsync(judge.canon(join(dir, 'missing.arrow')), { message: /no such file/ });
  const fuzz = fuzzFiles()[0]!;
  await t.throwsAsync(judge.canon(fuzz));
  t.regex(await judge.pyarrowVersion(), /^\d+\./);
});

test('a judge child that dies rejects its pending requests; the next request starts a new child', async (t) => {
  const client = new JudgeClient(); // not the shared one: other tests are using it concurrently
  const pending = client.canon(cases[0]!.stream);
  client.close(); // kills the child before it has even imported pyarrow
  await t.throwsAsync(pending, { message: /judge canon: judge\.py exited/ });
  t.regex(await client.pyarrowVersion(), /^\d+\./);
  client.close();
});

test('tmpDir is created empty and removed by teardown', (t) => {
  let teardown: (() => void | Promise<void>) | undefined;
  const dir = tmpDir({ teardown: (fn) => (teardown = fn) });
  t.true(statSync(dir).isDirectory());
  t.truthy(teardown);
  void teardown!();
  t.false(existsSync(dir));
});
