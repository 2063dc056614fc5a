// The worker: transport between threads of this process: batches handed over in a
// SharedArrayBuffer, read in place by the receiving thread, waits by Atomics.waitAsync.
import test from 'ava';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { ErrorCode, StreamProducer, StreamReader, TransportRegistry } from '@quiver/core';
import { createWorkerChannel, ShmPublisher, ShmSubscriber, workerTransport } from '../src/index.js';
import { batch, checkBatch, schema } from './helpers/common.js';

const workerScript = new URL('./helpers/worker.js', import.meta.url);

/** Starts a worker; `message()` resolves its messages in order (none is lost between calls). */
function start(workerData: Record<string, unknown>): { worker: Worker; message(): Promise<unknown> } {
  const worker = new Worker(workerScript, { workerData });
  const queue: unknown[] = [];
  const waiting: Array<(m: unknown) => void> = [];
  worker.on('message', (m: unknown) => (waiting.length ? waiting.shift()!(m) : queue.push(m)));
  return {
    worker,
    message: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve))),
  };
}

test('main thread publishes, a worker subscribes: every batch arrives, as views of the SharedArrayBuffer', async (t) => {
  const transport = workerTransport();
  const registry = new TransportRegistry([transport]);
  const channel = transport.createChannel({ size: 1 << 14 });
  t.regex(channel.url, /^worker:\/\/[0-9a-f]{32}$/);
  const { worker, message } = start({ sab: channel.sab, url: channel.url, role: 'subscribe' });
  const exited = once(worker, 'exit');
  t.deepEqual(await message(), { joined: true });
  const listener = await registry.listen(channel.url);
  const writer = (await listener[Symbol.asyncIterator]().next()).value!;
  const producer = await StreamProducer.over(writer, schema);
  for (let i = 0; i < 500; i++) await producer.send(batch(i));
  await producer.close();
  await listener.close();
  t.deepEqual(await message(), { batches: 500, bad: 0, zeroCopy: 500, end: 'eos' });
  t.deepEqual(await exited, [0]);
});

test('a worker publishes, the main thread subscribes (Atomics.waitAsync, never blocking)', async (t) => {
  const transport = workerTransport();
  const channel = transport.createChannel({ size: 1 << 13 });
  const conn = await transport.connect(new URL(channel.url));
  const { worker } = start({ sab: channel.sab, url: channel.url, role: 'publish', n: 300 });
  const exited = once(worker, 'exit');
  // The event loop stays free while waiting: a timer keeps ticking.
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const reader = await StreamReader.open(conn);
  let i = 0;
  for await (const b of reader) {
    t.is(checkBatch(t, b), i++);
    t.is((b.getChild('x')!.data[0]!.values as Int32Array).buffer, channel.sab as ArrayBufferLike);
  }
  clearInterval(timer);
  t.is(i, 300);
  t.deepEqual(await exited, [0]);
  t.log(`${ticks} timer ticks while reading`);
  await conn.close();
});

test('worker channels: one publisher each; unknown channels; the batch-level API over a channel', async (t) => {
  const transport = workerTransport();
  const channel = createWorkerChannel({ size: 4096 });
  await t.throwsAsync(transport.connect(new URL(channel.url)), { code: ErrorCode.CONNECTION_FAILED }, 'not attached here');
  await t.throwsAsync(transport.connect(new URL('worker://nope')), { code: ErrorCode.INVALID_ARGUMENT });
  transport.attach(channel.sab);
  const pub = await ShmPublisher.overChannel(channel);
  await t.throwsAsync(transport.listen(new URL(channel.url)), { code: ErrorCode.ADDRESS_IN_USE });
  const sub = await ShmSubscriber.overChannel(channel.sab);
  await pub.publish(batch(3));
  const b = await sub.next();
  t.is(checkBatch(t, b!), 3);
  await pub.close();
  t.is(await sub.next(), null);
  sub.close();
});
