// Shared helpers of the CLI tests: run the real binary, and make input files with core.
// Not a test file: ava only runs *.test.js.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import { repoRoot } from '@quiver/testkit';
import { toRows, writeFeather, writeIpcFile, type CompressionCodec } from '@quiver/core';

/** Absolute path of bin/quiver.js, found from the repository root. */
export const BIN = join(repoRoot(), 'packages', 'cli', 'bin', 'quiver.js');

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

// At most two children at once: the machine's two cores are shared with other work.
let running = 0;
const waiting: Array<() => void> = [];
async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= 2) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Collects a child's output and its exit. */
export function collect(child: ChildProcess): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs `node bin/quiver.js ...args` as a real process (stdin closed, stdout and stderr pipes). */
export function quiver(...args: string[]): Promise<Ran> {
  return slot(() => collect(spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })));
}

export const BATCH_ROWS = 20;
export const BATCHES = 5;
export const ROWS = BATCH_ROWS * BATCHES;

/** Expected `inspect --json` schema of {@link sampleTable}. */
export const SAMPLE_SCHEMA = [
  { name: 'id', type: 'int64', nullable: false },
  { name: 'x', type: 'float64', nullable: true },
  { name: 's', type: 'string', nullable: true },
  { name: 'b', type: 'binary', nullable: true },
  { name: 'l', type: 'list<item: int32>', nullable: true },
  { name: 'st', type: 'struct<a: int32, c: string>', nullable: true },
  { name: 'd', type: 'dictionary<values=string, indices=int32>', nullable: true },
];

/**
 * A hundred rows covering scalars, binary, nesting, dictionaries and nulls, as one batch: files
 * are written in batches of {@link BATCH_ROWS} by {@link writeSample}, all sharing one dictionary.
 */
export function sampleTable(): A.Table {
  const n = Array.from({ length: ROWS }, (_, i) => i);
  const maybe = <T>(i: number, v: T) => (i % 7 === 3 ? null : v);
  const columns = {
    id: A.vectorFromArray(n.map((i) => BigInt(i) * 1_000_000_007n), new A.Int64()),
    x: A.vectorFromArray(n.map((i) => maybe(i, i / 4)), new A.Float64()),
    s: A.vectorFromArray(n.map((i) => maybe(i, i % 10 === 0 ? `say "hi", ${i}` : `row ${i}`)), new A.Utf8()),
    b: A.vectorFromArray(n.map((i) => maybe(i, Uint8Array.of(i & 255, 0xab, 0))), new A.Binary()),
    l: A.vectorFromArray(n.map((i) => maybe(i, [i, i + 1])), new A.List(new A.Field('item', new A.Int32(), true))),
    st: A.vectorFromArray(
      n.map((i) => maybe(i, { a: i, c: `c${i}` })),
      new A.Struct([new A.Field('a', new A.Int32(), true), new A.Field('c', new A.Utf8(), true)]),
    ),
    d: A.vectorFromArray(n.map((i) => maybe(i, ['red', 'green', 'blue'][i % 3]!)), new A.Dictionary(new A.Utf8(), new A.Int32(), 0)),
  };
  const t = new A.Table(columns);
  // The first column is declared non-nullable so `nullable` is checked both ways.
  const schema = new A.Schema(t.schema.fields.map((f, i) => (i === 0 ? new A.Field(f.name, f.type, false) : f)));
  return new A.Table(schema, t.batches.map((rb) => new A.RecordBatch(schema, rb.data)));
}

/** Rows of a table as cat prints them in NDJSON: 64-bit integers as strings, binary as hex. */
export function expectedRows(table: A.Table): unknown[] {
  return JSON.parse(
    JSON.stringify(toRows(table, { int64: 'string' }), (_k, v) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('hex') : typeof v === 'bigint' ? String(v) : v,
    ),
  ) as unknown[];
}

export type Form = 'stream' | 'file' | 'feather';
export type Compression = 'none' | CompressionCodec;

/** Writes `table` at `path` with core, as `form` with `compression`, in batches of {@link BATCH_ROWS} rows. */
export async function writeSample(path: string, table: A.Table, form: Form, compression: Compression): Promise<void> {
  if (form === 'feather') {
    await writeFeather(table, path, { compression: compression === 'none' ? 'uncompressed' : compression, chunkSize: BATCH_ROWS });
  } else {
    await writeIpcFile(path, table, form, { compression: compression === 'none' ? null : compression, maxBatchRows: BATCH_ROWS });
  }
}

/** The one stderr line of a failed run, split into its error code and message; fails the shape otherwise. */
export function errorOf(r: Ran): { code: string; message: string } | null {
  const m = /^quiver: (ERR_QUIVER_[A-Z_]+): (.+)\n$/.exec(r.stderr);
  return m ? { code: m[1]!, message: m[2]! } : null;
}
