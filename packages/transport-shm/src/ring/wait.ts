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
   * microseconds runs out (false). The budget adapts: it doubles (up to {@link SPIN_MAX_MICROS})
   * when a spin sees the change and shrinks by a quarter (down to {@link SPIN_MIN_MICROS}) when it
   * does not, so a busy channel is answered in microseconds and an idle one costs at most
   * {@link SPIN_MIN_MICROS} per message. Meant to run before announcing a sleep, so that the
   * waking side makes no system call for a waiter that is only spinning.
   */
  spin(index: number, expected: number): boolean;
  /** Wakes every waiter on word `index`. */
  wake(index: number): void;
}

/** The most one spin blocks its thread, in microseconds. */
export const SPIN_MAX_MICROS = 50;
/** The least an adaptive spin lasts, in microseconds. */
export const SPIN_MIN_MICROS = 10;

/**
 * An adaptive spin budget (see {@link Waiter.spin}): it starts at the most, doubles when a spin
 * sees the change and shrinks by a quarter when it does not. The floor is not small: a peer that
 * answers a little later than the budget would otherwise drive it to nothing, and a spin costs an
 * idle channel at most SPIN_MIN_MICROS per message.
 */
class SpinBudget {
  micros = SPIN_MAX_MICROS;
  update(caught: boolean): void {
    this.micros = caught ? Math.min(SPIN_MAX_MICROS, this.micros * 2) : Math.max(SPIN_MIN_MICROS, (this.micros * 3) >> 2);
  }
}

/** Waits with the native addon's futexes: across processes sharing a mapping. */
export function futexWaiter(native: NativeBinding, buffer: SharedArrayBuffer): Waiter {
  const budget = new SpinBudget();
  return {
    wait: (index, expected, timeoutMs, spun) => native.futexWaitAsync(buffer, index * 4, expected, timeoutMs, spun ? 0 : undefined),
    wake: (index) => void native.futexWake(buffer, index * 4, Infinity),
    spin(index, expected) {
      const caught = native.futexSpin(buffer, index * 4, expected, budget.micros);
      budget.update(caught);
      return caught;
    },
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
      budget.update(caught);
      return caught;
    },
    wait(index, expected, timeoutMs, spun) {
      if (!spun) for (let i = 0; i < SPIN; i++) if (Atomics.load(words, index) !== expected) return Promise.resolve('ok');
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
