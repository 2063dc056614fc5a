// Child processes for the tests: spawned, killed at teardown, their stdout read line by line.
import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface Child {
  proc: ChildProcess;
  /** The next line the child prints (undefined once stdout ended). */
  line(): Promise<string | undefined>;
  /** Every remaining line, once the child exits. */
  rest(): Promise<string[]>;
  /** Resolves with the exit code (or signal name) when the child exits. */
  exited: Promise<number | string>;
}

export function spawnChild(t: ExecutionContext, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Child {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
  const exited = once(proc, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  t.teardown(() => void (proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL')));
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  return {
    proc,
    exited,
    line: async () => (await lines.next()).value as string | undefined,
    rest: async () => {
      const out: string[] = [];
      for (let r = await lines.next(); !r.done; r = await lines.next()) out.push(r.value);
      return out;
    },
  };
}

/** `node --input-type=module -e <source> ...args` */
export function spawnNodeModule(t: ExecutionContext, source: string, args: string[] = [], env?: NodeJS.ProcessEnv): Child {
  return spawnChild(t, process.execPath, ['--input-type=module', '-e', source, '--', ...args], env);
}
