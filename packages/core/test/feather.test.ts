// Unit tests of Feather V2: writeFeather (path or sink; lz4 by default, zstd, uncompressed, level,
// chunkSize) and readFeather (whole or some columns), checked against pyarrow both ways.
import test from 'ava';
import * as A from 'apache-arrow';
import { spawnSync } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { judge, python } from '@quiver/testkit';
import { FileReader, MemorySink, readFeather, writableSink, writeFeather, type CompressionCodec } from '../src/index.js';
import { batchOf, canon, int32Data, SAMPLE_CANON, sampleTable, tempPath } from './helpers/unit-helpers.js';

/** The compression of every dictionary and record batch message of a file. */
async function compressionsOf(source: string | Uint8Array): Promise<Array<CompressionCodec | null>> {
  const reader = await FileReader.open(source);
  try {
    const out: Array<CompressionCodec | null> = [];
    for (const block of [...reader.footer.dictionaries, ...reader.footer.recordBatches]) {
      const { message } = await reader.readBlock(block);
      const h = message.header;
      out.push(h.type === 'schema' ? null : h.batch.compression);
    }
    return out;
  } finally {
    await reader.close();
  }
}

/** 200,000 rows: a counter and its square root. */
function bigTable(rows = 200_000): A.Table {
  const schema = new A.Schema([new A.Field('n', new A.Int32(), false), new A.Field('root', new A.Float64(), false)]);
  const n = Int32Array.from({ length: rows }, (_, k) => k);
  return new A.Table([
    batchOf(schema, [
      A.makeData({ type: new A.Int32(), length: rows, nullCount: 0, data: n }),
      A.makeData({ type: new A.Float64(), length: rows, nullCount: 0, data: Float64Array.from(n, Math.sqrt) }),
    ]),
  ]);
}

test('writeFeather to a path: lz4 by default, read back equal', async (t) => {
  const path = tempPath(t, 'sample.feather');
  const written = await writeFeather(sampleTable(), path);
  t.is(written, statSync(path).size);
  t.deepEqual(await compressionsOf(path), ['lz4', 'lz4', 'lz4', 'lz4']); // one dictionary, three batches
  t.deepEqual(canon(await readFeather(path)), SAMPLE_CANON);
  const info = await judge.inspect(path);
  t.is(info.format, 'file');
  t.true(info.messages.filter((m) => m.type !== 'schema').every((m) => m.compression === 'lz4'));
});

test('writeFeather to a sink: zstd, uncompressed, and a zstd level', async (t) => {
  const table = bigTable(50_000);
  const bytes: Record<string, Uint8Array> = {};
  for (const [name, opts] of [
    ['lz4', {}],
    ['zstd', { compression: 'zstd' }],
    ['zstd-1', { compression: 'zstd', level: 1 }],
    ['zstd-19', { compression: 'zstd', level: 19 }],
    ['uncompressed', { compression: 'uncompressed' }],
  ] as const) {
    const sink = new MemorySink();
    t.is(await writeFeather(table, sink, opts), sink.byteLength, name);
    bytes[name] = sink.bytes();
    t.deepEqual(canon(await readFeather(bytes[name]!)), canon(table), name);
  }
  t.deepEqual(await compressionsOf(bytes['zstd']!), ['zstd']);
  t.deepEqual(await compressionsOf(bytes['lz4']!), ['lz4']);
  t.deepEqual(await compressionsOf(bytes['uncompressed']!), [null]);
  t.true(bytes['zstd-19']!.byteLength < bytes['zstd-1']!.byteLength, 'level 19 is smaller than level 1');
  t.true(bytes['zstd']!.byteLength < bytes['uncompressed']!.byteLength);
  // A Node Writable is a sink too.
  const path = tempPath(t, 'writable.feather');
  await writeFeather(table, writableSink(createWriteStream(path)), { compression: 'zstd' });
  t.is(Buffer.compare(readFileSync(path), bytes['zstd']!), 0);
});

test('writeFeather: chunkSize splits batches (200k rows by 65536 give 4)', async (t) => {
  const table = bigTable();
  const lengths = async (opts: Parameters<typeof writeFeather>[2]) => {
    const sink = new MemorySink();
    await writeFeather(table, sink, opts);
    const read = await readFeather(sink.bytes());
    t.deepEqual(canon(read), canon(table));
    return read.batches.map((b) => b.numRows);
  };
  t.deepEqual(await lengths({ chunkSize: 65536 }), [65536, 65536, 65536, 3392]);
  t.deepEqual(await lengths({}), [65536, 65536, 65536, 3392], 'the default is 65536');
  t.deepEqual(await lengths({ chunkSize: 50_000, compression: 'uncompressed' }), [50_000, 50_000, 50_000, 50_000]);
  t.deepEqual(await lengths({ chunkSize: 1_000_000 }), [200_000]);
});

test('writeFeather rejects bad options with ERR_QUIVER_INVALID_ARGUMENT', async (t) => {
  const sink = () => new MemorySink();
  for (const opts of [{ chunkSize: 0 }, { chunkSize: 1.5 }, { compression: 'snappy' as never }, { compression: 'lz4' as const, level: 3 }]) {
    await t.throwsAsync(writeFeather(sampleTable(), sink(), opts), { code: 'ERR_QUIVER_INVALID_ARGUMENT' }, JSON.stringify(opts));
  }
  // Options refused once the file is open still close it.
  const path = tempPath(t, 'refused.feather');
  for (const opts of [{ compression: 'uncompressed' as const, level: 3 }, { compression: 'lz4' as const, level: 3 }]) {
    await t.throwsAsync(writeFeather(sampleTable(), path, opts), { code: 'ERR_QUIVER_INVALID_ARGUMENT' }, JSON.stringify(opts));
    t.is(fdsOn(path), 0, `no file handle left open (${JSON.stringify(opts)})`);
  }
});

/** File descriptors of this process open on `path` (Linux). */
function fdsOn(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
}

test('readFeather with columns, by name and by index', async (t) => {
  const path = tempPath(t, 'columns.feather');
  await writeFeather(sampleTable(), path, { chunkSize: 4 });
  const [id, name, , tags, color] = SAMPLE_CANON;
  const byName = await readFeather(path, { columns: ['color', 'id'] });
  t.deepEqual(byName.schema.fields.map((f) => f.name), ['color', 'id']);
  t.deepEqual(canon(byName), [color, id]);
  const byIndex = await readFeather(path, { columns: [3, 1] });
  t.deepEqual(byIndex.schema.fields.map((f) => f.name), ['tags', 'name']);
  t.deepEqual(canon(byIndex), [tags, name]);
  t.deepEqual(canon(await readFeather(readFileSync(path), { columns: ['name', 0] })), [name, id]);
  await t.throwsAsync(readFeather(path, { columns: ['nope'] }), { code: 'ERR_QUIVER_INVALID_ARGUMENT' });
  await t.throwsAsync(readFeather(path, { columns: [5] }), { code: 'ERR_QUIVER_INVALID_ARGUMENT' });
});

test("pyarrow reads our Feather files, and we read pyarrow's", async (t) => {
  for (const compression of ['lz4', 'zstd', 'none'] as const) {
    // pyarrow writes the original with feather.write_feather; we must read it as pyarrow does.
    const original = tempPath(t, `pyarrow-${compression}.feather`);
    await judge.writeCase(original, { case: 'basic', format: 'feather', compression });
    const want = await judge.canon(original);
    const table = await readFeather(original);
    t.deepEqual(canon(table), want.columns, compression);
    // We write it back; pyarrow must find the same data, compressed as asked.
    const ours = tempPath(t, `ours-${compression}.feather`);
    await writeFeather(table, ours, { compression: compression === 'none' ? 'uncompressed' : compression });
    const [result] = await judge.equal(original, [ours]);
    t.true(result!.equal, result!.reason ?? '');
    t.is(result!.compression, compression);
    // And pyarrow.feather.read_table itself (not only the IPC reader) agrees.
    const script = [
      'import sys, pyarrow.feather as feather, pyarrow.ipc as ipc',
      'ours = feather.read_table(sys.argv[1])',
      'orig = ipc.open_file(sys.argv[2]).read_all()',
      'print(ours.num_rows, ours.equals(orig))',
    ].join('\n');
    const run = spawnSync(python(), ['-c', script, ours, original], { encoding: 'utf8' });
    t.is(run.status, 0, run.stderr);
    t.is(run.stdout.trim(), `${want.rows} True`);
  }
});

test('readFeather of a table of one int column with nulls round-trips nulls', async (t) => {
  const schema = new A.Schema([new A.Field('x', new A.Int32(), true)]);
  const path = tempPath(t, 'nulls.feather');
  await writeFeather(new A.Table([batchOf(schema, [int32Data([1, null, 3, null])])]), path);
  t.deepEqual(canon(await readFeather(path)), [['1', null, '3', null]]);
  t.deepEqual((await judge.canon(path)).columns, [['1', null, '3', null]]);
});
