// Slow subscribers: block, drop-oldest (exact counts, holds respected, dictionaries never lost
// in a way that would mis-decode a batch) and disconnect. Rings over plain SharedArrayBuffers.
// "Stalled" is decided by counting event-loop turns, never by a clock.
import test from 'ava';
import { ErrorCode } from '@quiver/core';
import { ShmPublisher, ShmSubscriber, createWorkerChannel, type RingRecord } from '../src/index.js';
import { batch, checkBatch, drainRecords, memoryRing, payload, payloadIndex, settlesWithin, turns } from './helpers/common.js';

test('block: the writer waits while a subscriber has not read, and goes on when it does', async (t) => {
  const { writer, join } = memoryRing({ capacity: 4096 });
  const reader = await join({ policy: 'block' });
  let written = 0;
  let pending: Promise<void> | undefined;
  for (;;) {
    const p = writer.write({ kind: 'batch' }, [payload(written, 200)]);
    if (!(await settlesWithin(p, 100))) {
      pending = p;
      break;
    }
    written++;
  }
  t.true(written >= 14 && written <= 20, `${written} records of 216 bytes in a 4 KiB ring`);
  t.deepEqual(writer.subscribers().map((s) => [s.policy, s.state, s.drops]), [['block', 'active', 0]]);
  // Reading the first record and moving on frees room: the waiting write completes.
  const first = await reader.next();
  t.is(payloadIndex(first!.bytes), 0);
  t.false(await settlesWithin(pending, 20), 'the record being read is still held');
  const second = await reader.next(undefined, first);
  await pending;
  writer.end();
  const rest = await drainRecords(reader);
  second!.release();
  t.deepEqual([second!, ...rest].map((r) => payloadIndex(r.bytes)), Array.from({ length: written }, (_, i) => i + 1));
  t.is(reader.drops, 0);
});

test('drop-oldest: a subscriber that does not read loses the oldest records, counted exactly; the writer never waits', async (t) => {
  const { writer, join } = memoryRing({ capacity: 4096 });
  const slow = await join({ policy: 'drop-oldest' });
  const n = 500;
  for (let i = 0; i < n; i++) t.true(await settlesWithin(writer.write({ kind: 'batch' }, [payload(i, 8 + (i % 50))]), 50));
  writer.end();
  const got = (await drainRecords(slow)).map((r) => payloadIndex(r.bytes));
  t.true(got.length > 0 && got.length < n);
  t.is(got.length + slow.drops, n);
  t.deepEqual(got, Array.from({ length: got.length }, (_, i) => n - got.length + i), 'the newest records, in order');
  t.is(writer.subscribers().length, 1);
});

test('drop-oldest never overwrites a held record: the writer waits for its release', async (t) => {
  const { writer, join } = memoryRing({ capacity: 4096 });
  const sub = await join({ policy: 'drop-oldest' });
  await writer.write({ kind: 'batch' }, [payload(0, 500)]);
  const held = (await sub.next())!;
  const copy = held.bytes.slice();
  let written = 1;
  let pending: Promise<void> | undefined;
  while (written < 100) {
    const p = writer.write({ kind: 'batch' }, [payload(written, 500)]);
    if (!(await settlesWithin(p, 100))) {
      pending = p;
      break;
    }
    written++;
  }
  t.truthy(pending, 'the writer came round to the held record and waited');
  t.deepEqual(held.bytes, copy, 'the held record is intact');
  held.release();
  await pending;
  for (let i = written + 1; i < 100; i++) await writer.write({ kind: 'batch' }, [payload(i, 500)]);
  writer.end();
  const rest = await drainRecords(sub);
  t.is(1 + rest.length + sub.drops, 100);
});

test('disconnect: a subscriber that falls a ring behind gets ERR_QUIVER_SLOW_CONSUMER; the writer never waits', async (t) => {
  const { writer, join } = memoryRing({ capacity: 4096 });
  const slow = await join({ policy: 'disconnect' });
  const fast = await join({ policy: 'block' });
  const reading = drainRecords(fast);
  for (let i = 0; i < 200; i++) await writer.write({ kind: 'batch' }, [payload(i, 100)]);
  writer.end();
  t.is((await reading).length, 200);
  t.deepEqual(writer.subscribers().map((s) => s.state).sort(), ['active', 'disconnected']);
  await t.throwsAsync(slow.next(), { code: ErrorCode.SLOW_CONSUMER });
  await t.throwsAsync(slow.next(), { code: ErrorCode.SLOW_CONSUMER });
  fast.close();
  t.is(writer.subscribers().length, 0, 'both slots are free again');
});

test('policies side by side; a subscriber may change its own policy', async (t) => {
  const { writer, join } = memoryRing({ capacity: 8192 });
  const dropping = await join({ policy: 'drop-oldest' });
  const blocking = await join();
  blocking.setPolicy('drop-oldest');
  for (let i = 0; i < 300; i++) t.true(await settlesWithin(writer.write({ kind: 'batch' }, [payload(i, 64)]), 50));
  writer.end();
  for (const r of [dropping, blocking]) {
    const got = await drainRecords(r);
    t.is(got.length + r.drops, 300);
  }
});

test('drop-oldest with a dictionary per batch: every batch decodes against its own dictionary; records read + dropped = published', async (t) => {
  const channel = createWorkerChannel({ size: 8192, preambleSize: 4096 });
  const pub = await ShmPublisher.overChannel(channel);
  const sub = await ShmSubscriber.overChannel(channel, { policy: 'drop-oldest' });
  const n = 300;
  let received = 0;
  const reading = (async () => {
    let i = 0;
    for (let b = await sub.next(); b; b = await sub.next()) {
      t.true(checkBatch(t, b) >= 0);
      received++;
      // Read in bursts, giving the publisher time to lap us (and drop dictionaries) in between.
      if (i++ % 5 === 0) await turns(20);
    }
  })();
  for (let i = 0; i < n; i++) await pub.publish(batch(i));
  await pub.close();
  await reading;
  // Records: the schema, a dictionary and a batch per batch, the end; drops count every kind.
  t.is(sub.delivered + sub.drops, 1 + 2 * n + 1);
  t.true(sub.drops > 0, 'the subscriber fell behind');
  t.true(received > 0 && received < n);
  t.log(`received ${received} of ${n} batches, ${sub.drops} records dropped`);
});

test('drop-oldest: batch counts are exact when no dictionaries are involved (every record is a batch)', async (t) => {
  const { writer, join } = memoryRing({ capacity: 4096 });
  const sub = await join({ policy: 'drop-oldest' });
  const seen: number[] = [];
  const reading = (async () => {
    let prev: RingRecord | null = null;
    let k = 0;
    for (let r = await sub.next(undefined, prev); r; r = await sub.next(undefined, prev)) {
      seen.push(payloadIndex(r.bytes));
      prev = r;
      if (k++ % 7 === 0) await turns(10);
    }
  })();
  for (let i = 0; i < 1000; i++) await writer.write({ kind: 'batch' }, [payload(i, 100)]);
  writer.end();
  await reading;
  t.is(seen.length + sub.drops, 1000);
  t.true(seen.every((v, i) => i === 0 || v > seen[i - 1]!), 'in order');
});
