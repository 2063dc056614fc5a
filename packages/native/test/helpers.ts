// Shared helpers for @quiver/native tests (not a test file: ava only runs *.test.js).
import { spawn, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type NativeBinding, isNativeAvailable, native, nativeLoadError } from '../src/index.js';

/**
 * The binding. On Linux the addon must have been built: a silently skipped native suite would hide
 * a broken build, so this throws with the load error instead. Only QUIVER_DISABLE_NATIVE=1 (or a
 * non-Linux platform) turns the suites off (`shouldTestNative`).
 */
export const shouldTestNative = process.platform === 'linux' && process.env.QUIVER_DISABLE_NATIVE !== '1';

export function getNative(): NativeBinding {
  if (!isNativeAvailable || native === undefined) {
    throw new Error(`the native addon did not load: ${nativeLoadError?.message}`, { cause: nativeLoadError });
  }
  return native;
}

let counter = 0;
/** A shm name unique to this process and call. */
export function uniqueShmName(tag: string): string {
  return `/quiver-native-test-${process.pid}-${tag}-${counter++}`;
}

/** Absolute path of a compiled fixture script (dist/test/fixtures/<name>.js). */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node [nodeArgs] script [args]` to completion, collecting output. */
export function runNode(
  script: string,
  args: string[] = [],
  opts: { env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const options: SpawnOptions = { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] };
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), script, ...args], options);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Resolves on the next turn of the event loop's check phase. */
export function nextImmediate(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
