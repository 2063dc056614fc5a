/**
 * `quiver recv URL [--out FILE] [--count N]`: listens on URL and takes Arrow streams from any
 * number of producers at once (core's acceptStreams), each read independently.
 *
 * - With `--out`, every batch goes into one stream file whose schema is that of the first stream
 *   to arrive. A later stream with other fields (names or types) is refused: one warning line on
 *   stderr, its connection closed, the others go on. Batches of concurrent producers interleave
 *   in the order they arrive.
 * - Without `--out`, one NDJSON line per batch on stdout: `{"stream","peer","batch","rows"}`, for
 *   streams of any schema.
 * - `--count N` ends the run after N batches in all (exactly N are written), exit 0. Without it,
 *   recv runs until SIGINT/SIGTERM, which is then its ordinary end (exit 0).
 *
 * A producer whose stream fails (bad bytes, a reset) is dropped with a warning line. Stopping
 * closes the listener (a Unix socket file is removed), closes every connection (batches not yet
 * read are lost: send them again), ends the output stream with its end-of-stream marker and
 * closes the file, which then holds every batch written so far.
 *
 * Over `shm:` recv creates the segment and reads it (the transport's `direction: 'read'`); one
 * `send` attaches as its writer. Stopping removes the segment.
 */
import type { Writable } from 'node:stream';
import { acceptStreams, ErrorCode, QuiverError, type Connection, type IncomingStream, type Listener, type TransportRegistry } from '@quiver/core';
import { abortedBy, announceListening, openBatchOutput, warn, whenAborted, type Completion } from '../net.js';
import type { TextOutput } from '../output.js';
import { directionFor } from '../registry.js';
import type { ProgressBar } from '../progress.js';

export interface RecvArgs {
  url: string;
  out?: string;
  count?: number;
  registry: TransportRegistry;
  stdout: TextOutput;
  stderr: Writable;
  signal?: AbortSignal;
  /** Drawn while writing `out` when stderr is a terminal. */
  progress?: () => ProgressBar;
}

/** A listener whose connections are also kept in `open`, so that stopping can close them all. */
function tracked(listener: Listener, open: Set<Connection>): Listener {
  return {
    get url() {
      return listener.url;
    },
    closed: listener.closed,
    close: () => listener.close(),
    [Symbol.asyncDispose]: () => listener.close(),
    async *[Symbol.asyncIterator]() {
      for await (const conn of listener) {
        open.add(conn);
        void conn.closed.then(() => open.delete(conn));
        yield conn;
      }
    },
  };
}

export async function recvCommand(a: RecvArgs): Promise<Completion> {
  a.registry.resolve(a.url); // a bad URL is reported before --out is created
  const output = await openBatchOutput(a);
  // Without --count, a signal is recv's ordinary end; with it, an interruption unless N arrived.
  const ended = (): Completion => (a.signal?.aborted && a.count !== undefined && !output.limitReached ? 'interrupted' : 'complete');
  let listener: Listener;
  try {
    listener = await a.registry.listen(a.url, { ...directionFor(a.url, 'read'), ...(a.signal ? { signal: a.signal } : {}) });
  } catch (e) {
    await output.close();
    if (abortedBy(e, a.signal)) return ended();
    throw e;
  }
  announceListening(a.stderr, listener.url);

  const open = new Set<Connection>();
  let stopping = false;
  let failure: { error: unknown } | null = null;
  let fail!: () => void;
  const failed = new Promise<void>((r) => (fail = r));
  const pumps = new Set<Promise<void>>();
  let streams = 0;

  const pump = async (s: IncomingStream): Promise<void> => {
    const n = ++streams;
    const from = `stream ${n} from ${s.peer.address || 'a peer'}`;
    try {
      if (!output.accepts(s.reader.schema)) {
        throw new QuiverError(ErrorCode.SCHEMA_MISMATCH, "its fields differ from the first stream's; dropped");
      }
    } catch (e) {
      // The schema getter throws for types apache-arrow cannot decode: that producer is dropped.
      warn(a.stderr, e, from);
      await s.connection.close();
      return;
    }
    try {
      for (;;) {
        let batch;
        try {
          batch = await s.reader.next();
        } catch (e) {
          if (!stopping) warn(a.stderr, e, from);
          return;
        }
        if (batch === null || stopping) return;
        try {
          if (!(await output.write(batch, { stream: n, peer: s.peer.address }))) return;
        } catch (error) {
          failure ??= { error }; // the output failed: the whole run fails
          fail();
          return;
        }
      }
    } finally {
      await s.connection.close();
    }
  };

  const incoming = acceptStreams(tracked(listener, open));
  const accepting = (async () => {
    for await (const s of incoming) {
      if (stopping) {
        await s.connection.close();
        continue;
      }
      const p = pump(s);
      pumps.add(p);
      void p.then(() => pumps.delete(p));
    }
  })().catch((error: unknown) => {
    // The listener itself failed: nothing more can arrive.
    if (stopping) return;
    failure ??= { error };
    fail();
  });

  try {
    await Promise.race([output.done, failed, whenAborted(a.signal)]);
  } finally {
    stopping = true;
    // Closing the listener ends acceptStreams; closing the connections ends every pump.
    await listener.close();
    await Promise.all([...open].map((c) => c.close()));
    await accepting;
    await Promise.all([...pumps]);
    await output.close();
  }
  if (failure) throw (failure as { error: unknown }).error;
  return ended();
}
