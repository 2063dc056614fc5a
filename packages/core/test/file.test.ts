// Unit tests of the file form: FileReader's random access, what it reads, footer metadata, its
// file handle's lifetime, and the stream/file mix-ups.
import test from 'ava';
import * as A from 'apache-arrow';
import { readdirSync, readlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { judge, python } from '@quiver/testkit';
import {
  FileReader,
  memorySource,
  readFileTable,
  readStreamTable,
  StreamReader,
  tableToFile,
  type FormatMismatchError,
  type RandomAccessSource,
} from '../src/index.js';
import {
  batchOf,
  canon,
  dictData,
  encode,
  int32Data,
  messageOffsets,
  SAMPLE_CANON,
  sampleTable,
  tempFile,
  tempPath,
} from './helpers/unit-helpers.js';

const FOOTER_META = new Map([['written_by', 'quiver unit test'], ['rows', '15']]);
const FILE = encode(sampleTable().schema, [sampleTable()], 'file', { footerMetadata: FOOTER_META });
const STREAM = encode(sampleTable().schema, [sampleTable()], 'stream');
/** Rows of batch i of the sample table: [0,5), [5,6), [6,15). */
const SPANS = [[0, 5], [5, 6], [6, 15]] as const;
const batchCanon = (i: number) => SAMPLE_CANON.map((col) => col.slice(SPANS[i]![0], SPANS[i]![1]));

test('FileReader: counts, schema, footer metadata, random access in any order, readAll', async (t) => {
  const reader = await FileReader.open(FILE);
  t.is(reader.numRecordBatches, 3);
  t.is(reader.numDictionaries, 1);
  t.deepEqual(reader.schema.fields.map((f) => `${f.name}:${f.type}`), [
    'id:Int32',
    'name:Utf8',
    'score:Float64',
    'tags:List<Int32>',
    'color:Dictionary<Int32, Utf8>',
  ]);
  t.deepEqual([...reader.footerMetadata], [...FOOTER_META]);
  for (const i of [2, 0, 1, 2, 0, 1, 1]) {
    const b = await reader.recordBatch(i);
    t.deepEqual(canon(new A.Table([b])), batchCanon(i), `batch ${i}`);
  }
  t.deepEqual(canon(await reader.readAll()), SAMPLE_CANON);
  for (const bad of [3, -1, 1.5]) await t.throwsAsync(reader.recordBatch(bad), { code: 'ERR_QUIVER_INVALID_ARGUMENT' });
  await reader.close();
  // pyarrow agrees on what the file holds.
  const path = tempFile(t, 'sample.arrow', FILE);
  const c = await judge.canon(path);
  t.is(c.format, 'file');
  const footer = spawnSync(
    python(),
    ['-c', 'import sys, json, pyarrow.ipc as ipc\nm = ipc.open_file(sys.argv[1]).metadata\nprint(json.dumps({k.decode(): v.decode() for k, v in m.items()}))', path],
    { encoding: 'utf8' },
  );
  t.is(footer.status, 0, footer.stderr);
  t.deepEqual(JSON.parse(footer.stdout), Object.fromEntries(FOOTER_META), 'pyarrow sees the footer metadata');
  t.is(c.batches, 3);
  t.deepEqual(c.columns, SAMPLE_CANON);
  // A file without footer metadata has an empty map.
  t.is((await FileReader.open(encode(sampleTable().schema, [sampleTable()], 'file'))).footerMetadata.size, 0);
});

/** A RandomAccessSource that records every (offset, length) it is asked for. */
function recording(bytes: Uint8Array): { source: RandomAccessSource; reads: Array<[number, number]> } {
  const inner = memorySource(bytes);
  const reads: Array<[number, number]> = [];
  return {
    reads,
    source: {
      size: inner.size,
      read(offset, length) {
        reads.push([offset, length]);
        return inner.read(offset, length);
      },
    },
  };
}

test('FileReader reads only the footer, then exactly the requested batch (and the dictionaries once)', async (t) => {
  // Where each message lies, found by walking the framing after the 8-byte magic.
  const blocks = (await messageOffsets(FILE, 8)).filter((m) => m.message !== 'eos').map((m) => [m.offset, m.length] as [number, number]);
  t.is(blocks.length, 5); // schema, dictionary, three batches
  const [, dict, b0, b1, b2] = blocks;
  const { source, reads } = recording(FILE);
  const reader = await FileReader.open(source);
  const footerLength = new DataView(FILE.buffer, FILE.byteLength - 10, 4).getInt32(0, true);
  t.deepEqual(reads.splice(0), [
    [0, 8],
    [FILE.byteLength - 10, 10],
    [FILE.byteLength - 10 - footerLength, footerLength],
  ]);
  await reader.recordBatch(2);
  t.deepEqual(reads.splice(0), [dict, b2]);
  await reader.recordBatch(0);
  t.deepEqual(reads.splice(0), [b0]);
  await reader.recordBatch(2);
  t.deepEqual(reads.splice(0), [b2]);
  await reader.recordBatch(1);
  t.deepEqual(reads.splice(0), [b1]);
  // And the footer's blocks agree with the framing.
  t.deepEqual(reader.footer.recordBatches.map((b) => [b.offset, b.metaDataLength + b.bodyLength]), [b0, b1, b2]);
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

test('FileReader.open(path) closes its file handle on close() and on Symbol.asyncDispose', async (t) => {
  const path = tempFile(t, 'handle.arrow', FILE);
  t.is(fdsOn(path), 0);
  const reader = await FileReader.open(path);
  t.is(fdsOn(path), 1);
  t.deepEqual(canon(new A.Table([await reader.recordBatch(1)])), batchCanon(1));
  await reader.close();
  t.is(fdsOn(path), 0);
  await t.notThrowsAsync(reader.close(), 'close is idempotent');
  await t.throwsAsync(reader.recordBatch(0), { code: 'ERR_QUIVER_CLOSED' });

  const disposable = await FileReader.open(path);
  t.is(fdsOn(path), 1);
  await disposable[Symbol.asyncDispose]();
  t.is(fdsOn(path), 0);
  await disposable[Symbol.asyncDispose]();

  t.deepEqual(canon(await readFileTable(path)), SAMPLE_CANON);
  t.is(fdsOn(path), 0, 'readFileTable closes what it opened');
  const streamPath = tempFile(t, 'stream.arrows', STREAM);
  await t.throwsAsync(FileReader.open(streamPath), { code: 'ERR_QUIVER_FORMAT_MISMATCH' });
  t.is(fdsOn(streamPath), 0, 'a failed open closes the handle');
});

test('a stream opened as a file, and a file read as a stream: ERR_QUIVER_FORMAT_MISMATCH with detected', async (t) => {
  const asFile = (await t.throwsAsync(FileReader.open(STREAM), { code: 'ERR_QUIVER_FORMAT_MISMATCH' })) as FormatMismatchError;
  t.is(asFile.detected, 'stream');
  t.is(asFile.expected, 'file');
  const asStream = (await t.throwsAsync(readStreamTable(FILE), { code: 'ERR_QUIVER_FORMAT_MISMATCH' })) as FormatMismatchError;
  t.is(asStream.detected, 'file');
  t.is(asStream.expected, 'stream');
  // Also when the magic arrives a byte at a time, and for a legacy-framed stream.
  const ones = Array.from(FILE, (_, k) => FILE.subarray(k, k + 1));
  t.is(((await t.throwsAsync(StreamReader.open(ones))) as FormatMismatchError).detected, 'file');
  const legacyPath = tempPath(t, 'legacy.arrows');
  await judge.writeCase(legacyPath, { case: 'legacy' });
  t.is(((await t.throwsAsync(FileReader.open(legacyPath), { code: 'ERR_QUIVER_FORMAT_MISMATCH' })) as FormatMismatchError).detected, 'stream');
});

test('files written by pyarrow read by random access as pyarrow reads them', async (t) => {
  const path = tempPath(t, 'basic.arrow');
  await judge.writeCase(path, { case: 'basic', format: 'file' });
  const want = await judge.canon(path);
  const reader = await FileReader.open(path);
  t.is(reader.numRecordBatches, want.batches);
  const batches = [];
  for (let i = reader.numRecordBatches - 1; i >= 0; i--) batches.unshift(await reader.recordBatch(i));
  t.deepEqual(canon(new A.Table(batches)), want.columns);
  await reader.close();
});

test('a file with a dictionary delta: every batch reads right in any order, here and in pyarrow', async (t) => {
  const type = new A.Dictionary(new A.Utf8(), new A.Int16(), 3);
  const schema = new A.Schema([new A.Field('d', type, true), new A.Field('n', new A.Int32(), false)]);
  const d1 = A.vectorFromArray(['a', 'b'], new A.Utf8());
  const d2 = d1.concat(A.vectorFromArray(['c'], new A.Utf8()));
  const bytes = await tableToFile(
    [batchOf(schema, [dictData(type, [1, 0, null], d1), int32Data([1, 2, 3])]), batchOf(schema, [dictData(type, [2, 0], d2), int32Data([4, 5])])],
    { schema, dictionaryDeltas: true },
  );
  const reader = await FileReader.open(bytes);
  t.is(reader.numDictionaries, 2);
  t.deepEqual(canon(new A.Table([await reader.recordBatch(1)])), [['c', 'a'], ['4', '5']]);
  t.deepEqual(canon(new A.Table([await reader.recordBatch(0)])), [['b', 'a', null], ['1', '2', '3']]);
  const c = await judge.canon(tempFile(t, 'delta.arrow', bytes));
  t.deepEqual(c.columns, [['b', 'a', null, 'c', 'a'], ['1', '2', '3', '4', '5']]);
});
