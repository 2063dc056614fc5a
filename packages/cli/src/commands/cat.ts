/**
 * `quiver cat PATH [--limit N] [--format table|ndjson|csv]`: rows to stdout, batch by batch.
 *
 * PATH is opened once and read on demand: an Arrow file through its footer and then only the
 * batches printed; a stream (a regular file, or a FIFO) pulled a chunk at a time, only when the
 * decoder needs more bytes. So `--limit N` stops reading once N rows are out, and nothing is left
 * in flight to keep the process alive, even on a pipe whose writer never ends.
 */
import { open, type FileHandle } from 'node:fs/promises';
import * as A from 'apache-arrow';
import { ARROW_MAGIC, FileReader, StreamReader, toRows, type RandomAccessSource } from '@quiver/core';
import { rowWriter, type Column, type RowFormat, type Sink } from '../format.js';

/** Bytes per read of a stream. */
const CHUNK = 256 * 1024;

export interface CatArgs {
  path: string;
  format: RowFormat;
  /** Most rows to print. @default all */
  limit?: number;
  /** Table width (the terminal's). */
  columns?: number;
  out: Sink & { readonly closed: boolean };
}

/** Record batches pulled one at a time from an opened input. */
interface Batches {
  schema: A.Schema;
  next(): Promise<A.RecordBatch | null>;
  close(): Promise<void>;
}

/** A RandomAccessSource over a handle this module owns (FileReader must not close it). */
function handleSource(fh: FileHandle, size: number): RandomAccessSource {
  return {
    size,
    async read(offset, length) {
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break; // FileReader checks lengths against the footer
        got += bytesRead;
      }
      return buf.subarray(0, got);
    },
  };
}

/** Reads sequentially from `fh` (positionally from `start` when `regular`), a chunk per pull. */
async function* pull(fh: FileHandle, regular: boolean, start: number, head: Uint8Array): AsyncGenerator<Uint8Array> {
  if (head.byteLength > 0) yield head;
  let pos = start;
  for (;;) {
    const buf = new Uint8Array(CHUNK);
    const { bytesRead } = await fh.read(buf, 0, CHUNK, regular ? pos : null);
    if (bytesRead === 0) return;
    pos += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** The first `n` bytes (fewer at the end of input), read in order (works on a FIFO). */
async function readHead(fh: FileHandle, n: number): Promise<Uint8Array> {
  const head = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const { bytesRead } = await fh.read(head, got, n - got, null);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return head.subarray(0, got);
}

async function readRest(chunks: AsyncGenerator<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

async function openBatches(path: string): Promise<Batches> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    const regular = st.isFile();
    const head = await readHead(fh, ARROW_MAGIC.byteLength);
    const isFile = head.byteLength === ARROW_MAGIC.byteLength && ARROW_MAGIC.every((b, i) => head[i] === b);
    if (isFile) {
      // A file needs random access: a FIFO holding one is read whole first.
      const source = regular ? handleSource(fh, st.size) : await readRest(pull(fh, false, head.byteLength, head));
      const reader = await FileReader.open(source);
      let i = 0;
      return {
        schema: reader.schema,
        next: async () => (i < reader.numRecordBatches ? reader.recordBatch(i++) : null),
        close: async () => {
          await reader.close();
          await fh.close();
        },
      };
    }
    const reader = await StreamReader.open(pull(fh, regular, head.byteLength, head));
    return {
      schema: reader.schema,
      next: () => reader.next(),
      close: async () => {
        await reader.cancel();
        await fh.close();
      },
    };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

function columnsOf(schema: A.Schema): Column[] {
  return schema.fields.map((f) => ({
    name: f.name,
    numeric: A.DataType.isInt(f.type) || A.DataType.isFloat(f.type) || A.DataType.isDecimal(f.type),
  }));
}

/** Prints rows; returns how many were printed. */
export async function catCommand(a: CatArgs): Promise<number> {
  const input = await openBatches(a.path);
  let printed = 0;
  try {
    const writer = rowWriter(a.format, columnsOf(input.schema), a.out, a.columns);
    const limit = a.limit ?? Infinity;
    while (printed < limit && !a.out.closed) {
      let batch = await input.next();
      if (batch === null) break;
      if (batch.numRows > limit - printed) batch = batch.slice(0, limit - printed);
      await writer.rows(toRows(batch, { int64: 'string' }));
      printed += batch.numRows;
    }
    await writer.end();
  } finally {
    await input.close();
  }
  return printed;
}
