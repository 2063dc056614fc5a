/**
 * `quiver send URL FILE`: connects to URL and writes FILE's record batches as one Arrow stream.
 *
 * Batches are decoded and re-encoded (StreamProducer), which checks them on the way. A schema
 * with types apache-arrow cannot decode (ERR_QUIVER_UNSUPPORTED_TYPE: list-view, run-end
 * encoded, ...) is sent at the message level instead, through core's `convert`: the same messages,
 * decompressed and re-framed, never decoded. Either way the peer gets an uncompressed stream.
 *
 * Stopping (SIGINT/SIGTERM): no further batch is sent, then the stream is ended with its
 * end-of-stream marker, so the receiver holds a valid, shorter stream. If the signal came while a
 * stalled receiver held a send up, the connection is closed without the marker instead (waiting
 * for that receiver could take forever).
 *
 * Over `shm:` send attaches to the segment a `recv` created as its one writer (the transport's
 * `direction: 'write'`).
 */
import { convert, ErrorCode, StreamProducer, EOS, type ByteSink, type Connection, type TransportRegistry } from '@quiver/core';
import { openBatches, type BatchInput } from '../input.js';
import { abortedBy, type Completion } from '../net.js';
import { directionFor } from '../registry.js';
import { formatBytes, type ProgressBar } from '../progress.js';
import { requireRegularFile } from './inspect.js';

export interface SendArgs {
  url: string;
  path: string;
  registry: TransportRegistry;
  /** Stops sending (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Drawn while sending when stderr is a terminal. */
  progress?: (totalBytes: number) => ProgressBar;
}

/**
 * How sending ended. `done`: the whole stream went, its end-of-stream marker included.
 * `boundary`: a signal stopped it between two messages; the marker is still to send. `held`: a
 * signal came while a stalled receiver held a send up.
 */
type Stop = 'done' | 'boundary' | 'held';

export async function sendCommand(a: SendArgs): Promise<Completion> {
  a.registry.resolve(a.url); // a bad URL is reported before anything is opened
  const total = await requireRegularFile(a.path, 'send');
  let input: BatchInput | null = null;
  try {
    input = await openBatches(a.path);
  } catch (e) {
    if ((e as { code?: unknown }).code !== ErrorCode.UNSUPPORTED_TYPE) throw e;
  }
  let conn: Connection;
  try {
    conn = await a.registry.connect(a.url, { ...directionFor(a.url, 'write'), ...(a.signal ? { signal: a.signal } : {}) });
  } catch (e) {
    await input?.close();
    if (abortedBy(e, a.signal)) return 'interrupted';
    throw e;
  }
  const bar = a.progress?.(total);
  let sent = { batches: 0, rows: 0 };
  let stop: Stop;
  try {
    ({ stop, sent } = input ? await sendBatches(conn, input, a.signal, bar) : await sendMessages(conn, a.path, a.signal, bar));
  } catch (e) {
    bar?.finish();
    await conn.close(); // no end-of-stream marker: the receiver sees the stream cut short
    throw e;
  } finally {
    await input?.close();
  }
  if (stop === 'held') await conn.close();
  else {
    if (stop === 'boundary') await conn.send([EOS]);
    await conn.end();
    await conn.close();
  }
  bar?.finish(stop === 'done' ? `sent ${sent.batches} batches, ${sent.rows} rows (${formatBytes(total)}) to ${a.url}` : undefined);
  return stop === 'done' ? 'complete' : 'interrupted';
}

/** Arrow level: decode each batch, send it with a StreamProducer. Leaves the end to the caller. */
async function sendBatches(conn: Connection, input: BatchInput, signal: AbortSignal | undefined, bar: ProgressBar | undefined) {
  const producer = await StreamProducer.over(conn, input.schema);
  const sent = { batches: 0, rows: 0 };
  for (;;) {
    if (signal?.aborted) return { stop: 'boundary' as Stop, sent };
    const batch = await input.next();
    if (batch === null) break;
    try {
      await producer.send(batch, signal ? { signal } : {});
    } catch (e) {
      if (abortedBy(e, signal)) return { stop: 'held' as Stop, sent };
      throw e;
    }
    sent.batches++;
    sent.rows += batch.numRows;
    bar?.update(input.position);
  }
  // The marker is sent here rather than by producer.close(), which would also close the
  // connection: sendCommand ends both paths' connections the same way.
  await conn.send([EOS]);
  return { stop: 'done' as Stop, sent };
}

/** Thrown by the sink to stop `convert` between two messages. */
class Stopped extends Error {}

/**
 * Message level, for schemas apache-arrow cannot decode: core's convert writes a stream into a
 * sink that sends each message (a gather list) on the connection, end-of-stream marker included.
 */
async function sendMessages(conn: Connection, path: string, signal: AbortSignal | undefined, bar: ProgressBar | undefined) {
  let held = false;
  const sink: ByteSink = {
    async write(buffers) {
      if (signal?.aborted) throw new Stopped();
      try {
        await conn.send(buffers, signal ? { signal } : {});
      } catch (e) {
        if (!abortedBy(e, signal)) throw e;
        held = true;
        throw new Stopped();
      }
    },
    async close() {}, // the caller ends the connection
  };
  try {
    const r = await convert(path, sink, {
      format: 'stream',
      compression: 'none',
      ...(bar ? { onProgress: (p: { bytesIn: number }) => bar.update(p.bytesIn) } : {}),
    });
    return { stop: 'done' as Stop, sent: { batches: r.recordBatches, rows: r.rows } };
  } catch (e) {
    if (!(e instanceof Stopped)) throw e;
    return { stop: (held ? 'held' : 'boundary') as Stop, sent: { batches: 0, rows: 0 } };
  }
}
