// Real separate processes sharing segments: publish/subscribe both ways, a publisher or a
// subscriber killed with SIGKILL, stale segments, and corrupted memory read by a child (which must
// report a coded error and exit normally, never crash).
import test from 'ava';
import { readdirSync } from 'node:fs';
import { ErrorCode, StreamProducer, StreamReader } from '@quiver/core';
import { requireNative } from '@quiver/native';
import { cleanupStaleSegments, connectShm, listenShm, ShmErrorCode, type RingReaderConnection } from '../src/index.js';
import { check, H, KIND } from '../src/ring/layout.js';
import { assertNoSegments, batch, checkBatch, kill, schema, segmentName, segmentsLike, settlesWithin, spawnChild } from './helpers/common.js';

interface SubscribeResult {
  batches: number;
  bad: number;
  zeroCopy: number;
  end: string;
}

test('a child publishes; subscribers here and in another process read every batch in place', async (t) => {
  const name = segmentName();
  const url = `shm://${name}`;
  const n = 200;
  const publisher = spawnChild(t, 'publish', url, n);
  t.is(await publisher.line(), 'listening');
  const local = await Promise.all([connectShm(url), connectShm(url)]);
  const remote = spawnChild(t, 'subscribe', url);
  t.is(await remote.line(), 'joined');
  publisher.proc.stdin!.write('go\n');
  const results = await Promise.all(
    local.map(async (conn) => {
      const reader = await StreamReader.open(conn);
      let i = 0;
      let zeroCopy = 0;
      for await (const b of reader) {
        t.is(checkBatch(t, b), i++);
        if ((b.getChild('x')!.data[0]!.values as Int32Array).buffer === (conn as RingReaderConnection).buffer) zeroCopy++;
      }
      await conn.close();
      return { batches: i, zeroCopy, end: reader.end };
    }),
  );
  for (const r of results) t.deepEqual(r, { batches: n, zeroCopy: n, end: 'eos' });
  t.deepEqual(JSON.parse((await remote.line())!) as SubscribeResult, { batches: n, bad: 0, zeroCopy: n, end: 'eos' });
  t.is(await publisher.exited, 0);
  t.is(await remote.exited, 0);
  assertNoSegments(t, name);
});

test('this process publishes; two child processes subscribe', async (t) => {
  const name = segmentName();
  const url = `shm://${name}`;
  const listener = await listenShm(url, { size: 1 << 14 });
  t.teardown(() => listener.close());
  const children = [spawnChild(t, 'subscribe', url), spawnChild(t, 'subscribe', url)];
  for (const c of children) t.is(await c.line(), 'joined');
  const producer = await StreamProducer.over(listener.connection, schema);
  for (let i = 0; i < 300; i++) await producer.send(batch(i));
  await producer.close();
  for (const c of children) {
    t.deepEqual(JSON.parse((await c.line())!) as SubscribeResult, { batches: 300, bad: 0, zeroCopy: 300, end: 'eos' });
    t.is(await c.exited, 0);
  }
  t.deepEqual(listener.connection.writer.subscribers(), []);
  await listener.close();
  assertNoSegments(t, name);
});

test('a publisher killed with SIGKILL: its subscriber reads what was published, then gets CONNECTION_FAILED; the stale segment is cleaned', async (t) => {
  const name = segmentName();
  const url = `shm://${name}`;
  const publisher = spawnChild(t, 'publish-hang', url, 5);
  t.is(await publisher.line(), 'listening');
  const conn = await connectShm(url);
  t.teardown(() => conn.close());
  publisher.proc.stdin!.write('go\n');
  t.is(await publisher.line(), 'published');
  const reader = await StreamReader.open(conn);
  for (let i = 0; i < 5; i++) t.is(checkBatch(t, (await reader.next())!), i);
  await kill(publisher);
  // The subscriber notices within a wait slice: the publisher's pid is gone.
  await t.throwsAsync(reader.next(), { code: ErrorCode.CONNECTION_FAILED });
  t.is((await conn.closed).kind, 'error');
  t.deepEqual(segmentsLike(name), [name], 'a SIGKILLed publisher cannot unlink its segment');
  t.deepEqual(cleanupStaleSegments(name), [`/${name}`]);
  assertNoSegments(t, name);
});

test('a subscriber killed with SIGKILL while holding a record: the publisher reclaims its slot and goes on', async (t) => {
  const name = segmentName();
  const url = `shm://${name}`;
  const listener = await listenShm(url, { size: 1 << 12, policy: 'block' });
  t.teardown(() => listener.close());
  const child = spawnChild(t, 'subscribe-hang', url);
  t.is(await child.line(), 'joined');
  const producer = await StreamProducer.over(listener.connection, schema);
  await producer.send(batch(0));
  t.is(await child.line(), 'holding');
  let sent = 1;
  let pending: Promise<void> | undefined;
  while (sent < 1000) {
    const p = producer.send(batch(sent));
    if (!(await settlesWithin(p, 100))) {
      pending = p;
      break;
    }
    sent++;
  }
  t.truthy(pending, 'the held record stops the publisher');
  t.is(listener.connection.writer.subscribers().length, 1);
  await kill(child);
  await pending;
  for (let i = sent + 1; i < sent + 100; i++) await producer.send(batch(i));
  t.deepEqual(listener.connection.writer.subscribers(), [], 'the dead subscriber is gone from the table');
  await producer.close();
  await listener.close();
  assertNoSegments(t, name);
});

test('segments of SIGKILLed creators are stale: listen replaces one, cleanupStaleSegments removes another', async (t) => {
  const a = segmentName();
  const b = segmentName();
  const children = [spawnChild(t, 'listen-hang', `shm://${a}`), spawnChild(t, 'listen-hang', `shm://${b}`)];
  for (const c of children) t.is(await c.line(), 'listening');
  await t.throwsAsync(listenShm(`shm://${a}`), { code: ErrorCode.ADDRESS_IN_USE }, 'alive: in use');
  t.deepEqual(cleanupStaleSegments(b), [], 'alive: not stale');
  for (const c of children) await kill(c);
  const listener = await listenShm(`shm://${a}`, { size: 1 << 12 });
  t.deepEqual(cleanupStaleSegments(b), [`/${b}`]);
  assertNoSegments(t, b);
  await listener.close();
  assertNoSegments(t, a);
});

/** Publishes a bogus record at the write cursor, as a broken or hostile publisher would. */
function forge(listener: { buffer: SharedArrayBuffer }, how: 'length' | 'cursor'): void {
  const w = new Int32Array(listener.buffer);
  const W = Atomics.load(w, H.WRITE) >>> 0;
  const cap = w[H.CAPACITY]!;
  const hw = (w[H.DATA_OFFSET]! + (W & (cap - 1))) >> 2;
  w[hw] = 0x7ffffff0;
  w[hw + 1] = KIND.BATCH | (check(W) << 8);
  Atomics.store(w, H.WRITE, how === 'cursor' ? (W + (1 << 24)) | 0 : (W + 64) | 0);
  Atomics.add(w, H.PUBLISHED, 1);
  requireNative().futexWake(listener.buffer, H.PUBLISHED * 4, Infinity);
}

for (const how of ['length', 'cursor'] as const) {
  test(`a corrupted ${how === 'length' ? 'record header' : 'write cursor'} makes a reading child report ERR_QUIVER_INVALID_IPC and exit normally`, async (t) => {
    const name = segmentName();
    const url = `shm://${name}`;
    const listener = await listenShm(url, { size: 1 << 14 });
    t.teardown(() => listener.close());
    const producer = await StreamProducer.over(listener.connection, schema);
    await producer.send(batch(0));
    const child = spawnChild(t, 'read', url);
    t.is(await child.line(), 'joined');
    forge(listener, how);
    t.deepEqual(JSON.parse((await child.line())!), { error: ErrorCode.INVALID_IPC });
    t.is(await child.exited, 0);
    await listener.close();
    assertNoSegments(t, name);
  });
}

test('a corrupted or foreign header: a child opening it reports the coded error and exits normally', async (t) => {
  for (const [word, value, code] of [
    [H.MAGIC, 0x0badf00d, ErrorCode.INVALID_IPC],
    [H.VERSION, 7, ShmErrorCode.VERSION],
    [H.READY, 0, ShmErrorCode.NOT_READY],
    [H.CAPACITY, 12345, ErrorCode.INVALID_IPC],
  ] as const) {
    const name = segmentName();
    const listener = await listenShm(`shm://${name}`, { size: 1 << 12 });
    const w = new Int32Array(listener.buffer);
    const saved = w[word]!;
    w[word] = value;
    const child = spawnChild(t, 'read', `shm://${name}`);
    t.deepEqual(JSON.parse((await child.line())!), { error: code }, `word ${word} = ${value}`);
    t.is(await child.exited, 0);
    w[word] = saved;
    await listener.close();
    assertNoSegments(t, name);
  }
});

test.after.always('no segment made by this file is left in /dev/shm', (t) => {
  t.deepEqual(readdirSync('/dev/shm').filter((n) => n.startsWith(`qshm-${process.pid}-`)), []);
});
