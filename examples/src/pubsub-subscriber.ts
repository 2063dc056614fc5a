/**
 * One Node subscriber process of pubsub.ts, started with `fork()`: subscribes to one topic (with
 * core's `subscribe()` on a socket, or `ShmSubscriber` on a shm:// ring), reads until the
 * publisher ends the stream, and reports what it got on the IPC channel: batch numbers (from the
 * `seq` column), rows, bytes and the sum of the topic's checked column.
 *
 * The slow one (`slow: true`) may read one batch per `tick` message from the publisher, which
 * sends one every few batches it publishes: slower than the publisher by a fixed factor on any
 * machine. It asks for `drop-oldest`, so the publisher drops its oldest unread batches instead of
 * waiting for it.
 *
 * Messages: to the parent `{ type: 'joined' }` (shm: in the ring), `{ type: 'first' }` (slow: its
 * first batch, so the schema, is read), `{ type: 'result', ... }`; from the parent 'tick',
 * 'finish' (stop pacing: the publisher is done), 'exit' (leave the ring and exit).
 */
import * as A from 'apache-arrow';
import { subscribe, TransportRegistry } from '@quiver/core';
import { socketTransports } from '@quiver/transport-socket';
import { ShmSubscriber } from '@quiver/transport-shm';
import { batchBytes } from './data.js';

export interface SubscriberSpec {
  /** unix:///path (core's pub/sub protocol) or shm://name (one ring per topic). */
  url: string;
  topic: string;
  rows: number;
  sumColumn: string;
  slow: boolean;
  /** The slow subscriber's queue at a socket publisher, in messages. */
  queueLength: number;
}

export interface SubscriberResult {
  type: 'result';
  pid: number;
  topic: string;
  policy: 'block' | 'drop-oldest';
  /** Numbers of the batches received, in order of arrival. */
  indices: number[];
  rows: number;
  bytes: number;
  sum: number;
  /** Whether every batch's `seq` ran `i * rows .. i * rows + rows - 1`. */
  intact: boolean;
  /** Records this subscriber lost, in its own count (shm only; a socket subscriber cannot know). */
  drops?: number;
}

/** A source of batches over either transport. `release` lets go of the current batch's memory. */
interface Source {
  next(): Promise<A.RecordBatch | null>;
  release(): void;
  drops(): number | undefined;
  close(): Promise<void>;
}

async function open(spec: SubscriberSpec): Promise<Source> {
  const policy = spec.slow ? 'drop-oldest' : 'block';
  if (spec.url.startsWith('shm:')) {
    const sub = await ShmSubscriber.open(spec.url, { policy });
    return {
      next: () => sub.next(),
      // Holding a record pins the ring whatever the policy: let go of it before dawdling.
      release: () => sub.hold().release(),
      drops: () => sub.drops,
      close: async () => sub.close(),
    };
  }
  const registry = new TransportRegistry(socketTransports());
  const subscription = subscribe(registry, spec.url, { topic: spec.topic, policy, ...(spec.slow ? { queueLength: spec.queueLength } : {}) });
  const it = subscription[Symbol.asyncIterator]();
  return {
    next: async () => {
      const r = await it.next();
      return r.done ? null : r.value;
    },
    release: () => {},
    drops: () => undefined,
    close: () => subscription.close(),
  };
}

const spec = JSON.parse(process.argv[2]!) as SubscriberSpec;
const send = (m: object) => process.send!(m);

// Orders from the publisher's process.
let ticks = 0;
let finished = false;
let wake: (() => void) | null = null;
let exit: (() => void) | null = null;
const exitOrder = new Promise<void>((r) => (exit = r));
process.on('message', (m) => {
  if (m === 'tick') ticks++;
  else if (m === 'finish') finished = true;
  else if (m === 'exit') exit!();
  wake?.();
});
const nextTick = async (): Promise<void> => {
  while (ticks === 0 && !finished) await new Promise<void>((r) => (wake = r));
  if (ticks > 0) ticks--;
};

const source = await open(spec);
send({ type: 'joined' });
const result: SubscriberResult = {
  type: 'result',
  pid: process.pid,
  topic: spec.topic,
  policy: spec.slow ? 'drop-oldest' : 'block',
  indices: [],
  rows: 0,
  bytes: 0,
  sum: 0,
  intact: true,
};
for (let batch = await source.next(); batch; batch = await source.next()) {
  const seq = batch.getChild('seq')!.data[0]!.values as BigInt64Array;
  const first = Number(seq[0]);
  const index = first / spec.rows;
  result.intact &&= Number.isInteger(index) && seq.length === spec.rows && seq.every((s, r) => Number(s) === first + r);
  const values = batch.getChild(spec.sumColumn)!.data[0]!.values as Float64Array | Int32Array;
  for (let r = 0; r < values.length; r++) result.sum += values[r]!;
  result.indices.push(index);
  result.rows += batch.numRows;
  result.bytes += batchBytes(batch);
  if (spec.slow) {
    source.release();
    if (result.indices.length === 1) send({ type: 'first' });
    await nextTick();
  }
}
const drops = source.drops();
if (drops !== undefined) result.drops = drops;
send(result);
// Stay in the ring until told: a shm publisher reads its subscribers' counters from their slots.
await exitOrder;
await source.close();
process.disconnect();
