// Unit tests of the direct-read path: MessageFramer as a ReadSink, driven by a source with
// readInto (as the socket transport's connections are), against the same bytes read by iteration.
import test from 'ava';
import * as A from 'apache-arrow';
import { DIRECT_EAGER_BYTES, DIRECT_RECEIVED_FACTOR, MessageFramer, readStreamTable, StreamReader, tableToStream, type RawMessage, type ReadSink } from '../src/index.js';
import { seededRandom } from './helpers/unit-helpers.js';

/** A stream of `batches` record batches, each with a body of about `rows` * 12 bytes. */
async function bigStream(rows: number, batches: number): Promise<{ bytes: Uint8Array; table: A.Table }> {
  const parts: A.RecordBatch[] = [];
  for (let b = 0; b < batches; b++) {
    const i = Int32Array.from({ length: rows }, (_, k) => k * 7 + b);
    const f = Float64Array.from({ length: rows }, (_, k) => k / 3 - b);
    parts.push(...A.tableFromArrays({ i, f }).batches);
  }
  const table = new A.Table(parts);
  return { bytes: await tableToStream(table), table };
}

/**
 * A byte source with readInto, as a transport that reads into the sink's memory: each "read" is
 * at most `maxRead` bytes (random sizes), into the sink's buffer when it offers one.
 */
function directSource(bytes: Uint8Array, maxRead: number, seed: number) {
  const random = seededRandom(seed);
  let at = 0;
  const stats = { inPlace: 0, elsewhere: 0, fills: 0 };
  const source = {
    stats,
    async readInto(sink: ReadSink): Promise<boolean> {
      stats.fills++;
      for (;;) {
        if (at >= bytes.byteLength) return false;
        const want = 1 + Math.floor(random() * maxRead);
        const target = sink.readBuffer() ?? new Uint8Array(64 * 1024);
        t0(target.byteLength > 0);
        const n = Math.min(want, target.byteLength, bytes.byteLength - at);
        target.set(bytes.subarray(at, at + n));
        at += n;
        if (target.byteLength < 64 * 1024 || target.buffer.byteLength !== 64 * 1024) stats.inPlace += n;
        else stats.elsewhere += n;
        if (!sink.write(target.subarray(0, n))) return true;
      }
    },
    [Symbol.asyncIterator]() {
      return {
        next: (): Promise<IteratorResult<Uint8Array>> => Promise.reject(new Error('iterated: readInto should have been used')),
      };
    },
  };
  return source;
}
function t0(ok: boolean): void {
  if (!ok) throw new Error('readBuffer gave an empty view');
}

test('a source with readInto: large bodies are read into their own buffers, and read the same', async (t) => {
  const { bytes, table } = await bigStream(40_000, 3); // bodies of ~480 KB
  for (const [maxRead, seed] of [
    [64 * 1024, 1],
    [300_000, 2],
    [7, 3],
  ] as const) {
    const src = directSource(bytes, maxRead, seed);
    const got = await readStreamTable(src);
    t.is(got.numRows, table.numRows);
    t.deepEqual([...got.getChild('i')!], [...table.getChild('i')!], `maxRead ${maxRead}`);
    t.deepEqual([...got.getChild('f')!], [...table.getChild('f')!], `maxRead ${maxRead}`);
    t.true(src.stats.inPlace > bytes.byteLength * 0.5, `most bytes read in place (maxRead ${maxRead}): ${JSON.stringify(src.stats)}`);
    // Every column is 8-aligned in its body's own buffer.
    for (const b of got.batches) for (const c of b.data.children) t.is(c.values.byteOffset % 8, 0);
  }
});

test('MessageFramer as a ReadSink: write says when a message is complete; readBuffer never allocates past maxMessageBytes', async (t) => {
  const { bytes } = await bigStream(40_000, 1);
  const framer = new MessageFramer();
  // The schema message, then the batch's metadata and a little of its body.
  let at = 0;
  const step = 16;
  while (framer.write(bytes.subarray(at, (at += step))));
  t.is((framer.next() as RawMessage).message.header.type, 'schema');
  let region = framer.readBuffer();
  while (region === null && at < 4096) {
    t.true(framer.write(bytes.subarray(at, (at += step))), 'the batch wants more');
    region = framer.readBuffer();
  }
  t.truthy(region);
  t.true(region!.byteLength > 400_000);
  t.is(framer.next(), null);

  // A header claiming a body over the limit: no buffer is offered, next() throws.
  const small = new MessageFramer({ maxMessageBytes: 100_000 });
  let i = 0;
  let schemaSeen = false;
  for (;;) {
    if (small.write(bytes.subarray(i, ++i))) continue;
    if (schemaSeen) break;
    schemaSeen = true;
    t.is((small.next() as RawMessage).message.header.type, 'schema');
  }
  t.is(small.readBuffer(), null);
  t.throws(() => small.next(), { code: 'ERR_QUIVER_MESSAGE_TOO_LARGE' });
});

test('a body over DIRECT_EAGER_BYTES gets its own buffer only once a share of it has arrived', async (t) => {
  const { bytes, table } = await bigStream(2_000_000, 1); // a body of ~24 MB
  const src = directSource(bytes, 256 * 1024, 4);
  const got = await readStreamTable(src);
  t.deepEqual(got.getChild('i')!.toArray(), table.getChild('i')!.toArray());
  // The first 1/DIRECT_RECEIVED_FACTOR went to the transport's buffers; the rest was read in place.
  const share = src.stats.inPlace / bytes.byteLength;
  const expected = 1 - 1 / DIRECT_RECEIVED_FACTOR;
  t.true(share > expected - 0.05 && share < expected + 0.01, `read in place: ${share}, expected about ${expected}`);
  t.true(bytes.byteLength > DIRECT_EAGER_BYTES);
});

test('recycle: a body over DIRECT_EAGER_BYTES that fits memory given back is read in place from its first byte', async (t) => {
  const { bytes, table } = await bigStream(2_000_000, 3); // bodies of ~24 MB
  const src = directSource(bytes, 256 * 1024, 5);
  const reader = await StreamReader.open(src, { recycle: true });
  let k = 0;
  for await (const b of reader) {
    const want = table.batches[k++]!;
    t.deepEqual([b.getChild('i')!.get(0), b.getChild('i')!.get(1_999_999), b.getChild('f')!.get(777)], [want.getChild('i')!.get(0), want.getChild('i')!.get(1_999_999), want.getChild('f')!.get(777)]);
  }
  t.is(k, 3);
  // The first body waits for 1/DIRECT_RECEIVED_FACTOR of itself (as above); the next two go to
  // the memory the one before gave back, nothing new is allocated, so they need not wait.
  const share = src.stats.inPlace / bytes.byteLength;
  const expected = (3 - 1 / DIRECT_RECEIVED_FACTOR) / 3;
  t.true(share > expected - 0.01, `read in place: ${share}, expected about ${expected}`);
});

/** A byte source yielding `bytes` in chunks of `size` (so every large body straddles chunks). */
async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += size) yield bytes.slice(at, at + size);
}

/** Each batch's values (read before moving on) and the memory its first column lies in. */
async function readRecycling(reader: StreamReader): Promise<{ values: number[][]; memory: ArrayBufferLike[] }> {
  const values: number[][] = [];
  const memory: ArrayBufferLike[] = [];
  for await (const b of reader) {
    values.push([...b.getChild('i')!].concat([...b.getChild('f')!]) as number[]);
    memory.push(b.data.children[0]!.values.buffer);
  }
  return { values, memory };
}

test('recycle: each batch reads right until the next is asked for, and large bodies reuse the memory of batches already passed', async (t) => {
  const { bytes, table } = await bigStream(20_000, 8); // bodies of ~240 KB, some straddling reads
  const want = table.batches.map((b) => [...b.getChild('i')!].concat([...b.getChild('f')!]) as number[]);
  const sources = {
    'readInto (direct reads)': () => directSource(bytes, 100_000, 4),
    'iteration (bodies copied out of 64 KiB chunks)': () => chunked(bytes, 64 * 1024),
  };
  for (const [name, source] of Object.entries(sources)) {
    const fresh = await readRecycling(await StreamReader.open(source()));
    t.deepEqual(fresh.values, want, name);
    t.is(new Set(fresh.memory).size, 8, `${name}: without recycle, every body is memory of its own`);
    const recycled = await readRecycling(await StreamReader.open(source(), { recycle: true }));
    t.deepEqual(recycled.values, want, name);
    // (A batch may lie in the memory of the one before it: that one was passed when this one was asked for.)
    t.true(new Set(recycled.memory).size <= 3, `${name}: ${new Set(recycled.memory).size} buffers for 8 bodies`);
  }
});

test('recycle: dictionaries are never reused, so every batch decodes against the dictionary it was sent with', async (t) => {
  const words = Array.from({ length: 6000 }, (_, k) => `word-${k}-${'x'.repeat(k % 13)}`);
  const dictType = new A.Dictionary(new A.Utf8(), new A.Int32());
  const dictionary = A.vectorFromArray(words, new A.Utf8());
  const batches = Array.from({ length: 6 }, (_, b) => {
    const indices = Int32Array.from({ length: 30_000 }, (_, k) => (k * 7 + b * 13) % words.length);
    const data = A.makeData({ type: dictType, length: indices.length, nullCount: 0, data: indices, dictionary });
    return new A.RecordBatch({ w: data });
  });
  const bytes = await tableToStream(new A.Table(batches));
  const reader = await StreamReader.open(chunked(bytes, 4096), { recycle: true });
  let k = 0;
  for await (const b of reader) {
    const got = b.getChild('w')!;
    t.deepEqual([got.get(0), got.get(12_345), got.get(29_999)], [0, 12_345, 29_999].map((i) => words[(i * 7 + k * 13) % words.length]), `batch ${k}`);
    k++;
  }
  t.is(k, 6);
  t.deepEqual([...reader.dictionaries.values()][0]!.toArray(), words);
});
