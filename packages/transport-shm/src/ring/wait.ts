/**
 * How a side of the ring sleeps until a word changes, without ever blocking the event loop.
 * Two implementations, never mixed on one ring (a futex wake does not wake Atomics waiters, nor
 * the reverse):
 * - {@link futexWaiter}: the native addon's futexWaitAsync/futexWake. Works across processes
 *   sharing a mapping; spins briefly on the JS thread, then waits on a thread of its own.
 * - {@link atomicsWaiter}: Atomics.waitAsync/Atomics.notify, for a SharedArrayBuffer shared by
 *   the threads of one process. (Never Atomics.wait: that would block the main thread.)
 */
import type { NativeBinding } from '@quiver/native';

/** How a wait ended: woken (or the word changed), the word did not hold the value, or the timeout passed. */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

/** How a side of a ring sleeps until a word changes, and wakes the other side. */
export interface Waiter {
  /** Resolves when word `index` (an int32 index) may no longer hold `expected`, or after `timeoutMs`. */
  wait(index: number, expected: number, timeoutMs: number): Promise<WaitResult>;
  /** Wakes every waiter on word `index`. */
  wake(index: number): void;
}

/** Waits with the native addon's futexes: across processes sharing a mapping. */
export function futexWaiter(native: NativeBinding, buffer: SharedArrayBuffer): Waiter {
  return {
    wait: (index, expected, timeoutMs) => native.futexWaitAsync(buffer, index * 4, expected, timeoutMs),
    wake: (index) => void native.futexWake(buffer, index * 4, Infinity),
  };
}

type WaitAsync = (a: Int32Array, index: number, value: number, timeout?: number) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };

/** Polls this many times before sleeping: a peer thread often answers within microseconds. */
const SPIN = 64;

/** Waits with Atomics.waitAsync/Atomics.notify: between the threads of one process. */
export function atomicsWaiter(buffer: SharedArrayBuffer): Waiter {
  const words = new Int32Array(buffer);
  const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
  return {
    wait(index, expected, timeoutMs) {
      for (let i = 0; i < SPIN; i++) if (Atomics.load(words, index) !== expected) return Promise.resolve('ok');
      const r = waitAsync(words, index, expected, timeoutMs);
      if (!r.async) return Promise.resolve(r.value);
      // A pending Atomics.waitAsync does not keep Node's event loop alive (a worker waiting for
      // its peer would just exit): a timer does, for as long as the wait lasts.
      const keep = setInterval(() => {}, Number.isFinite(timeoutMs) ? Math.max(1, timeoutMs) : 1 << 30);
      return r.value.finally(() => clearInterval(keep));
    },
    wake: (index) => void Atomics.notify(words, index),
  };
}

/** Whether Atomics.waitAsync exists (Node 16+). */
export const hasWaitAsync = (): boolean => typeof (Atomics as unknown as { waitAsync?: unknown }).waitAsync === 'function';

/** Resolves on the next turn of the event loop (after I/O): lets others run. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
