/**
 * Where bytes come from. A {@link ByteSource} is read front to back (streams); a
 * {@link RandomAccessSource} is read at offsets (files), so a reader fetches only what it needs.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { badArgument, ErrorCode, QuiverError, truncated } from '../errors.js';

/** Bytes read in order: one buffer, or chunks from an (async) iterable such as a Node Readable. */
export type ByteSource = Uint8Array | ArrayBuffer | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** Normalises a ByteSource to an async iterator of Uint8Array chunks. */
export async function* chunksOf(source: ByteSource): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) return yield source;
  if (source instanceof ArrayBuffer) return yield new Uint8Array(source);
  if (source && (Symbol.asyncIterator in source || Symbol.iterator in source)) {
    for await (const chunk of source as AsyncIterable<unknown>) {
      if (chunk instanceof Uint8Array) yield chunk;
      else if (chunk instanceof ArrayBuffer) yield new Uint8Array(chunk);
      else throw badArgument('a byte source yielded something other than bytes (is the stream in text mode?)');
    }
    return;
  }
  throw badArgument('expected a Uint8Array, an ArrayBuffer, or an (async) iterable of Uint8Array');
}

/** Bytes read at offsets. */
export interface RandomAccessSource {
  /** Total bytes. */
  readonly size: number;
  /** Exactly `length` bytes at `offset` (the reader never asks past `size`). */
  read(offset: number, length: number): Uint8Array | Promise<Uint8Array>;
  /** Releases the source (a file handle); optional. */
  close?(): Promise<void>;
}

/** A RandomAccessSource over memory: reads are views, no copies. */
export function memorySource(bytes: Uint8Array): RandomAccessSource {
  return { size: bytes.byteLength, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

/** A RandomAccessSource over a file, reading each range into a buffer of its own. */
export async function fileSource(path: string): Promise<RandomAccessSource & { close(): Promise<void> }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (cause) {
    throw new QuiverError(ErrorCode.IO, `cannot open ${path}: ${(cause as Error).message}`, { cause });
  }
  const { size } = await fh.stat();
  let closed = false;
  return {
    size,
    async read(offset, length) {
      if (closed) throw new QuiverError(ErrorCode.CLOSED, 'file source is closed');
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) throw truncated(`${path} ended at ${offset + got}, expected ${offset + length}`);
        got += bytesRead;
      }
      return buf;
    },
    async close() {
      if (closed) return;
      closed = true;
      await fh.close();
    },
  };
}
