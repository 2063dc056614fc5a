// The ring itself, over plain SharedArrayBuffers (Atomics waits): layout and open errors,
// wrap-around and alignment over many sizes, loans, joiners, and the corruption checks.
import test from 'ava';
import { ErrorCode, RecordBatchEncoder } from '@quiver/core';
import {
  formatRing, LAYOUT_VERSION, openRing, randomId, ringSizes, RingWriter, atomicsWaiter, selfIdentity, ShmErrorCode,
  type RingRecord,
} from '../src/index.js';
import { H, S, slotWord } from '../src/ring/layout.js';
import { drainRecords, encodeBatches, memoryRing, payload, payloadIndex, schema, writeMessages } from './helpers/common.js';

test('a formatted ring opens with its geometry; the init flag is what makes it ready', (t) => {
  const sizes = ringSizes({ capacity: 1 << 16, maxSubscribers: 64, preambleCapacity: 5000 });
  t.is(sizes.headerBytes, 4096, '64 subscribers fit the first page');
  t.is(sizes.preambleCapacity, 8192);
  t.is(sizes.dataOffset, 4096 + 8192);
  const sab = new SharedArrayBuffer(sizes.segmentBytes);
  t.throws(() => openRing(sab), { code: ShmErrorCode.NOT_READY }); // all zeros: not yet
  const ring = formatRing(sab, sizes, selfIdentity(), 'block', randomId());
  const again = openRing(sab);
  t.deepEqual(again.sizes, sizes);
  t.is(again.id, ring.id);
  t.regex(ring.id, /^[0-9a-f]{32}$/);
  t.is(Atomics.load(ring.words, H.PUB_PID), process.pid);
  // Everything written but the flag: not ready.
  Atomics.store(ring.words, H.READY, 0);
  t.throws(() => openRing(sab), { code: ShmErrorCode.NOT_READY });
});

test('open errors: another layout version, bad magic, impossible geometry, a buffer too small', (t) => {
  const sizes = ringSizes({ capacity: 4096, maxSubscribers: 4, preambleCapacity: 4096 });
  const fresh = () => {
    const sab = new SharedArrayBuffer(sizes.segmentBytes);
    return { sab, w: formatRing(sab, sizes, selfIdentity(), 'block', randomId()).words };
  };
  let r = fresh();
  r.w[H.VERSION] = LAYOUT_VERSION + 1;
  t.throws(() => openRing(r.sab), { code: ShmErrorCode.VERSION });
  r = fresh();
  r.w[H.MAGIC] = 0x12345678;
  t.throws(() => openRing(r.sab), { code: ErrorCode.INVALID_IPC });
  for (const [word, value] of [
    [H.CAPACITY, 3000],
    [H.CAPACITY, 1 << 20],
    [H.MAX_SUBSCRIBERS, 0],
    [H.MAX_SUBSCRIBERS, 100],
    [H.DATA_OFFSET, 12],
    [H.PREAMBLE_CAPACITY, -8],
    [H.SEGMENT_BYTES, 1 << 30],
    [H.READY, 7],
  ] as const) {
    r = fresh();
    r.w[word] = value;
    t.throws(() => openRing(r.sab), { code: ErrorCode.INVALID_IPC }, `word ${word} = ${value}`);
  }
  t.throws(() => openRing(new SharedArrayBuffer(64)), { code: ShmErrorCode.NOT_READY });
  r = fresh();
  t.throws(() => openRing(r.sab.slice(0, 8192) as unknown as SharedArrayBuffer), { code: ErrorCode.INVALID_IPC });
});

test('records of every size from 0 to 700 bytes wrap around a 4 KiB ring intact and 8-aligned', async (t) => {
  const { writer, join } = memoryRing({ capacity: 4096 });
  const reader = await join();
  const sizes = Array.from({ length: 701 }, (_, i) => i).concat(Array.from({ length: 300 }, (_, i) => (i * 7919) % 2033));
  const produce = (async () => {
    for (let i = 0; i < sizes.length; i++) await writer.write({ kind: 'batch' }, [payload(i, sizes[i]!)]);
    writer.end();
  })();
  let i = 0;
  let misaligned = 0;
  let bad = 0;
  let prev: RingRecord | null = null;
  for (let r = await reader.next(undefined, prev); r; r = await reader.next(undefined, prev)) {
    const want = payload(i, sizes[i]!);
    if (r.bytes.byteLength !== want.byteLength || Buffer.compare(r.bytes, want) !== 0) bad++;
    if (r.bytes.byteOffset % 8 !== 0) misaligned++;
    t.is(r.bytes.buffer, reader.ring.buffer as ArrayBufferLike);
    prev = r;
    i++;
  }
  await produce;
  t.is(i, sizes.length);
  t.is(bad, 0);
  t.is(misaligned, 0);
  t.is(reader.drops, 0);
});

test('several subscribers read everything in order while the writer laps the ring many times', async (t) => {
  const { writer, join } = memoryRing({ capacity: 2048 });
  const readers = await Promise.all([join(), join(), join()]);
  const n = 3000;
  const produce = (async () => {
    for (let i = 0; i < n; i++) await writer.write({ kind: 'batch' }, [payload(i, 4 + ((i * 131) % 500))]);
    writer.end();
  })();
  const results = await Promise.all(
    readers.map(async (reader, k) => {
      const seen: number[] = [];
      const held: RingRecord[] = [];
      let prev: RingRecord | null = null;
      for (let r = await reader.next(undefined, prev); r; r = await reader.next(undefined, prev)) {
        seen.push(payloadIndex(r.bytes));
        // Reader k keeps k records at a time, released out of order.
        if (k > 0) {
          held.push(r);
          prev = null;
          if (held.length > k) held.splice(k === 2 ? seen.length % 2 : 0, 1)[0]!.release();
        } else prev = r;
      }
      for (const h of held) h.release();
      return seen;
    }),
  );
  await produce;
  for (const seen of results) t.deepEqual(seen, Array.from({ length: n }, (_, i) => i));
});

test('loans: write in place, commit (classified from the bytes or told), shrink, abort; one at a time; size limits', async (t) => {
  const { writer, join, ring } = memoryRing({ capacity: 4096 });
  const reader = await join();
  const encoder = new RecordBatchEncoder(schema);
  const [schemaMessage] = encoder.start();
  const bytes = Buffer.concat(schemaMessage!.buffers);
  // A message built in place, classified from its bytes.
  const loan = await writer.loan(bytes.byteLength);
  t.is(loan.bytes.buffer, ring.buffer as ArrayBufferLike);
  await t.throwsAsync(writer.loan(8), { code: ErrorCode.INVALID_ARGUMENT });
  loan.bytes.set(bytes);
  loan.commit();
  t.throws(() => loan.commit(), { code: ErrorCode.INVALID_ARGUMENT });
  // Told what it is, and shrunk.
  const l2 = await writer.loan(100);
  l2.bytes.set(payload(7, 40));
  l2.commit({ kind: 'batch' }, 40);
  // Aborted: nothing published; `using` aborts an uncommitted loan.
  (await writer.loan(64)).abort();
  {
    using l3 = await writer.loan(64);
    l3.bytes.fill(1);
  }
  // Bytes that are not one message cannot be classified.
  const l4 = await writer.loan(16);
  t.throws(() => l4.commit(), { code: ErrorCode.INVALID_IPC });
  l4.abort();
  await t.throwsAsync(writer.loan(2048 - 16 + 1), { code: ErrorCode.MESSAGE_TOO_LARGE });
  // Sizes past 2^31 too (a 32-bit rounding once made them small, and the writer then waited for ever).
  for (const size of [2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1120, 2 ** 53 - 1]) {
    await t.throwsAsync(writer.loan(size), { code: ErrorCode.MESSAGE_TOO_LARGE }, `loan(${size})`);
  }
  await writer.loan(2048 - 16).then((l) => l.abort());
  writer.end();
  const got = await drainRecords(reader);
  // The reader joined before the schema: it gets it as a ring record.
  t.deepEqual(got.map((r) => r.kind), ['schema', 'batch']);
  t.is(got[1]!.bytes.byteLength, 40);
  t.is(payloadIndex(got[1]!.bytes), 7);
});

test('a late joiner gets the schema and the current dictionaries first, then only what follows', async (t) => {
  const { writer, join } = memoryRing({ capacity: 1 << 16, preamble: 1 << 14 });
  const early = await join();
  const encoder = new RecordBatchEncoder(schema, 'stream', { dictionaryDeltas: true });
  await writeMessages(writer, [...encoder.start(), ...encodeBatches(encoder, 0, 5)]);
  const late = await join();
  await writeMessages(writer, encodeBatches(encoder, 5, 7));
  writer.end();
  const kinds = (rs: RingRecord[]) => rs.map((r) => `${r.kind}${r.synthetic ? '*' : ''}`);
  t.deepEqual(kinds(await drainRecords(early)), ['schema', ...Array(7).fill(['dictionary', 'batch']).flat()]);
  // The preamble holds the schema and batch 4's dictionary only (each replaced the one before).
  t.deepEqual(kinds(await drainRecords(late)), ['schema*', 'dictionary*', 'dictionary', 'batch', 'dictionary', 'batch']);
});

test('a joiner after the end gets schema, dictionaries and the end-of-stream marker', async (t) => {
  const { writer, join } = memoryRing({ capacity: 1 << 14 });
  const encoder = new RecordBatchEncoder(schema);
  await writeMessages(writer, [...encoder.start(), ...encodeBatches(encoder, 0, 2), ...encoder.finish()]);
  writer.end();
  const late = await join();
  t.deepEqual((await drainRecords(late)).map((r) => r.kind), ['schema', 'dictionary', 'eos']);
});

test('the subscriber table: a full table is ERR_QUIVER_SHM_FULL; a closed subscriber frees its slot', async (t) => {
  const { join } = memoryRing({ maxSubscribers: 2 });
  const a = await join();
  const b = await join();
  await t.throwsAsync(join(), { code: ShmErrorCode.FULL });
  a.close();
  a.close();
  const c = await join();
  t.is(c.slot, a.slot);
  b.close();
  c.close();
});

test('a corrupted record header is InvalidDataError for the reader, never an out-of-bounds read', async (t) => {
  for (const [what, corrupt] of [
    ['length', (w: Int32Array, hw: number) => (w[hw] = 0x7fffff00)],
    // Found by the fuzzer: 2^31 rounded up to 8 in 32 bits was negative, passed for a small record,
    // and the reader made a view of 2 GiB (a RangeError).
    ['length 2^31', (w: Int32Array, hw: number) => (w[hw] = 0x80000000 | 0)],
    ['length 2^32 - 1', (w: Int32Array, hw: number) => (w[hw] = -1)],
    ['tag check bits', (w: Int32Array, hw: number) => (w[hw + 1] = (w[hw + 1]! ^ 0x100) | 0)],
    ['kind', (w: Int32Array, hw: number) => (w[hw + 1] = (w[hw + 1]! & ~0xff) | 9)],
  ] as const) {
    const { writer, join, ring } = memoryRing({ capacity: 4096 });
    const reader = await join();
    await writer.write({ kind: 'batch' }, [payload(1, 100)]);
    corrupt(ring.words, ring.sizes.dataOffset >> 2);
    await t.throwsAsync(reader.next(), { code: ErrorCode.INVALID_IPC }, what);
    await t.throwsAsync(reader.next(), { code: ErrorCode.INVALID_IPC }, `${what}, again`);
  }
});

test('corrupted cursors and preamble are InvalidDataError', async (t) => {
  {
    const { writer, join, ring } = memoryRing({ capacity: 4096 });
    const reader = await join();
    await writer.write({ kind: 'batch' }, [payload(1, 100)]);
    Atomics.store(ring.words, H.WRITE, 1 << 20); // far beyond one ring's length
    await t.throwsAsync(reader.next(), { code: ErrorCode.INVALID_IPC });
  }
  {
    const { ring, join } = memoryRing({ capacity: 4096 });
    Atomics.store(ring.words, H.PRE_LENGTH, 1 << 24);
    await t.throwsAsync(join(), { code: ErrorCode.INVALID_IPC });
    Atomics.store(ring.words, H.PRE_LENGTH, 64);
    Atomics.store(ring.words, H.PRE_COUNT, 1);
    ring.words[ring.sizes.preambleOffset >> 2] = 4000; // an entry longer than the preamble
    await t.throwsAsync(join(), { code: ErrorCode.INVALID_IPC });
  }
  {
    // Found by the fuzzer: a TAIL ahead of the write cursor (or a ring or more behind it) made a
    // joiner register again and again, for ever, without yielding.
    for (const tail of [2048, 0x80000000 | 0, 1 << 20]) {
      const { ring, writer, join } = memoryRing({ capacity: 4096 });
      for (let i = 0; i < 3; i++) await writer.write({ kind: 'batch' }, [payload(i, 100)]);
      Atomics.store(ring.words, H.TAIL, tail);
      await t.throwsAsync(join(), { code: ErrorCode.INVALID_IPC }, `TAIL ${tail}`);
      Atomics.store(ring.words, H.TAIL, 0);
      (await join()).close(); // the slot the failed join took was given back
    }
  }
  {
    // A subscriber slot holding garbage does not stop (or crash) the writer.
    const { ring, writer, join } = memoryRing({ capacity: 4096 });
    const reader = await join();
    Atomics.store(ring.words, slotWord(reader.slot, S.NEXT), 0x40000001);
    Atomics.store(ring.words, slotWord(reader.slot, S.RELEASED), 0x7ffffff1);
    for (let i = 0; i < 100; i++) await writer.write({ kind: 'batch' }, [payload(i, 200)]);
    t.pass();
  }
  {
    // A drop-oldest subscriber whose cursor points into a record: cut off, the writer goes on.
    const { ring, writer, join } = memoryRing({ capacity: 4096 });
    const reader = await join({ policy: 'drop-oldest' });
    for (let i = 0; i < 5; i++) await writer.write({ kind: 'batch' }, [payload(i, 100)]);
    Atomics.store(ring.words, slotWord(reader.slot, S.NEXT), 8);
    for (let i = 0; i < 100; i++) await writer.write({ kind: 'batch' }, [payload(i, 100)]);
    t.deepEqual(writer.subscribers().map((s) => s.state), ['disconnected']);
    await t.throwsAsync(reader.next(), { code: ErrorCode.SLOW_CONSUMER });
  }
});

test('one writer per ring', (t) => {
  const { ring } = memoryRing();
  t.throws(() => new RingWriter(ring, { waiter: atomicsWaiter(ring.buffer) }), { code: ErrorCode.ADDRESS_IN_USE });
});
