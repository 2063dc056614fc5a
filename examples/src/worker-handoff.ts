/**
 * Worker-to-worker handoff: the main thread produces batches and hands them to a pool of worker
 * threads through `worker:` rings (SharedArrayBuffers). Each worker reads its batches in place:
 * the column buffers it sums are views of the shared ring, never copies. Checks the workers'
 * totals against what was sent, and that every batch arrived zero-copy.
 *
 *   node examples/dist/src/worker-handoff.js
 */
import { Worker } from 'node:worker_threads';
import * as A from 'apache-arrow';
import { StreamProducer } from '@quiver/core';
import { workerTransport } from '@quiver/transport-shm';

const WORKERS = 3;
const BATCHES = 60;
const ROWS = 10_000;

interface Result {
  batches: number;
  sum: number;
  zeroCopy: boolean;
}

function batch(i: number): A.RecordBatch {
  return new A.RecordBatch({ v: A.makeData({ type: new A.Float64(), data: Float64Array.from({ length: ROWS }, (_, r) => i * ROWS + r) }) });
}

const transport = workerTransport();
const pool = await Promise.all(
  Array.from({ length: WORKERS }, async () => {
    const channel = transport.createChannel({ size: 1 << 22 });
    const worker = new Worker(new URL('./worker-handoff-worker.js', import.meta.url), { workerData: { sab: channel.sab, url: channel.url } });
    const messages: unknown[] = [];
    const waiters: Array<(m: unknown) => void> = [];
    worker.on('message', (m) => (waiters.length ? waiters.shift()!(m) : messages.push(m)));
    const message = () => (messages.length ? Promise.resolve(messages.shift()) : new Promise<unknown>((r) => waiters.push(r)));
    // A ring delivers to the readers present: wait until the worker has joined before writing.
    await message(); // { joined: true }
    const result = message() as Promise<Result>;
    // listen on a worker: URL is the writing end of that ring (see @quiver/transport-shm).
    const listener = await transport.listen(new URL(channel.url));
    const { value: conn } = await listener[Symbol.asyncIterator]().next();
    const producer = await StreamProducer.over(conn!, batch(0).schema);
    return { worker, result, producer, listener };
  }),
);

const t0 = performance.now();
for (let i = 0; i < BATCHES; i++) await pool[i % WORKERS]!.producer.send(batch(i)); // round robin
for (const p of pool) await p.producer.close();
const results = await Promise.all(pool.map((p) => p.result));
const ms = performance.now() - t0;
for (const p of pool) {
  await p.listener.close();
  await p.worker.terminate();
}

const n = BATCHES * ROWS;
const total = results.reduce((a, r) => a + r.sum, 0);
console.log(results.map((r, i) => `worker ${i}: ${r.batches} batches, zero-copy ${r.zeroCopy}`).join('\n'));
console.log(`${BATCHES} batches of ${ROWS} rows to ${WORKERS} workers in ${ms.toFixed(1)} ms`);
if (total !== (n * (n - 1)) / 2) throw new Error(`sum ${total}, expected ${(n * (n - 1)) / 2}`);
if (results.some((r) => !r.zeroCopy)) throw new Error('a worker received a copy');
if (results.reduce((a, r) => a + r.batches, 0) !== BATCHES) throw new Error('batches were lost');
console.log('OK worker-handoff');
