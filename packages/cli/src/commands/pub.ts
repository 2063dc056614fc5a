/**
 * `quiver pub URL FILE [--topic T] [--loop] [--wait-subscribers N]`: listens on URL and publishes
 * FILE's record batches to the subscribers of topic T (core's Publisher; plain Arrow readers that
 * send no hello get the default topic).
 *
 * A pass publishes every batch of FILE once, and starts when at least N subscribers (default 1)
 * have joined the topic, since a subscriber only gets the batches published after it joined.
 * Without `--loop`, one pass, then every subscriber's stream is ended (end-of-stream marker) and
 * pub exits 0. With `--loop`, passes repeat (FILE is read again each time) until SIGINT/SIGTERM,
 * which is then the ordinary end (exit 0). Slow subscribers hold publishing up (policy `block`).
 *
 * Over `shm:` the ring is the Publisher's one subscriber however many processes read it: the
 * transport hands the ring over once N readers joined (its `waitSubscribers`), then each pass
 * waits for the ring alone.
 */
import type { Writable } from 'node:stream';
import { ErrorCode, Publisher, type Topic, type TransportRegistry } from '@quiver/core';
import { openBatches, type BatchInput } from '../input.js';
import { abortedBy, announceListening, type Completion } from '../net.js';
import { isShm } from '../registry.js';
import { requireRegularFile } from './inspect.js';

export interface PubArgs {
  url: string;
  path: string;
  /** @default 'default' */
  topic: string;
  loop: boolean;
  /** Subscribers to wait for before each pass. */
  waitSubscribers: number;
  registry: TransportRegistry;
  stderr: Writable;
  signal?: AbortSignal;
}

/** Resolves true once `n` subscribers are on `topic`, false if `signal` aborts first. */
async function untilSubscribed(topic: Topic, n: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await topic.waitForSubscribers(n, signal);
    return true;
  } catch {
    return false;
  }
}

export async function pubCommand(a: PubArgs): Promise<Completion> {
  a.registry.resolve(a.url); // a bad URL is reported before anything is opened
  await requireRegularFile(a.path, 'pub');
  let input: BatchInput = await openBatches(a.path);
  // With --loop, a signal is pub's ordinary end; without, it cuts the one pass short.
  const ended = (): Completion => (a.signal?.aborted && !a.loop ? 'interrupted' : 'complete');
  const shm = isShm(a.url);
  let publisher: Publisher;
  try {
    // A ring is one subscriber to the Publisher however many processes read it: its listener
    // hands the ring over once N of them have joined, and the topic then waits for the ring.
    const transport = { ...(shm ? { waitSubscribers: a.waitSubscribers } : {}), ...(a.signal ? { signal: a.signal } : {}) };
    publisher = await Publisher.listen(a.registry, a.url, { transport });
  } catch (e) {
    await input.close();
    if (abortedBy(e, a.signal)) return ended();
    throw e;
  }
  // Before anything else: a subscriber whose topic does not exist yet would be turned away.
  const topic = publisher.topic(a.topic, input.schema);
  announceListening(a.stderr, publisher.url);
  // A signal closes the publisher at once, which also releases a publish held up by a slow subscriber.
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= publisher.close());
  const onAbort = () => void close();
  a.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (!(await untilSubscribed(topic, shm ? Math.min(1, a.waitSubscribers) : a.waitSubscribers, a.signal))) break;
      for (let batch = await input.next(); batch !== null && !a.signal?.aborted; batch = await input.next()) {
        await topic.publish(batch);
      }
      if (!a.loop || a.signal?.aborted) break;
      await input.close();
      input = await openBatches(a.path);
    }
  } catch (e) {
    // A publish cut short by the signal's close.
    if (!(a.signal?.aborted && (e as { code?: unknown }).code === ErrorCode.CLOSED)) throw e;
  } finally {
    a.signal?.removeEventListener('abort', onAbort);
    await input.close();
    await close();
  }
  return ended();
}
