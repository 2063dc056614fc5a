/**
 * Writing streams and files to a {@link ByteSink}, from tables, batches or async iterables of
 * batches. Each batch is encoded and written before the next is taken, so memory stays bounded
 * by one batch whatever the source.
 */
import * as A from 'apache-arrow';
import { RecordBatchEncoder, type EncoderOptions, type IpcForm } from './encoder.js';
import type { EncodedMessage } from './framing.js';
import { fileSink, MemorySink, type ByteSink } from '../io/sinks.js';

/** What the writers take: a table, a batch, or an (async) iterable of batches. */
export type BatchSource = A.Table | A.RecordBatch | Iterable<A.RecordBatch> | AsyncIterable<A.RecordBatch>;

/** Options of the writers: encoding, and splitting long batches. */
export interface WriteOptions extends EncoderOptions {
  /** Split batches longer than this many rows (zero-copy slices). @default no splitting */
  maxBatchRows?: number;
}

async function* batchesOf(source: BatchSource): AsyncGenerator<A.RecordBatch> {
  if (source instanceof A.Table) yield* source.batches;
  else if (source instanceof A.RecordBatch) yield source;
  else yield* source as AsyncIterable<A.RecordBatch>;
}

function* split(b: A.RecordBatch, max: number | undefined): Generator<A.RecordBatch> {
  if (!max || b.numRows <= max) return yield b;
  for (let at = 0; at < b.numRows; at += max) yield b.slice(at, Math.min(at + max, b.numRows));
}

const flat = (ms: EncodedMessage[]): Uint8Array[] => ms.flatMap((m) => m.buffers);

/**
 * Writes `source` as an IPC stream or file to `sink`, then closes the sink. Needs the schema up
 * front for an iterable source that may be empty. Returns the number of bytes written.
 */
export async function writeIpc(sink: ByteSink, source: BatchSource, form: IpcForm, opts: WriteOptions & { schema?: A.Schema } = {}): Promise<number> {
  let encoder: RecordBatchEncoder | undefined;
  try {
    // Inside the try: options the encoder refuses must still close the sink (a file handle).
    if (opts.schema || source instanceof A.Table || source instanceof A.RecordBatch) {
      encoder = new RecordBatchEncoder(opts.schema ?? (source as A.Table).schema, form, opts);
    }
    for await (const batch of batchesOf(source)) {
      encoder ??= new RecordBatchEncoder(batch.schema, form, opts);
      for (const piece of split(batch, opts.maxBatchRows)) await sink.write(flat(encoder.write(piece)));
    }
    if (!encoder) throw new TypeError('writeIpc: an empty batch source needs opts.schema');
    await sink.write(flat(encoder.finish()));
    return encoder.ipc.byteLength;
  } finally {
    await sink.close();
  }
}

/** Encodes a table (or batches) as an IPC stream in memory. */
export async function tableToStream(source: BatchSource, opts?: WriteOptions & { schema?: A.Schema }): Promise<Uint8Array> {
  const sink = new MemorySink();
  await writeIpc(sink, source, 'stream', opts);
  return sink.bytes();
}

/** Encodes a table (or batches) as an IPC file in memory. */
export async function tableToFile(source: BatchSource, opts?: WriteOptions & { schema?: A.Schema }): Promise<Uint8Array> {
  const sink = new MemorySink();
  await writeIpc(sink, source, 'file', opts);
  return sink.bytes();
}

/** Writes a table (or batches) to a path as an IPC stream or file. */
export async function writeIpcFile(path: string, source: BatchSource, form: IpcForm, opts?: WriteOptions & { schema?: A.Schema }): Promise<number> {
  return writeIpc(await fileSink(path), source, form, opts);
}
