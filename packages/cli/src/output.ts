/**
 * Text output with backpressure and a closed reader in mind. When the reader goes away (EPIPE:
 * `quiver cat big.arrow | head`), `closed` turns true and further writes are dropped, so the
 * command stops reading and exits 0, as Unix filters do. Any other write failure is kept in
 * `error` and reported by the caller as ERR_QUIVER_IO.
 */
import type { Writable } from 'node:stream';
import { ErrorCode, QuiverError } from '@quiver/core';

/** A Writable for text, with backpressure, that goes quiet when its reader goes away (see the module). */
export class TextOutput {
  /** True once the destination is gone (the reader closed it, or it failed). */
  closed = false;
  /** A write failure other than the reader having gone away. */
  error: Error | undefined;
  private wake: (() => void) | undefined;

  /** Watches `w` for errors and its close. */
  constructor(private readonly w: Writable) {
    const stop = (err?: Error) => {
      this.closed = true;
      if (err && (err as NodeJS.ErrnoException).code !== 'EPIPE' && !this.error) this.error = err;
      this.wake?.();
    };
    w.on('error', stop);
    w.on('close', () => stop());
  }

  /** Writes `text`; resolves once the destination can take more (at once when it already can). */
  async write(text: string): Promise<void> {
    if (this.closed || text === '') return;
    if (this.w.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.w.off('drain', done);
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
      this.w.on('drain', done);
    });
  }

  /** Throws ERR_QUIVER_IO if a write failed for a reason other than a closed reader. */
  check(): void {
    if (this.error) throw new QuiverError(ErrorCode.IO, `cannot write the output: ${this.error.message}`, { cause: this.error });
  }
}
