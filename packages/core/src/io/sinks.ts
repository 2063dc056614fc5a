/**
 * Where encoded messages go. A {@link ByteSink} takes a gather list per call; the sinks here
 * write it without concatenating (writev for files, cork/uncork for Node streams) and resolve
 * only when the bytes were accepted, so a slow destination slows the writer (backpressure).
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { ErrorCode, QuiverError } from '../errors.js';

/** Where writers put encoded messages, one gather list per call. */
export interface ByteSink {
  /** Writes the buffers in order. Resolves when they were accepted. */
  write(buffers: Uint8Array[]): void | Promise<void>;
  /** Flushes and releases the destination. */
  close(): Promise<void>;
}

/** Collects everything written; {@link MemorySink.bytes} joins it once at the end. */
export class MemorySink implements ByteSink {
  /** The buffers written, as given (not copied). */
  readonly chunks: Uint8Array[] = [];
  /** Total bytes written. */
  byteLength = 0;
  /** Keeps the buffers (no copy): do not modify them afterwards. */
  write(buffers: Uint8Array[]): void {
    for (const b of buffers) {
      this.chunks.push(b);
      this.byteLength += b.byteLength;
    }
  }
  /** Nothing to release. */
  async close(): Promise<void> {}
  /** All bytes written, as one buffer (one copy). */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.byteLength);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }
}

/** A file written with positional writev calls. */
export async function fileSink(path: string): Promise<ByteSink> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'w');
  } catch (cause) {
    throw new QuiverError(ErrorCode.IO, `cannot create ${path}: ${(cause as Error).message}`, { cause });
  }
  let closed = false;
  return {
    async write(buffers) {
      if (closed) throw new QuiverError(ErrorCode.CLOSED, 'file sink is closed');
      // writev takes at most IOV_MAX (1024) buffers per call.
      for (let i = 0; i < buffers.length; i += 1024) {
        const part = buffers.slice(i, i + 1024);
        const want = part.reduce((n, b) => n + b.byteLength, 0);
        let { bytesWritten } = await fh.writev(part);
        if (bytesWritten !== want) {
          // A short write (rare on regular files): finish the rest buffer by buffer.
          for (const b of part) {
            if (bytesWritten >= b.byteLength) {
              bytesWritten -= b.byteLength;
              continue;
            }
            const rest = b.subarray(bytesWritten);
            bytesWritten = 0;
            let off = 0;
            while (off < rest.byteLength) off += (await fh.write(rest, off)).bytesWritten;
          }
        }
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await fh.close();
    },
  };
}

/** A Node Writable (socket, file stream, stdout): corked per call, waits for 'drain'. */
export function writableSink(w: Writable): ByteSink {
  return {
    async write(buffers) {
      if (w.destroyed || w.writableEnded) throw new QuiverError(ErrorCode.CLOSED, 'the destination stream is closed');
      w.cork();
      let ok = true;
      for (const b of buffers) ok = w.write(b) && ok;
      w.uncork();
      if (!ok) {
        await new Promise<void>((resolve, reject) => {
          const done = (err?: Error) => {
            w.off('drain', done);
            w.off('error', done);
            w.off('close', closed);
            err ? reject(new QuiverError(ErrorCode.IO, `write failed: ${err.message}`, { cause: err })) : resolve();
          };
          const closed = () => done(new Error('the destination closed'));
          w.on('drain', done);
          w.on('error', done);
          w.on('close', closed);
        });
      }
    },
    async close() {
      if (w.writableEnded) return;
      await new Promise<void>((resolve) => w.end(resolve));
    },
  };
}
