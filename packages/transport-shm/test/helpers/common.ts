// Shared by the tests: unique segment names (checked for leftovers), rings over plain
// SharedArrayBuffers, test data, and event-loop-turn (not clock) helpers.
import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type * as A from 'apache-arrow';
import { RecordBatchEncoder, type EncodedMessage } from '@quiver/core';
import {
  atomicsWaiter, formatRing, metaOfEncoded, randomId, ringSizes, RingReader, RingWriter, selfIdentity,
  type Policy, type Ring, type RingRecord, type RingReaderOptions,
} from '../../src/index.js';

import { batch, batchNumber } from './data.js';

export { settlesWithin, turns } from '@quiver/transport-socket/conformance';
export { batch, dictType, schema, batchNumber } from './data.js';

let counter = 0;

/** A segment name unique to this process and call: `qshm-<pid>-<n>`. */
export function segmentName(): string {
  return `qshm-${process.pid}-${++counter}`;
}

/** Names in /dev/shm starting with `prefix`. */
export function segmentsLike(prefix: string): string[] {
  return readdirSync('/dev/shm').filter((n) => n === prefix || n.startsWith(`${prefix}.`) || n.startsWith(`${prefix}-`));
}

/** Asserts that no segment of this test is left in /dev/shm. */
export function assertNoSegments(t: ExecutionContext, name: string): void {
  t.deepEqual(segmentsLike(name), [], `segments left in /dev/shm for ${name}`);
}

/** A fresh ring in a plain SharedArrayBuffer (the worker: flavour), with its writer. */
export function memoryRing(opts: { capacity?: number; maxSubscribers?: number; preamble?: number; policy?: Policy; maxSyncRecords?: number } = {}): {
  ring: Ring;
  writer: RingWriter;
  join(o?: Partial<RingReaderOptions>): Promise<RingReader>;
} {
  const sizes = ringSizes({ capacity: opts.capacity ?? 4096, maxSubscribers: opts.maxSubscribers ?? 8, preambleCapacity: opts.preamble ?? 4096 });
  const sab = new SharedArrayBuffer(sizes.segmentBytes);
  const ring = formatRing(sab, sizes, selfIdentity(), opts.policy ?? 'block', randomId());
  const waiter = atomicsWaiter(sab);
  const writer = new RingWriter(ring, { waiter, ...(opts.maxSyncRecords ? { maxSyncRecords: opts.maxSyncRecords } : {}) });
  return { ring, writer, join: (o = {}) => RingReader.join(ring, { waiter, identity: selfIdentity(), ...o }) };
}

/** A payload whose bytes say which record it is: [i as u32][i & 255 repeated]. */
export function payload(i: number, size: number): Uint8Array {
  const b = new Uint8Array(size).fill(i & 255);
  if (size >= 4) new DataView(b.buffer).setUint32(0, i, true);
  return b;
}

export function payloadIndex(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);
}

/** Reads records until the ring ends (releasing each as the next is claimed). */
export async function drainRecords(reader: RingReader): Promise<RingRecord[]> {
  const out: RingRecord[] = [];
  let prev: RingRecord | null = null;
  for (let r = await reader.next(undefined, prev); r; r = await reader.next(undefined, prev)) {
    out.push(r);
    prev = r;
  }
  return out;
}

/** Checks a decoded batch against {@link batch}; returns its number (-1, and a failure, if wrong). */
export function checkBatch(t: ExecutionContext, b: A.RecordBatch, rows = 10): number {
  const i = batchNumber(b, rows);
  if (i < 0) t.fail(`a batch that is not one of ours: x[0] = ${String(b.getChild('x')?.get(0))}, s[0] = ${String(b.getChild('s')?.get(0))}`);
  return i;
}

/** The encoded messages of batches `from` to `to` - 1 (the schema first when `from` is 0). */
export function encodeBatches(encoder: RecordBatchEncoder, from: number, to: number, rows = 10): EncodedMessage[] {
  const out: EncodedMessage[] = [];
  for (let i = from; i < to; i++) out.push(...encoder.write(batch(i, rows)));
  return out;
}

/** Writes encoded messages into a ring, one record each. */
export async function writeMessages(writer: RingWriter, messages: EncodedMessage[]): Promise<void> {
  for (const m of messages) await writer.write(metaOfEncoded(m), m.buffers);
}

// ------------------------------------------------------------------------------------------------
// Child processes
// ------------------------------------------------------------------------------------------------

export interface Child {
  proc: ChildProcess;
  /** The next line the child prints (undefined once its stdout ended). */
  line(): Promise<string | undefined>;
  /** Resolves with the exit code, or the signal's name. */
  exited: Promise<number | string>;
}

/** The compiled child script (test/helpers/child.ts). */
export const childScript = fileURLToPath(new URL('./child.js', import.meta.url));

/** Runs `child.js <role> <url> [n]`, killed at teardown if still alive. */
export function spawnChild(t: ExecutionContext, role: string, url: string, n?: number, env: NodeJS.ProcessEnv = process.env): Child {
  const args = [childScript, role, url, ...(n === undefined ? [] : [String(n)])];
  const proc = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'], env });
  const exited = once(proc, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  t.teardown(() => void (proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL')));
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  return { proc, exited, line: async () => (await lines.next()).value as string | undefined };
}

/** Kills a child with SIGKILL and waits until it is gone (reaped). */
export async function kill(child: Child): Promise<void> {
  child.proc.kill('SIGKILL');
  await child.exited;
}
