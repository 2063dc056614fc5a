// The reverse direction of an shm: ring: the reader creates the segment and listens
// (`listen(url, { direction: 'read' })`), one writer attaches with
// `connect(url, { direction: 'write' })`. Batches arrive zero-copy, the stream ends at its
// marker, closing the listener unlinks the segment, and a second writer is refused.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { acceptStreams, ErrorCode, StreamProducer, StreamReader, TransportRegistry, type Connection } from '@quiver/core';
import { connectShm, listenShm, shmAvailability, shmTransport, type RingReaderListener } from '../src/index.js';
import { assertNoSegments, batch, checkBatch, schema, segmentName } from './helpers/common.js';

const availability = shmAvailability();
/** Runs `fn` only where shm: works (Linux with @quiver/native); otherwise logs why and passes. */
const shm = (title: string, fn: (t: ExecutionContext) => Promise<void>) =>
  test(title, async (t) => {
    if (!availability.available) {
      t.log(`skipped: shm unavailable: ${availability.reason}`);
      t.pass();
      return;
    }
    await fn(t);
  });

async function listenReader(t: ExecutionContext): Promise<{ name: string; url: string; listener: RingReaderListener }> {
  const name = segmentName();
  const url = `shm://${name}`;
  const listener = await listenShm(url, { size: 1 << 16, direction: 'read' });
  t.teardown(() => listener.close());
  return { name, url, listener };
}

shm('a reader that listens and a writer that connects: batches arrive zero-copy, then the end; close unlinks', async (t) => {
  const { name, url, listener } = await listenReader(t);
  t.true(existsSync(`/dev/shm/${name}`));
  const accepted = listener[Symbol.asyncIterator]().next();
  const writer = await connectShm(url, { direction: 'write' });
  t.teardown(() => writer.close());
  const first = await accepted;
  t.false(first.done);
  const conn = first.value as Connection;
  t.is(conn, listener.connection);
  t.is(conn.peer.pid, process.pid, 'the peer is the writer');

  const producer = await StreamProducer.over(writer, schema);
  const n = 50; // more than the 64 KiB ring holds at once: the writer waits for the reader
  const sending = (async () => {
    for (let i = 0; i < n; i++) await producer.send(batch(i, 100));
    await producer.close();
  })();
  const reader = await StreamReader.open(conn);
  let i = 0;
  for await (const b of reader) {
    t.is(checkBatch(t, b, 100), i++);
    const values = b.getChild('x')!.data[0]!.values as Int32Array;
    t.is(values.buffer, listener.buffer as ArrayBufferLike, 'zero copy: the column is a view of the segment');
  }
  await sending;
  t.is(i, n);
  t.is(reader.end, 'eos');
  // The stream ended at its marker; past it, the ring's end.
  t.true((await conn[Symbol.asyncIterator]().next()).done);
  t.deepEqual(await conn.closed, { kind: 'peer' });
  // One connection only: the iterator then ends when the listener closes.
  const after = listener[Symbol.asyncIterator]().next();
  await listener.close();
  t.true((await after).done);
  assertNoSegments(t, name);
});

shm('a second writer is refused with ERR_QUIVER_ADDRESS_IN_USE, and so is a writer on a writing ring', async (t) => {
  const { url, listener } = await listenReader(t);
  const writer = await connectShm(url, { direction: 'write' });
  t.teardown(() => writer.close());
  await t.throwsAsync(connectShm(url, { direction: 'write' }), { code: ErrorCode.ADDRESS_IN_USE });
  await writer.close();
  await t.throwsAsync(connectShm(url, { direction: 'write' }), { code: ErrorCode.ADDRESS_IN_USE }, 'one writer per ring, ever');
  await listener.close();

  const name = segmentName();
  const forward = await listenShm(`shm://${name}`, { size: 1 << 16 });
  t.teardown(() => forward.close());
  await t.throwsAsync(connectShm(`shm://${name}`, { direction: 'write' }), { code: ErrorCode.ADDRESS_IN_USE });
  await forward.close();
  assertNoSegments(t, name);
});

shm('closing the listener before any writer came ends its iterator and unlinks the segment', async (t) => {
  const { name, url, listener } = await listenReader(t);
  const waiting = listener[Symbol.asyncIterator]().next();
  await listener.close();
  t.true((await waiting).done);
  assertNoSegments(t, name);
  await t.throwsAsync(connectShm(url, { direction: 'write' }), { code: ErrorCode.CONNECTION_FAILED });
  await t.throwsAsync(listenShm(url, { direction: 'sideways' as 'read' }), { code: ErrorCode.INVALID_ARGUMENT });
  assertNoSegments(t, name);
});

shm('through a registry: acceptStreams over a reading listener, StreamProducer.connect with direction write', async (t) => {
  const registry = new TransportRegistry([shmTransport({ size: 1 << 16 })]);
  const name = segmentName();
  const url = `shm://${name}`;
  const listener = await registry.listen(url, { direction: 'read' });
  t.teardown(() => listener.close());
  const incoming = acceptStreams(listener)[Symbol.asyncIterator]();
  const producer = await StreamProducer.connect(registry, url, schema, { transport: { direction: 'write' } });
  for (let i = 0; i < 5; i++) await producer.send(batch(i));
  await producer.close();
  const s = await incoming.next();
  t.false(s.done);
  let i = 0;
  for await (const b of s.value!.reader) t.is(checkBatch(t, b), i++);
  t.is(i, 5);
  await listener.close();
  t.true((await incoming.next()).done);
  assertNoSegments(t, name);
});

shm('waitSubscribers: the writing listener hands its connection over once that many subscribers joined', async (t) => {
  const name = segmentName();
  const url = `shm://${name}`;
  const listener = await listenShm(url, { size: 1 << 16, waitSubscribers: 2 });
  t.teardown(() => listener.close());
  let handed = false;
  const next = listener[Symbol.asyncIterator]().next().then((r) => ((handed = true), r));
  const a = await connectShm(url);
  t.teardown(() => a.close());
  t.false(handed, 'one subscriber is not enough');
  const b = await connectShm(url);
  t.teardown(() => b.close());
  const r = await next;
  t.false(r.done);
  t.is(r.value, listener.connection);
  t.is(listener.connection.writer.subscribers().length, 2);
  await listener.connection.close();
  await listener.close();
  assertNoSegments(t, name);

  const other = segmentName();
  const waiting = await listenShm(`shm://${other}`, { size: 1 << 16, waitSubscribers: 1 });
  const pending = waiting[Symbol.asyncIterator]().next();
  await waiting.close();
  t.true((await pending).done, 'closing first ends the iterator');
  assertNoSegments(t, other);
  await t.throwsAsync(listenShm(`shm://${other}`, { waitSubscribers: -1 }), { code: ErrorCode.INVALID_ARGUMENT });
  assertNoSegments(t, other);
});
