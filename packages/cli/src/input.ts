/**
 * Record batches read on demand from a path, whatever its form: an Arrow file through its footer
 * and then one block per batch; a stream (a regular file, or a FIFO) pulled a chunk at a time, only
 * when the decoder needs more bytes. Shared by cat (which stops early) and send/pub (which report
 * progress from {@link BatchInput.position}).
 */
import { open, type FileHandle } from 'node:fs/promises';
import type * as A from 'apache-arrow';
import { ARROW_MAGIC, FileReader, StreamReader, type RandomAccessSource } from '@quiver/core';

/** Bytes per read of a stream. */
const CHUNK = 256 * 1024;

/** Record batches pulled one at a time from an opened input. */
export interface BatchInput {
  /** apache-arrow's schema (opening fails with ERR_QUIVER_UNSUPPORTED_TYPE for types it lacks). */
  readonly schema: A.Schema;
  next(): Promise<A.RecordBatch | null>;
  /** Bytes of the input read so far (for a progress bar). */
  readonly position: number;
  close(): Promise<void>;
}

/** A RandomAccessSource over a handle this module owns (FileReader must not close it). */
function handleSource(fh: FileHandle, size: number, onRead: (end: number) => void): RandomAccessSource {
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
      onRead(offset + got);
      return buf.subarray(0, got);
    },
  };
}

/** Reads sequentially from `fh` (positionally from `start` when `regular`), a chunk per pull. */
async function* pull(fh: FileHandle, regular: boolean, start: number, head: Uint8Array, onRead: (n: number) => void): AsyncGenerator<Uint8Array> {
  if (head.byteLength > 0) yield head;
  let pos = start;
  for (;;) {
    const buf = new Uint8Array(CHUNK);
    const { bytesRead } = await fh.read(buf, 0, CHUNK, regular ? pos : null);
    if (bytesRead === 0) return;
    pos += bytesRead;
    onRead(pos);
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

/** Opens `path` (an Arrow file or stream, detected from its first bytes) for reading batch by batch. */
export async function openBatches(path: string): Promise<BatchInput> {
  const fh = await open(path, 'r');
  let position = 0;
  const at = (n: number) => (position = Math.max(position, n));
  try {
    const st = await fh.stat();
    const regular = st.isFile();
    const head = await readHead(fh, ARROW_MAGIC.byteLength);
    const isFile = head.byteLength === ARROW_MAGIC.byteLength && ARROW_MAGIC.every((b, i) => head[i] === b);
    if (isFile) {
      // A file needs random access: a FIFO holding one is read whole first.
      const source = regular ? handleSource(fh, st.size, at) : await readRest(pull(fh, false, head.byteLength, head, at));
      const reader = await FileReader.open(source);
      let i = 0;
      return {
        schema: reader.schema,
        next: async () => (i < reader.numRecordBatches ? reader.recordBatch(i++) : null),
        get position() {
          return position;
        },
        close: async () => {
          await reader.close();
          await fh.close();
        },
      };
    }
    const reader = await StreamReader.open(pull(fh, regular, head.byteLength, head, at));
    return {
      schema: reader.schema,
      next: () => reader.next(),
      get position() {
        return position;
      },
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
