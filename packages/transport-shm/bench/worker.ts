/**
 * The shm bench's worker thread (started by shm.ts): the consuming side of the worker: ring and
 * of the postMessage baseline. One command at a time over the parent port.
 */
import { parentPort } from 'node:worker_threads';
import { readStreamTable } from '@quiver/core';
import type * as A from 'apache-arrow';
import { ShmSubscriber } from '../src/index.js';
import { now, timeBatches, toucher, type Consumed, type TouchMode } from './common.js';

export type WorkerCommand = { op: 'ring'; sab: SharedArrayBuffer; warm: number; touch: TouchMode } | { op: 'pm'; warm: number; total: number; touch: TouchMode };
export type WorkerReply = { done: Consumed } | { error: string } | 'ack';

const port = parentPort!;
let pm: { warm: number; total: number; n: number; rows: number; checksum: number; t0: number; touch: (b: A.RecordBatch) => number } | null = null;

port.on('message', (msg: WorkerCommand | ArrayBuffer) => {
  if (msg instanceof ArrayBuffer) {
    void onBytes(msg);
    return;
  }
  if (msg.op === 'ring') {
    ShmSubscriber.overChannel(msg.sab)
      .then(async (sub) => {
        try {
          return await timeBatches(() => sub.next(), msg.warm, msg.touch);
        } finally {
          sub.close();
        }
      })
      .then(
        (done) => port.postMessage({ done } satisfies WorkerReply),
        (e: unknown) => port.postMessage({ error: String((e as Error).stack ?? e) } satisfies WorkerReply),
      );
  } else {
    pm = { warm: msg.warm, total: msg.total, n: 0, rows: 0, checksum: 0, t0: now(), touch: toucher(msg.touch) };
  }
});

/** postMessage baseline: each message is a whole IPC stream of one batch, decoded by core. */
let chain = Promise.resolve();
function onBytes(buf: ArrayBuffer): Promise<void> {
  chain = chain.then(async () => {
    const s = pm!;
    const table = await readStreamTable(new Uint8Array(buf));
    for (const b of table.batches) {
      s.checksum += s.touch(b);
      s.rows += b.numRows;
    }
    port.postMessage('ack' satisfies WorkerReply);
    if (++s.n === s.warm) s.t0 = now();
    if (s.n === s.total) {
      pm = null;
      port.postMessage({ done: { batches: s.n, rows: s.rows, ns: now() - s.t0, timedBatches: s.n - s.warm, checksum: s.checksum } } satisfies WorkerReply);
    }
  });
  return chain;
}
