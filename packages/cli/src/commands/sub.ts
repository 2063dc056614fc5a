/**
 * `quiver sub URL [--topic T] [--out FILE] [--count N]`: subscribes to topic T (default
 * 'default') of the publisher at URL and writes what arrives: with `--out`, as one Arrow stream
 * file; without, one NDJSON line per batch on stdout (`{"batch","rows"}`).
 *
 * It ends when the publisher ends the stream, or after N batches with `--count` (exit 0 either
 * way), or on SIGINT/SIGTERM: the ordinary end without `--count` (exit 0), an interruption with
 * it. The output is always closed as a valid stream holding every batch received.
 */
import { ErrorCode, QuiverError, subscribe, type TransportRegistry } from '@quiver/core';
import { openBatchOutput, type Completion } from '../net.js';
import type { TextOutput } from '../output.js';
import type { ProgressBar } from '../progress.js';

export interface SubArgs {
  url: string;
  topic: string;
  out?: string;
  count?: number;
  registry: TransportRegistry;
  stdout: TextOutput;
  signal?: AbortSignal;
  /** Drawn while writing `out` when stderr is a terminal. */
  progress?: () => ProgressBar;
}

export async function subCommand(a: SubArgs): Promise<Completion> {
  a.registry.resolve(a.url); // a bad URL is reported before --out is created
  const output = await openBatchOutput(a);
  const subscription = subscribe(a.registry, a.url, { topic: a.topic, ...(a.signal ? { signal: a.signal } : {}) });
  // Closing the subscription ends its iteration cleanly, wherever it is waiting.
  const onAbort = () => void subscription.close();
  a.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const batch of subscription) {
      if (output.count === 0) output.accepts(batch.schema);
      if (!(await output.write(batch, {})) || !output.wantsMore) break;
    }
  } catch (e) {
    if (!a.signal?.aborted) throw subscription.streams === 0 ? noStream(e, a) : e;
  } finally {
    a.signal?.removeEventListener('abort', onAbort);
    await subscription.close();
    await output.close();
  }
  return a.signal?.aborted && a.count !== undefined && !output.limitReached ? 'interrupted' : 'complete';
}

/**
 * A publisher closes the connection of a subscriber to a topic it does not have: say so, keeping
 * the code of what the reader saw (the connection ended before any stream).
 */
function noStream(e: unknown, a: SubArgs): unknown {
  if (!(e instanceof QuiverError) || e.code === ErrorCode.CONNECTION_FAILED) return e;
  return new QuiverError(e.code, `no stream from ${a.url} for topic '${a.topic}' (does the publisher have that topic?): ${e.message}`, { cause: e });
}
