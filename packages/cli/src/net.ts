/**
 * What the network verbs (send, recv, pub, sub) share: how a run ends, the stop signal, the
 * "listening on" and warning lines, and {@link BatchOutput}, where recv and sub put what arrives.
 */
import { unlink } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import * as A from 'apache-arrow';
import { ErrorCode, fileSink, RecordBatchEncoder, type ByteSink } from '@quiver/core';
import { errorLine } from './errors.js';
import type { TextOutput } from './output.js';
import type { ProgressBar } from './progress.js';

/**
 * How a verb ended without failing. `complete`: it did its job, or it is one that runs until
 * stopped and was stopped. `interrupted`: a signal cut a finite job short (the CLI then exits
 * 128 + the signal's number, as a shell reports an interrupted command).
 */
export type Completion = 'complete' | 'interrupted';

/** Resolves when `signal` aborts (never without one). */
export function whenAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!signal) return;
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Whether `e` is the ERR_QUIVER_ABORTED a signal caused. */
export function abortedBy(e: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && (e as { code?: unknown } | null)?.code === ErrorCode.ABORTED;
}

/** The line a listener prints once bound (scripts wait for it; port 0 shows the real port). */
export function announceListening(stderr: Writable, url: string): void {
  stderr.write(`quiver: listening on ${url}\n`);
}

/** A failure that does not end the verb (a producer dropped), in the shape of the fatal line. */
export function warn(stderr: Writable, e: unknown, context: string): void {
  const line = errorLine(e);
  const at = line.indexOf(': ');
  stderr.write(`quiver: ${line.slice(0, at)}: ${context}: ${line.slice(at + 2)}\n`);
}

/** The same fields (names and types, as the encoder checks them; metadata may differ). */
function sameFields(a: A.Schema, b: A.Schema): boolean {
  return a.fields.length === b.fields.length && a.fields.every((f, i) => f.name === b.fields[i]!.name && A.util.compareTypes(f.type, b.fields[i]!.type));
}

export interface BatchOutputOptions {
  /** Write batches as one Arrow stream to this file. @default summary lines on `stdout` */
  path?: string;
  /** Used without `path`: one NDJSON line per batch. */
  stdout: TextOutput;
  /** Stop taking batches after this many. @default no limit */
  limit?: number;
  /** Drawn while writing `path` (only when stderr is a terminal). */
  progress?: ProgressBar;
}

/**
 * Where arriving batches go: an Arrow stream file (`--out`), or a summary line each on stdout.
 * Writes are serialized (several producers may write at once) and, with a limit, stop at exactly
 * that many batches. The file holds one stream with the schema of the first stream to arrive;
 * {@link accepts} tells callers whether a later stream fits.
 */
export class BatchOutput {
  /** Batches written. */
  count = 0;
  rows = 0;
  private encoder: RecordBatchEncoder | null = null;
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  private onDone!: () => void;
  /**
   * Resolves once no more batches are wanted: `limit` of them were written, or the reader of
   * stdout went away (`quiver sub URL | head`), which ends the run quietly as it ends cat.
   */
  readonly done: Promise<void> = new Promise((r) => (this.onDone = r));

  private constructor(
    private readonly opts: BatchOutputOptions,
    private readonly sink: ByteSink | null,
  ) {}

  /** Creates `--out` now (failing before anything listens or connects), or writes to stdout. */
  static async open(opts: BatchOutputOptions): Promise<BatchOutput> {
    return new BatchOutput(opts, opts.path === undefined ? null : await fileSink(opts.path));
  }

  get limitReached(): boolean {
    return this.opts.limit !== undefined && this.count >= this.opts.limit;
  }

  /** Whether batches are still wanted (see {@link done}). */
  get wantsMore(): boolean {
    return !this.closed && !this.limitReached && !(this.sink === null && this.opts.stdout.closed);
  }

  /**
   * Whether a stream of `schema` may write here: into a file, only streams with the fields of the
   * first one (which sets the file's schema); summary lines take any stream.
   */
  accepts(schema: A.Schema): boolean {
    if (!this.sink) return true;
    if (this.encoder === null) {
      this.encoder = new RecordBatchEncoder(schema, 'stream');
      return true;
    }
    return sameFields(this.encoder.schema, schema);
  }

  /**
   * Writes one batch (its stream's schema must have been accepted). Resolves false, writing
   * nothing, once no more are wanted (see {@link done}).
   */
  write(batch: A.RecordBatch, summary: Record<string, unknown>): Promise<boolean> {
    const run = this.tail.then(async () => {
      if (!this.wantsMore) return false;
      const index = this.count++;
      this.rows += batch.numRows;
      if (this.sink) {
        await this.sink.write(this.encoder!.write(batch).flatMap((m) => m.buffers));
        this.opts.progress?.update(this.encoder!.ipc.byteLength);
      } else {
        await this.opts.stdout.write(`${JSON.stringify({ ...summary, batch: index, rows: batch.numRows })}\n`);
      }
      if (!this.wantsMore) this.onDone();
      return true;
    });
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Ends the stream (end-of-stream marker) and closes the file, after the writes in flight. A file
   * that never got a stream (no producer came) is removed rather than left empty.
   */
  async close(): Promise<void> {
    await this.tail;
    if (this.closed) return;
    this.closed = true;
    if (!this.sink) return;
    this.opts.progress?.finish(`received ${this.count} batches, ${this.rows} rows → ${this.opts.path}`);
    try {
      if (this.encoder) await this.sink.write(this.encoder.finish().flatMap((m) => m.buffers));
    } finally {
      await this.sink.close();
    }
    if (!this.encoder) await unlink(this.opts.path!).catch(() => {});
  }
}

/** What `recv` and `sub` share: where batches go (`--out` or summary lines), `--count`, a bar. */
export interface OutputArgs {
  stdout: TextOutput;
  out?: string;
  count?: number;
  progress?: () => ProgressBar;
}

/** Opens the output of a receiving verb: the file with a progress bar, or summary lines. */
export function openBatchOutput(a: OutputArgs): Promise<BatchOutput> {
  const bar = a.out !== undefined ? a.progress?.() : undefined;
  return BatchOutput.open({
    stdout: a.stdout,
    ...(a.out !== undefined ? { path: a.out } : {}),
    ...(a.count !== undefined ? { limit: a.count } : {}),
    ...(bar ? { progress: bar } : {}),
  });
}
