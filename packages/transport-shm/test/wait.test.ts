// The adaptive spin budget: set by how long waits take, on a clock the test moves by hand.
import test from 'ava';
import { SPIN_MAX_MICROS, SPIN_MIN_MICROS, SpinBudget } from '../src/ring/wait.js';

function budget() {
  let ms = 0;
  const b = new SpinBudget(() => ms);
  /** One wait that took `micros` from its spin's start until the change was seen. */
  const wait = (micros: number) => {
    ms = 0;
    b.start();
    ms = micros / 1000;
    b.seen();
    return Math.round(b.micros * 1e6) / 1e6; // (microseconds through a millisecond clock)
  };
  return { b, wait };
}

test('a wait the spin missed but that ended soon (a peer waking from a sleep) sets the next spin to cover it twice over', (t) => {
  const { b, wait } = budget();
  for (let i = 0; i < 50; i++) wait(2000); // an idle channel: the budget falls to its floor
  t.is(b.micros, SPIN_MIN_MICROS);
  t.is(wait(35), 70, 'a 35 µs wait: the next spin lasts 70 µs');
  t.is(wait(80), SPIN_MAX_MICROS, 'never past the most');
});

test('short waits lower the budget slowly (an eighth a wait), not below twice the wait or the floor', (t) => {
  const { b, wait } = budget();
  t.is(b.micros, SPIN_MAX_MICROS);
  t.is(wait(5), (SPIN_MAX_MICROS * 7) / 8);
  for (let i = 0; i < 99; i++) wait(8);
  t.is(wait(8), 16);
  for (let i = 0; i < 100; i++) wait(1);
  t.is(b.micros, SPIN_MIN_MICROS);
});

test('waits longer than any spin (an idle channel) shrink the budget by a quarter each, down to the floor', (t) => {
  const { b, wait } = budget();
  t.is(wait(SPIN_MAX_MICROS + 1), (SPIN_MAX_MICROS * 3) / 4);
  t.is(wait(10_000), (SPIN_MAX_MICROS * 9) / 16);
  for (let i = 0; i < 50; i++) wait(10_000);
  t.is(b.micros, SPIN_MIN_MICROS);
});
