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
import { Checks, isMain, runExample, type ExampleOptions, type Figure } from './example.js';

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

export async function workerHandoff(opts: ExampleOptions = {}): Promise<Figure[]> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const checks = new Checks(log);
  const transport = workerTransport();
  const workers: Worker[] = [];
  try {
    const pool = await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        const channel = transport.createChannel({ size: 1 << 22 });
        const worker = new Worker(new URL('./worker-handoff-worker.js', import.meta.url), { workerData: { sab: channel.sab, url: channel.url } });
        workers.push(worker);
        const messages: unknown[] = [];
        const waiters: Array<{ resolve: (m: unknown) => void; reject: (e: Error) => void }> = [];
        worker.on('message', (m) => (waiters.length ? waiters.shift()!.resolve(m) : messages.push(m)));
        // A worker that fails says so instead of leaving the example waiting.
        worker.on('error', (e) => waiters.splice(0).forEach((w) => w.reject(e)));
        const message = () => (messages.length ? Promise.resolve(messages.shift()) : new Promise<unknown>((resolve, reject) => waiters.push({ resolve, reject })));
        // A ring delivers to the readers present: wait until the worker has joined before writing.
        await message(); // { joined: true }
        const result = message() as Promise<Result>;
        // listen on a worker: URL is the writing end of that ring (see @quiver/transport-shm).
        const listener = await transport.listen(new URL(channel.url));
        const { value: conn } = await listener[Symbol.asyncIterator]().next();
        const producer = await StreamProducer.over(conn!, batch(0).schema);
        return { result, producer, listener };
      }),
    );

    const data = Array.from({ length: BATCHES }, (_, i) => batch(i));
    const t0 = performance.now();
    for (let i = 0; i < BATCHES; i++) await pool[i % WORKERS]!.producer.send(data[i]!); // round robin
    for (const p of pool) await p.producer.close();
    const results = await Promise.all(pool.map((p) => p.result));
    const ms = performance.now() - t0;
    for (const p of pool) await p.listener.close();

    const n = BATCHES * ROWS;
    const total = results.reduce((a, r) => a + r.sum, 0);
    results.forEach((r, i) => log(`worker ${i}: ${r.batches} batches, zero-copy ${r.zeroCopy}`));
    log(`${BATCHES} batches of ${ROWS} rows to ${WORKERS} workers in ${ms.toFixed(1)} ms`);
    checks.equal('sum over every worker', total, (n * (n - 1)) / 2);
    checks.that('every batch read in place (views of the SharedArrayBuffer)', results.every((r) => r.zeroCopy));
    checks.equal('batches received', results.reduce((a, r) => a + r.batches, 0), BATCHES);
    return [{ scenario: 'worker handoff', transport: 'worker:', what: `main thread to ${WORKERS} worker threads`, batches: BATCHES, bytes: n * 8, ms, checks: checks.take(), note: 'zero-copy reads' }];
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

if (isMain(import.meta.url)) await runExample('worker-handoff', workerHandoff);
