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
  /**
   * Resolves when word `index` (an int32 index) may no longer hold `expected`, or after
   * `timeoutMs`. `spun`: the caller just spun ({@link Waiter.spin}), so do not spin again.
   */
  wait(index: number, expected: number, timeoutMs: number, spun?: boolean): Promise<WaitResult>;
  /**
   * Spins on this thread until word `index` no longer holds `expected` (true) or a budget of
   * microseconds runs out (false). Meant to run before announcing a sleep, so that the waking
   * side makes no system call for a waiter that is only spinning. The budget adapts to how long
   * waits take, from the start of this spin until the change is seen (here, or after a nap or a
   * wait: the caller then reports it with {@link Waiter.woke}): see {@link SpinBudget}.
   */
  spin(index: number, expected: number): boolean;
  /** The change the last failed {@link Waiter.spin} waited for was seen (or the wait gave up). */
  woke(): void;
  /**
   * Sleeps on this thread while word `index` holds `expected`, for at most {@link NAP_MICROS}
   * (true when it no longer does). Unlike a spin it leaves the CPU to others, so it must be
   * announced like a sleep (the waking side wakes it); unlike {@link Waiter.wait} a wake reaches
   * this thread directly, not through a waiter thread and the event loop.
   */
  nap(index: number, expected: number): boolean;
  /** Wakes every waiter on word `index`. */
  wake(index: number): void;
}

/** The most one spin blocks its thread, in microseconds. */
export const SPIN_MAX_MICROS = 100;
/** The least an adaptive spin lasts, in microseconds. */
export const SPIN_MIN_MICROS = 10;
/** The most one {@link Waiter.nap} blocks its thread, in microseconds. */
export const NAP_MICROS = 50;

/**
 * An adaptive spin budget (see {@link Waiter.spin}), set by how long waits take from the start
 * of a spin until the change is seen. A wait within SPIN_MAX_MICROS sets the budget to twice its
 * length (decaying by an eighth a wait when waits get shorter), so the next spin covers it; a
 * longer one (an idle channel) shrinks the budget by a quarter, down to SPIN_MIN_MICROS.
 *
 * Counting the waits that a spin missed matters: a peer that has itself fallen asleep answers
 * only after its own wake-up, tens of microseconds here, and a budget that merely shrank on every
 * miss would leave both sides of a ping-pong asleep on every message, for good. A budget that
 * covers the wake-ups it saw has one side still spinning when the other answers, and both are
 * back to answering each other in microseconds.
 */
export class SpinBudget {
  /** The next spin's budget, in microseconds. */
  micros = SPIN_MAX_MICROS;
  #since = 0;
  /** A budget timed by `now` (milliseconds, as performance.now). */
  constructor(private readonly now: () => number = () => performance.now()) {}
  /** A wait starts (with a spin). */
  start(): void {
    this.#since = this.now();
  }
  /** The change the wait was for was seen (or the wait gave up): sets the next budget. */
  seen(): void {
    const waited = (this.now() - this.#since) * 1000;
    this.micros =
      waited <= SPIN_MAX_MICROS
        ? Math.min(SPIN_MAX_MICROS, Math.max(SPIN_MIN_MICROS, 2 * waited, (this.micros * 7) / 8))
        : Math.max(SPIN_MIN_MICROS, (this.micros * 3) / 4);
  }
}

/** Waits with the native addon's futexes: across processes sharing a mapping. */
export function futexWaiter(native: NativeBinding, buffer: SharedArrayBuffer): Waiter {
  const budget = new SpinBudget();
  return {
    wait: (index, expected, timeoutMs, spun) => native.futexWaitAsync(buffer, index * 4, expected, timeoutMs, spun ? 0 : undefined),
    wake: (index) => void native.futexWake(buffer, index * 4, Infinity),
    spin(index, expected) {
      budget.start();
      const caught = native.futexSpin(buffer, index * 4, expected, Math.round(budget.micros));
      if (caught) budget.seen();
      return caught;
    },
    woke: () => budget.seen(),
    nap: (index, expected) => native.futexWaitSync(buffer, index * 4, expected, NAP_MICROS),
  };
}

type WaitAsync = (a: Int32Array, index: number, value: number, timeout?: number) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };

/** Polls this many times before sleeping: a peer thread often answers within microseconds. */
const SPIN = 64;

/** Waits with Atomics.waitAsync/Atomics.notify: between the threads of one process. */
export function atomicsWaiter(buffer: SharedArrayBuffer): Waiter {
  const words = new Int32Array(buffer);
  const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
  const budget = new SpinBudget();
  return {
    spin(index, expected) {
      budget.start();
      let caught = Atomics.load(words, index) !== expected;
      if (!caught) {
        const until = performance.now() + budget.micros / 1000;
        for (let i = 1; ; i++) {
          if (Atomics.load(words, index) !== expected) {
            caught = true;
            break;
          }
          if ((i & 63) === 0 && performance.now() >= until) break;
        }
      }
      if (caught) budget.seen();
      return caught;
    },
    woke: () => budget.seen(),
    wait(index, expected, timeoutMs, spun) {
      if (!spun) for (let i = 0; i < SPIN; i++) if (Atomics.load(words, index) !== expected) return Promise.resolve('ok');
      const r = waitAsync(words, index, expected, timeoutMs);
      if (!r.async) return Promise.resolve(r.value);
      // A pending Atomics.waitAsync does not keep Node's event loop alive (a worker waiting for
      // its peer would just exit): a timer does, for as long as the wait lasts.
      const keep = setInterval(() => {}, Number.isFinite(timeoutMs) ? Math.max(1, timeoutMs) : 1 << 30);
      return r.value.finally(() => clearInterval(keep));
    },
    // (Node allows Atomics.wait on its main thread; the nap is as bounded as a spin.)
    nap: (index, expected) => Atomics.wait(words, index, expected, NAP_MICROS / 1000) !== 'timed-out',
    wake: (index) => void Atomics.notify(words, index),
  };
}

/** Whether Atomics.waitAsync exists (Node 16+). */
export const hasWaitAsync = (): boolean => typeof (Atomics as unknown as { waitAsync?: unknown }).waitAsync === 'function';

/** Resolves on the next turn of the event loop (after I/O): lets others run. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
