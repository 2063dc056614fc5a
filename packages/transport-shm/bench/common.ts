/**
 * Shared by the shm bench's coordinator (shm.ts), its process peers (peer.ts) and its worker
 * thread (worker.ts): the commands, the bench data, and what a consumer does with each batch.
 */
import type * as A from 'apache-arrow';
import { RecordBatchEncoder } from '@quiver/core';
import { makeTable } from '@quiver/core/bench/data';
import { touch, toucher, type TouchMode } from '@quiver/core/bench/data';

/** What a consumer does with each batch (shared with the other benchmarks). */
export { touch, toucher, type TouchMode };

export interface Consumed {
  batches: number;
  rows: number;
  /** ns from the end of the warm-up to the last batch, and the batches timed in it. */
  ns: number;
  timedBatches: number;
  checksum: number;
}

export interface Data {
  batch: A.RecordBatch;
  /** The framed record batch message, as Quiver encodes it. */
  message: Uint8Array;
  /** Bytes of the message before its body (continuation, length, flatbuffer, padding). */
  headerBytes: number;
}

const cache = new Map<string, Data>();

function encoded(batch: A.RecordBatch): Data {
  const enc = new RecordBatchEncoder(batch.schema);
  enc.start();
  const msgs = enc.write(batch);
  const message = new Uint8Array(Buffer.concat(msgs.flatMap((m) => m.buffers)));
  return { batch, message, headerBytes: message.byteLength - msgs[0]!.bodyLength };
}

/** The bench batch of `rows` rows (an int64, a float64 and a nullable string column), encoded. */
export function data(rows: number): Data {
  const key = `all ${rows}`;
  let d = cache.get(key);
  if (!d) cache.set(key, (d = encoded(makeTable(rows).batches[0]!)));
  return d;
}

/**
 * `batch` as a whole IPC stream (schema, batch, end of stream) in a fresh ArrayBuffer: encoded
 * now, then copied once into the buffer, as a user handing a batch to postMessage would have to
 * (the ring's publish likewise encodes, then copies once into the slot).
 */
export function streamOf(batch: A.RecordBatch): ArrayBuffer {
  const enc = new RecordBatchEncoder(batch.schema);
  const parts = [...enc.start(), ...enc.write(batch), ...enc.finish()].flatMap((m) => m.buffers);
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out.buffer;
}

/**
 * What the loan cells publish: the bench batch's fixed-width columns only. A loaned slot's body
 * is not written (it stands for data the application builds in place), so it holds whatever
 * earlier laps of the ring left there; any bytes are valid values of a fixed-width column
 * without nulls, whereas a string column's offsets would not be.
 */
export function loanData(rows: number): Data {
  const key = `loan ${rows}`;
  let d = cache.get(key);
  if (!d) cache.set(key, (d = encoded(data(rows).batch.select(['i64', 'f64']))));
  return d;
}

export const now = (): number => Number(process.hrtime.bigint());

/** Times a stream of batches: the clock starts after batch `warm`. */
export async function timeBatches(next: () => Promise<A.RecordBatch | null>, warm: number, mode: TouchMode): Promise<Consumed> {
  const touchBatch = toucher(mode);
  let n = 0;
  let rows = 0;
  let checksum = 0;
  let t0 = now();
  for (let b = await next(); b !== null; b = await next()) {
    checksum += touchBatch(b);
    rows += b.numRows;
    if (++n === warm) t0 = now();
  }
  return { batches: n, rows, ns: now() - t0, timedBatches: n - warm, checksum };
}

/** The ring size for batches of `bytes`: room for `slots` of them (at least 4), at least 8 MiB, at most 1 GiB. */
export function ringSize(bytes: number, slots = 4): number {
  let s = 8 << 20;
  while (s < bytes * slots && s < 1 << 30) s *= 2;
  return s;
}

export type Command =
  | { op: 'load'; id: number; rows: number }
  | { op: 'shmPub'; id: number; name: string; rows: number; total: number; loan: boolean }
  | { op: 'shmSub'; id: number; name: string; warm: number; touch: TouchMode }
  | { op: 'sockSub'; id: number; path: string; warm: number; touch: TouchMode }
  | { op: 'sockPub'; id: number; url: string; rows: number; total: number }
  | { op: 'shmEcho'; id: number; inName: string; outName: string }
  | { op: 'shmPing'; id: number; inName: string; outName: string; warm: number; n: number }
  | { op: 'sockEcho'; id: number; path: string }
  | { op: 'sockPing'; id: number; url: string; warm: number; n: number }
  | { op: 'exit'; id: number };

export type Reply = { id: number; ready: string } | { id: number; done: unknown } | { id: number; error: string };
