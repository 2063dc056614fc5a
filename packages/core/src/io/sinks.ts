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

/** A failed write or close as ERR_QUIVER_IO (ENOSPC on a full disk, EIO, EFBIG...), `cause` the system's error. */
function writeError(cause: unknown, what: string): QuiverError {
  if (cause instanceof QuiverError) return cause;
  return new QuiverError(ErrorCode.IO, `${what}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}

/**
 * A file written with positional writev calls. A write that fails (a full disk: ENOSPC) rejects
 * with ERR_QUIVER_IO; the file keeps what was written before, and `close()` still releases it.
 */
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
      try {
        await writeAll(buffers);
      } catch (e) {
        throw writeError(e, `cannot write ${path}`);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await fh.close();
      } catch (e) {
        throw writeError(e, `cannot close ${path}`);
      }
    },
  };

  async function writeAll(buffers: Uint8Array[]): Promise<void> {
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
  }
}

/**
 * A Node Writable (socket, file stream, stdout): corked per call, waits for 'drain'. The stream's
 * errors are listened for from the start (a write error with nobody listening would crash the
 * process): the first one fails the write that meets it, or `close()`, with ERR_QUIVER_IO.
 */
export function writableSink(w: Writable): ByteSink {
  let failure: QuiverError | undefined;
  const onError = (err: Error) => void (failure ??= writeError(err, 'write failed'));
  w.on('error', onError);
  const refusal = (): QuiverError | undefined =>
    failure ?? (w.destroyed || w.writableEnded ? new QuiverError(ErrorCode.CLOSED, 'the destination stream is closed') : undefined);
  return {
    async write(buffers) {
      const refused = refusal();
      if (refused) throw refused;
      w.cork();
      let ok = true;
      for (const b of buffers) ok = w.write(b) && ok;
      w.uncork();
      if (!ok) {
        await new Promise<void>((resolve, reject) => {
          const done = (drained: boolean) => {
            w.off('drain', onDrain);
            w.off('error', onStop);
            w.off('close', onStop);
            const refused = failure ?? (drained ? undefined : new QuiverError(ErrorCode.IO, 'write failed: the destination closed'));
            refused ? reject(refused) : resolve();
          };
          const onDrain = () => done(true);
          const onStop = () => done(false);
          w.on('drain', onDrain);
          w.on('error', onStop);
          w.on('close', onStop);
        });
      }
    },
    async close() {
      if (failure) throw failure;
      if (w.writableEnded) return;
      await new Promise<void>((resolve, reject) =>
        w.end((err?: Error | null) => {
          if (err) failure ??= writeError(err, 'write failed');
          failure ? reject(failure) : resolve();
        }),
      );
    },
  };
}
