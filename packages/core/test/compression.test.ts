// Unit tests of body compression: LZ4 and ZSTD round trips (ours and pyarrow's), buffers stored
// raw, levels, the codec registry, and corrupt compressed data.
import test from 'ava';
import * as A from 'apache-arrow';
import { readFileSync } from 'node:fs';
import { judge } from '@quiver/testkit';
import {
  CodecRegistry,
  readFileTable,
  readStreamTable,
  RecordBatchEncoder,
  tableToFile,
  tableToStream,
  zstdCodec,
  lz4Codec,
  type Codec,
  type CompressionCodec,
  type RawMessage,
} from '../src/index.js';
import { batchOf, canon, int32Data, messageOffsets, SAMPLE_CANON, sampleTable, seededRandom, tempFile, tempPath, utf8Data } from './helpers/unit-helpers.js';

const CODECS: CompressionCodec[] = ['lz4', 'zstd'];

/** A table that compresses well: a counter, repeated words, mostly-equal floats. */
function compressibleTable(rows: number, seed = 1): A.Table {
  const random = seededRandom(seed);
  const words = ['apple', 'banana', 'cherry', 'damson', 'elderberry', 'fig', 'grape'];
  const schema = new A.Schema([new A.Field('n', new A.Int32(), false), new A.Field('w', new A.Utf8(), true), new A.Field('f', new A.Float64(), true)]);
  return new A.Table(
    schema,
    batchOf(schema, [
      int32Data(Array.from({ length: rows }, (_, k) => k)),
      utf8Data(Array.from({ length: rows }, (_, k) => (k % 17 === 0 ? null : `${words[Math.floor(random() * words.length)]}-${words[k % 7]}`))),
      A.vectorFromArray(Array.from({ length: rows }, (_, k) => (k % 29 === 0 ? null : Math.floor(random() * 4) / 4)), new A.Float64()).data[0]!,
    ]),
  );
}

/** Every record batch of an encoded stream with each body buffer's absolute position. */
async function batchRegions(stream: Uint8Array): Promise<Array<{ message: RawMessage; regions: Array<{ start: number; length: number }> }>> {
  const out = [];
  for (const { offset, message } of await messageOffsets(stream)) {
    if (message === 'eos' || message.message.header.type !== 'recordBatch') continue;
    const bodyStart = offset + 8 + message.metadataBytes.byteLength;
    out.push({ message, regions: message.message.header.batch.buffers.map((r) => ({ start: bodyStart + r.offset, length: r.length })) });
  }
  return out;
}

const prefixOf = (bytes: Uint8Array, at: number) => new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigInt64(0, true);

for (const codec of CODECS) {
  test(`${codec}: round trip through our reader and pyarrow, stream and file`, async (t) => {
    const big = compressibleTable(20_000);
    const plain = await tableToStream(big);
    const stream = await tableToStream(big, { compression: codec });
    const file = await tableToFile(big, { compression: codec });
    t.true(stream.byteLength < plain.byteLength * 0.75, `${codec} shrinks compressible data (${stream.byteLength} of ${plain.byteLength})`);
    for (const { message } of await batchRegions(stream)) {
      t.is(message.message.header.type === 'recordBatch' && message.message.header.batch.compression, codec);
    }
    const want = canon(big);
    t.deepEqual(canon(await readStreamTable(stream)), want);
    t.deepEqual(canon(await readFileTable(file)), want);
    const sample = await tableToStream(sampleTable(), { compression: codec });
    t.deepEqual(canon(await readStreamTable(sample)), SAMPLE_CANON);

    const original = tempFile(t, 'plain.arrows', plain);
    const results = await judge.equal(original, [tempFile(t, 'c.arrows', stream), tempFile(t, 'c.arrow', file)]);
    for (const r of results) {
      t.true(r.equal, r.reason ?? '');
      t.is(r.compression, codec);
    }
    t.deepEqual((await judge.canon(tempFile(t, 'sample.arrows', sample))).columns, SAMPLE_CANON);
  });

  test(`${codec}: streams and files pyarrow compressed read as pyarrow reads them`, async (t) => {
    for (const format of ['stream', 'file'] as const) {
      const path = tempPath(t, `basic.${format}`);
      await judge.writeCase(path, { case: 'basic', format, compression: codec });
      const want = await judge.canon(path);
      t.is((await judge.inspect(path)).messages.find((m) => m.type === 'record_batch')?.compression, codec);
      const bytes = new Uint8Array(readFileSync(path));
      const table = format === 'stream' ? await readStreamTable(bytes) : await readFileTable(bytes);
      t.deepEqual(canon(table), want.columns, format);
    }
  });

  test(`${codec}: an incompressible buffer is stored raw behind a -1 length`, async (t) => {
    const random = seededRandom(42);
    const noise = Uint8Array.from({ length: 4096 }, () => Math.floor(random() * 256));
    const schema = new A.Schema([new A.Field('zeros', new A.Binary(), false), new A.Field('noise', new A.Binary(), false)]);
    const batch = batchOf(schema, [A.vectorFromArray([new Uint8Array(4096)], new A.Binary()).data[0]!, A.vectorFromArray([noise], new A.Binary()).data[0]!]);
    const bytes = await tableToStream(new A.Table([batch]), { compression: codec });
    const [only] = await batchRegions(bytes);
    // Buffers: zeros (validity, offsets, data), noise (validity, offsets, data).
    const [, , zeros, , , data] = only!.regions;
    t.is(prefixOf(bytes, data!.start), -1n, 'the noise is stored raw');
    t.is(data!.length, 8 + 4096);
    t.is(Buffer.compare(bytes.subarray(data!.start + 8, data!.start + data!.length), noise), 0);
    t.is(prefixOf(bytes, zeros!.start), 4096n, 'the zeros are compressed: the prefix is their plain length');
    t.true(zeros!.length < 4096 / 4);
    const read = await readStreamTable(bytes);
    t.is(Buffer.compare(read.getChild('noise')!.get(0) as Uint8Array, noise), 0);
    t.deepEqual([...(read.getChild('zeros')!.get(0) as Uint8Array)], new Array(4096).fill(0));
    t.deepEqual((await judge.canon(tempFile(t, 'raw.arrows', bytes))).columns[1], [Buffer.from(noise).toString('hex')]);
  });

  test(`${codec}: a corrupt compressed buffer is ERR_QUIVER_DECOMPRESSION_FAILED`, async (t) => {
    const bytes = await tableToStream(compressibleTable(2000), { compression: codec });
    const [only] = await batchRegions(bytes);
    const values = only!.regions[4]!; // the words' characters: compressed by either codec
    const declared = prefixOf(bytes, values.start);
    t.true(declared > BigInt(values.length));
    // A frame whose magic number is wrong.
    const badFrame = bytes.slice();
    badFrame.fill(0x5a, values.start + 8, values.start + 12);
    await t.throwsAsync(readStreamTable(badFrame), { code: 'ERR_QUIVER_DECOMPRESSION_FAILED' });
    // A frame that does not decode to the length its prefix declares.
    const badLength = bytes.slice();
    new DataView(badLength.buffer).setBigInt64(values.start, declared + 8n, true);
    await t.throwsAsync(readStreamTable(badLength), { code: 'ERR_QUIVER_DECOMPRESSION_FAILED' });
    // The same buffer inside a file (compression is deterministic: the same bytes are there).
    const file = await tableToFile(compressibleTable(2000), { compression: codec });
    const at = locate(file, bytes.subarray(values.start, values.start + values.length));
    t.true(at > 0);
    await t.notThrowsAsync(readFileTable(file.slice()));
    file.fill(0x5a, at + 8, at + 12);
    await t.throwsAsync(readFileTable(file), { code: 'ERR_QUIVER_DECOMPRESSION_FAILED' });
  });
}

/** Where `needle` first occurs in `hay`. */
function locate(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(Buffer.from(needle.buffer, needle.byteOffset, needle.byteLength));
}

test('zstd: the level changes the output size on compressible data (1 vs 19)', async (t) => {
  const table = compressibleTable(50_000, 7);
  const fast = await tableToStream(table, { compression: 'zstd', level: 1 });
  const strong = await tableToStream(table, { compression: 'zstd', level: 19 });
  t.log(`zstd level 1: ${fast.byteLength} bytes, level 19: ${strong.byteLength} bytes`);
  t.true(strong.byteLength < fast.byteLength);
  t.deepEqual(canon(await readStreamTable(fast)), canon(await readStreamTable(strong)));
});

test('a level with lz4, or without compression, is ERR_QUIVER_INVALID_ARGUMENT', async (t) => {
  const table = sampleTable();
  await t.throwsAsync(tableToStream(table, { compression: 'lz4', level: 3 }), { code: 'ERR_QUIVER_INVALID_ARGUMENT' });
  t.throws(() => new RecordBatchEncoder(table.schema, 'stream', { compression: 'lz4', level: 1 }).write(table), { code: 'ERR_QUIVER_INVALID_ARGUMENT' });
  t.throws(() => new RecordBatchEncoder(table.schema, 'stream', { level: 5 }), { code: 'ERR_QUIVER_INVALID_ARGUMENT' });
  t.false(lz4Codec().supportsLevel);
  t.true(zstdCodec().supportsLevel);
});

/** A codec that delegates to `inner` and counts what it is asked to do. */
function counting(inner: Codec): Codec & { compressed: number; decompressed: number; levels: Array<number | undefined> } {
  const c = {
    name: inner.name,
    supportsLevel: inner.supportsLevel,
    compressed: 0,
    decompressed: 0,
    levels: [] as Array<number | undefined>,
    compress(data: Uint8Array, level?: number) {
      c.compressed++;
      c.levels.push(level);
      return inner.compress(data, level);
    },
    decompress(data: Uint8Array, n: number) {
      c.decompressed++;
      return inner.decompress(data, n);
    },
  };
  return c;
}

test('a custom codec in CodecRegistry.with(...) is used for writing and reading', async (t) => {
  const custom = counting(zstdCodec());
  const codecs = CodecRegistry.default.with(custom);
  t.is(codecs.get('zstd'), custom);
  t.not(CodecRegistry.default.get('zstd'), custom, 'the default registry is unchanged');
  t.is(codecs.get('lz4'), CodecRegistry.default.get('lz4'));
  const table = compressibleTable(3000);
  const bytes = await tableToStream(table, { compression: 'zstd', level: 9, codecs });
  t.true(custom.compressed >= 3);
  t.true(custom.levels.every((l) => l === 9));
  t.is(custom.decompressed, 0);
  t.deepEqual(canon(await readStreamTable(bytes, { codecs })), canon(table));
  t.true(custom.decompressed >= 3);
  const before = custom.decompressed;
  await readStreamTable(bytes); // the default registry does not see the custom codec
  t.is(custom.decompressed, before);
  t.true((await judge.equal(tempFile(t, 'plain.arrows', await tableToStream(table)), [tempFile(t, 'custom.arrows', bytes)]))[0]!.equal);
});

test('a missing codec is ERR_QUIVER_CODEC_UNAVAILABLE, writing and reading', async (t) => {
  const none = new CodecRegistry([]);
  const onlyLz4 = new CodecRegistry([lz4Codec()]);
  const table = sampleTable();
  await t.throwsAsync(tableToStream(table, { compression: 'zstd', codecs: none }), { code: 'ERR_QUIVER_CODEC_UNAVAILABLE' });
  await t.throwsAsync(tableToFile(table, { compression: 'zstd', codecs: onlyLz4 }), { code: 'ERR_QUIVER_CODEC_UNAVAILABLE' });
  const zstd = await tableToStream(table, { compression: 'zstd' });
  await t.throwsAsync(readStreamTable(zstd, { codecs: onlyLz4 }), { code: 'ERR_QUIVER_CODEC_UNAVAILABLE' });
  await t.throwsAsync(readFileTable(await tableToFile(table, { compression: 'lz4' }), { codecs: none }), { code: 'ERR_QUIVER_CODEC_UNAVAILABLE' });
  t.deepEqual(canon(await readStreamTable(await tableToStream(table, { compression: 'lz4', codecs: onlyLz4 }), { codecs: onlyLz4 })), SAMPLE_CANON);
});
