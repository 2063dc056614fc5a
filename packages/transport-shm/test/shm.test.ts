// The shm: transport in one process: segments (mode, exclusivity, unlink, open errors), the
// Connection mapping (roles, message splitting, hello, backpressure), zero copy, and core's
// messaging (StreamProducer, Publisher, subscribe) over it through a registry.
import test from 'ava';
import { readdirSync, statSync } from 'node:fs';
import * as A from 'apache-arrow';
import {
  ErrorCode, Publisher, RecordBatchEncoder, StreamProducer, StreamReader, subscribe, TransportRegistry,
  encodeHello, type Connection,
} from '@quiver/core';
import { connectFailures, type ConformanceSubject } from '@quiver/transport-socket/conformance';
import { requireNative } from '@quiver/native';
import {
  connectShm, listenShm, shmTransport, workerTransport, ShmErrorCode, ShmPublisher, ShmSubscriber,
  type RingReaderConnection, type RingListener,
} from '../src/index.js';
import { H } from '../src/ring/layout.js';
import { assertNoSegments, batch, checkBatch, schema, segmentName, segmentsLike, settlesWithin, turns } from './helpers/common.js';

/** Listens on a fresh segment; closes it at teardown. */
async function listen(t: { teardown(f: () => unknown): void }, opts: Parameters<typeof listenShm>[1] = {}): Promise<{ name: string; url: string; listener: RingListener }> {
  const name = segmentName();
  const listener = await listenShm(`shm://${name}`, { size: 1 << 16, ...opts });
  t.teardown(() => listener.close());
  return { name, url: `shm://${name}`, listener };
}

const shmSubject: ConformanceSubject = {
  name: 'shm',
  transport: shmTransport({ size: 1 << 16 }),
  listenUrl: () => `shm://${segmentName()}`,
  deadUrl: () => `shm://${segmentName()}`,
};
// The contract's other macros need both directions of a point-to-point connection; a ring
// carries one (see the README). Connecting is the part that applies as written.
test(connectFailures, shmSubject);

test('availability and the registry: shm and worker are both there', (t) => {
  const registry = new TransportRegistry([shmTransport(), workerTransport()]);
  t.deepEqual(registry.capabilities(), [
    { scheme: 'shm', available: true },
    { scheme: 'worker', available: true },
  ]);
});

test('listen creates /dev/shm/<name> with mode 0600 and yields one connection, the writer; close unlinks', async (t) => {
  const { name, url, listener } = await listen(t);
  const st = statSync(`/dev/shm/${name}`);
  t.is(st.mode & 0o777, 0o600);
  t.is(listener.url, url);
  const it = listener[Symbol.asyncIterator]();
  const first = await it.next();
  t.is(first.value, listener.connection);
  t.false(await settlesWithin(it.next(), 20), 'no second connection');
  await t.throwsAsync(listenShm(url), { code: ErrorCode.ADDRESS_IN_USE });
  // As with sockets: closing the listener releases the address; the connection handed out stays
  // open (subscribers already in go on reading) until its taker closes it.
  await listener.close();
  await listener.close();
  assertNoSegments(t, name);
  t.deepEqual(listener.connection.status(), { state: 'open' });
  await listener.connection.close();
  t.deepEqual(await listener.connection.closed, { kind: 'local' });
  // The name is free again.
  const again = await listenShm(url, { size: 1 << 12, mode: 0o640 });
  t.is(statSync(`/dev/shm/${name}`).mode & 0o777, 0o640);
  await again.close();
  assertNoSegments(t, name);
});

test('open errors: no segment, not initialised, another layout version', async (t) => {
  const missing = segmentName();
  await t.throwsAsync(connectShm(`shm://${missing}`), { code: ErrorCode.CONNECTION_FAILED });
  // A segment that exists but was never sized or initialised (a creator that died early).
  const native = requireNative();
  const bare = segmentName();
  native.closeFd(native.shmOpen(`/${bare}`, { create: true, exclusive: true }, 0o600));
  t.teardown(() => {
    if (segmentsLike(bare).length) native.shmUnlink(`/${bare}`);
  });
  await t.throwsAsync(connectShm(`shm://${bare}`), { code: ShmErrorCode.NOT_READY });
  await t.throwsAsync(listenShm(`shm://${bare}`), { code: ErrorCode.ADDRESS_IN_USE });
  native.shmUnlink(`/${bare}`);
  const { url, listener, name } = await listen(t);
  const words = new Int32Array(listener.buffer);
  words[H.VERSION] = 99;
  await t.throwsAsync(connectShm(url), { code: ShmErrorCode.VERSION });
  words[H.VERSION] = 1;
  await t.throwsAsync(connectShm('shm://bad/name'), { code: ErrorCode.INVALID_ARGUMENT });
  await listener.close();
  assertNoSegments(t, name);
});

test('a stale segment (its publisher dead) is replaced by a new listener', async (t) => {
  const { url, listener, name } = await listen(t);
  // Make it look like the segment of a process that has exited: pid 2^22 + 1 is above pid_max.
  Atomics.store(new Int32Array(listener.buffer), H.PUB_PID, (1 << 22) + 1);
  const fresh = await listenShm(url, { size: 1 << 12 });
  t.not(fresh.buffer, listener.buffer);
  await listener.close(); // its name is no longer its segment: it must not unlink fresh's
  t.deepEqual(segmentsLike(name), [name]);
  await fresh.close();
  assertNoSegments(t, name);
});

test('a pipeline over shm: the producer listens, the consumer connects; batches are views of the segment', async (t) => {
  const { url, listener, name } = await listen(t);
  const conn = (await connectShm(url)) as RingReaderConnection;
  t.teardown(() => conn.close());
  const producer = await StreamProducer.over(listener.connection, schema);
  const reading = StreamReader.open(conn);
  const n = 100;
  const sending = (async () => {
    for (let i = 0; i < n; i++) await producer.send(batch(i));
    await producer.close();
  })();
  const reader = await reading;
  let i = 0;
  for await (const b of reader) {
    t.is(checkBatch(t, b), i++);
    const values = b.getChild('x')!.data[0]!.values as Int32Array;
    t.is(values.buffer, conn.buffer as ArrayBufferLike, 'zero copy: the column is a view of the segment');
  }
  await sending;
  t.is(i, n);
  t.is(reader.end, 'eos');
  // The stream ended at its marker; past it, the ring's end.
  t.true((await conn[Symbol.asyncIterator]().next()).done);
  t.deepEqual(await conn.closed, { kind: 'peer' });
  await listener.close();
  assertNoSegments(t, name);
});

test('messages split anywhere across sends, and several per send, become one record each', async (t) => {
  const { url, listener, name } = await listen(t);
  const conn = await connectShm(url);
  t.teardown(() => conn.close());
  const encoder = new RecordBatchEncoder(schema);
  const bytes = Buffer.concat([...encoder.start(), ...encoder.write(batch(0)), ...encoder.write(batch(1)), ...encoder.finish()].flatMap((m) => m.buffers));
  const chunks: Uint8Array[] = [];
  const reading = (async () => {
    for await (const c of conn) chunks.push(c.slice());
  })();
  // Cut at every 7th byte, in sends of 1 to 3 pieces.
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength; at += 7) pieces.push(bytes.subarray(at, Math.min(bytes.byteLength, at + 7)));
  for (let i = 0; i < pieces.length; i += 1 + (i % 3)) await listener.connection.send(pieces.slice(i, i + 1 + (i % 3)));
  await listener.connection.end();
  await reading;
  t.deepEqual(Buffer.concat(chunks), bytes);
  t.is(chunks.length, 1 + 2 * 2 + 1, 'schema, dictionary + batch twice, end of stream');
  await listener.close();
  assertNoSegments(t, name);
});

test('the writer: bytes that are not Arrow fail the connection (subscribers see the end); a message over half the ring is MESSAGE_TOO_LARGE', async (t) => {
  const { url, listener, name } = await listen(t, { size: 4096 });
  const conn = await connectShm(url);
  t.teardown(() => conn.close());
  const big = new RecordBatchEncoder(new A.Schema([new A.Field('b', new A.Binary())]));
  const huge = A.tableFromArrays({ b: [new Uint8Array(3000)] }).batches[0]!;
  await listener.connection.send(big.start().flatMap((m) => m.buffers));
  const tooBig = big.write(new A.RecordBatch(big.schema, huge.data)).flatMap((m) => m.buffers);
  await t.throwsAsync(listener.connection.send(tooBig), { code: ErrorCode.MESSAGE_TOO_LARGE });
  const reason = await listener.connection.closed;
  t.is(reason.kind, 'error');
  await t.throwsAsync(listener.connection.send([new Uint8Array(8)]), { code: ErrorCode.MESSAGE_TOO_LARGE });
  const got: number[] = [];
  for await (const c of conn) got.push(c.byteLength);
  t.is(got.length, 1, 'the schema, then the end');
  await listener.close();

  const other = await listen(t, { size: 4096 });
  const garbage = new Uint8Array(24).fill(0x5a);
  new DataView(garbage.buffer).setUint32(0, 0xffffffff, true);
  new DataView(garbage.buffer).setInt32(4, 16, true); // a prefix, then 16 bytes that are no flatbuffer
  await t.throwsAsync(other.listener.connection.send([garbage]), { code: ErrorCode.INVALID_IPC });
  t.is((await other.listener.connection.closed).kind, 'error');
  await other.listener.close();
  assertNoSegments(t, name);
  assertNoSegments(t, other.name);
});

test('a subscriber connection sends only its hello: policy applied; another topic ends it; other bytes are PROTOCOL', async (t) => {
  const { url, listener, name } = await listen(t);
  const a = (await connectShm(url)) as RingReaderConnection;
  await a.send([encodeHello({ topic: 'default', policy: 'drop-oldest' })]);
  t.deepEqual(listener.connection.writer.subscribers().map((s) => s.policy), ['drop-oldest']);
  await t.throwsAsync(a.send([new Uint8Array([1])]), { code: ErrorCode.PROTOCOL });
  const b = await connectShm(url);
  await t.throwsAsync(b.send([new Uint8Array([1, 2, 3, 4])]), { code: ErrorCode.PROTOCOL });
  const c = await connectShm(url);
  await c.send([encodeHello({ topic: 'elsewhere' })]);
  t.true((await c[Symbol.asyncIterator]().next()).done);
  t.deepEqual(await c.closed, { kind: 'peer' });
  for (const x of [a, b, c]) await x.close();
  t.deepEqual(listener.connection.writer.subscribers(), []);
  await listener.close();
  assertNoSegments(t, name);
});

test('backpressure through the connection: send waits for a blocking subscriber; abort stops the wait, not the write', async (t) => {
  const { url, listener, name } = await listen(t, { size: 4096 });
  const conn = await connectShm(url);
  t.teardown(() => conn.close());
  const producer = await StreamProducer.over(listener.connection, schema);
  let sent = 0;
  let pending: Promise<void> | undefined;
  for (;;) {
    const p = producer.send(batch(sent));
    if (!(await settlesWithin(p, 100))) {
      pending = p;
      break;
    }
    sent++;
  }
  t.true(sent > 0);
  const ac = new AbortController();
  const aborted = listener.connection.send(batchBytes(sent + 1), { signal: ac.signal });
  ac.abort();
  await t.throwsAsync(aborted, { code: ErrorCode.ABORTED });
  const reader = await StreamReader.open(conn);
  const seen: number[] = [];
  const reading = (async () => {
    for await (const b of reader) seen.push(checkBatch(t, b));
  })();
  await pending;
  await producer.close();
  await reading;
  t.deepEqual(seen, [...Array.from({ length: sent + 1 }, (_, i) => i), sent + 1], 'the aborted send still arrived');
  await listener.close();
  assertNoSegments(t, name);
});

/** Batch `i` alone as a record batch message (its dictionary included), for raw sends. */
function batchBytes(i: number): Uint8Array[] {
  const e = new RecordBatchEncoder(schema);
  e.start();
  return e.write(batch(i)).flatMap((m) => m.buffers);
}

test("publish/subscribe through a registry: core's Publisher listens on shm, subscribers get every batch", async (t) => {
  const registry = new TransportRegistry([shmTransport({ size: 1 << 16 })]);
  const name = segmentName();
  const url = `shm://${name}`;
  const publisher = await Publisher.listen(registry, url, { helloTimeoutMs: 1 });
  const topic = publisher.topic('default', schema);
  // The ring joins core's Publisher as its one subscriber once the hello timeout passes.
  while (!publisher.stats().some((s) => s.state === 'active')) await turns(1);
  const subs = [subscribe(registry, url), subscribe(registry, url, { policy: 'block' })];
  const received = subs.map(async (s) => {
    const got: number[] = [];
    for await (const b of s) got.push(checkBatch(t, b));
    return got;
  });
  // Subscribers join when their iteration starts: wait until the ring has both.
  const ring = () => (publisher.listener as RingListener).connection.writer.subscribers().length;
  while (ring() < 2) await turns(1);
  for (let i = 0; i < 50; i++) await topic.publish(batch(i));
  await publisher.close();
  for (const got of await Promise.all(received)) t.deepEqual(got, Array.from({ length: 50 }, (_, i) => i));
  assertNoSegments(t, name);
});

test('ShmPublisher / ShmSubscriber: batch-level API, zero copy, holds, late joiner, stats', async (t) => {
  const name = segmentName();
  const pub = await ShmPublisher.create(`shm://${name}`, { size: 1 << 16 });
  t.teardown(() => pub.close());
  const early = await ShmSubscriber.open(`shm://${name}`);
  await pub.publish(batch(0));
  await pub.publish(batch(1));
  const late = await ShmSubscriber.open(`shm://${name}`, { policy: 'drop-oldest' });
  await pub.publish(batch(2));
  t.deepEqual(pub.subscribers().map((s) => s.policy).sort(), ['block', 'drop-oldest']);
  const b0 = (await early.next())!;
  t.is(checkBatch(t, b0), 0);
  t.is((b0.getChild('x')!.data[0]!.values as Int32Array).buffer, early.buffer as ArrayBufferLike);
  const hold = early.hold();
  const b1 = (await early.next())!;
  t.is(checkBatch(t, b1), 1);
  t.is(checkBatch(t, b0), 0, 'a held batch stays valid');
  hold.release();
  t.is(checkBatch(t, (await late.next())!), 2, 'the late joiner starts after it joined, dictionary included');
  await pub.close();
  t.is(checkBatch(t, (await early.next())!), 2);
  t.is(await early.next(), null);
  t.is(await late.next(), null);
  t.deepEqual(early.schema?.fields.map((f) => f.name), ['x', 's']);
  early.close();
  late.close();
  assertNoSegments(t, name);
});

test('connect with an aborted signal, and a subscriber closing while another task waits in its iterator', async (t) => {
  const { url, listener, name } = await listen(t);
  await t.throwsAsync(connectShm(url, { signal: AbortSignal.abort() }), { code: ErrorCode.ABORTED });
  const conn: Connection = await connectShm(url);
  const waiting = conn[Symbol.asyncIterator]().next();
  await conn.close();
  t.true((await waiting).done);
  t.deepEqual(await conn.closed, { kind: 'local' });
  await listener.close();
  assertNoSegments(t, name);
  t.deepEqual(segmentsLike(name), []);
});

test.after.always('no segment made by this file is left in /dev/shm', (t) => {
  t.deepEqual(readdirSync('/dev/shm').filter((n) => n.startsWith(`qshm-${process.pid}-`)), []);
});
