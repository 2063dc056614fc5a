/**
 * Runs child-process work at most two at a time within a test file: the machine has two cores,
 * shared with the other test files and other people's work.
 */
let running = 0;
const waiting: Array<() => void> = [];

export async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= 2) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}
