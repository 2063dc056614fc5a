// Shared pieces of the messaging tests: a registry with both socket transports, sample batches,
// and the plain-pyarrow peer (packages/testkit/python/peer.py) run as a real process.
import type { ExecutionContext } from 'ava';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import { TransportRegistry } from '@quiver/core';
import { python, repoRoot, tmpDir } from '@quiver/testkit';
import { socketTransports } from '../../src/index.js';
import { spawnChild, type Child } from './proc.js';

export const registry = (): TransportRegistry => new TransportRegistry(socketTransports());

/** A unique unix: URL in a per-test temp dir. */
export const unixUrlFor = (t: ExecutionContext, name = 'q.sock'): string => `unix://${join(tmpDir(t), name)}`;

/** Batch `i` of a sample stream: seq (int64), value (float64), label (dictionary utf8). */
export function sampleBatch(i: number, rows = 100, labels = ['a', 'b', 'c']): A.RecordBatch {
  const seq = BigInt64Array.from({ length: rows }, (_, r) => BigInt(i * rows + r));
  const value = Float64Array.from({ length: rows }, (_, r) => i + r / 10);
  const dict = A.vectorFromArray(labels, new A.Utf8());
  const idx = Int32Array.from({ length: rows }, (_, r) => (i + r) % labels.length);
  const label = A.makeData({ type: new A.Dictionary(new A.Utf8(), new A.Int32(), 0), length: rows, nullCount: 0, data: idx, dictionary: dict });
  return new A.RecordBatch({
    seq: A.makeData({ type: new A.Int64(), data: seq }),
    value: A.makeData({ type: new A.Float64(), data: value }),
    label,
  });
}

export const sampleSchema = (): A.Schema => sampleBatch(0).schema;

/** The plain pyarrow peer: `produce URL ...` or `consume URL ...`. */
export function pyPeer(t: ExecutionContext, args: string[]): Child {
  return spawnChild(t, python(), [join(repoRoot(), 'packages/testkit/python/peer.py'), ...args]);
}

/** The seq column of batches, as numbers. */
export const seqs = (batches: A.RecordBatch[]): number[] =>
  batches.flatMap((b) => Array.from(b.getChild('seq')!.toArray() as BigInt64Array, Number));
