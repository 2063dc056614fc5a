/**
 * Support for the fault-injection tests: a seeded random source (so a failing kill point can be
 * replayed), the open file descriptors of a process (leak checks), and child processes run in a
 * private mount namespace with a tiny tmpfs mounted where the test says (a full /dev/shm or a full
 * disk, for real, without touching the machine's own mounts).
 */
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';

/** A seeded pseudo-random source (mulberry32): the same seed gives the same kill points. */
export class SeededRandom {
  #s: number;
  constructor(readonly seed: number) {
    this.#s = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max] (both included). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
}

/** The seed of the fault tests: QUIVER_FAULT_SEED replays a run; otherwise a fixed one. */
export function faultSeed(fallback = 20_260_101): number {
  const v = Number(process.env.QUIVER_FAULT_SEED);
  return Number.isInteger(v) ? v : fallback;
}

/**
 * The open file descriptors of a process (this one by default), as `fd -> target` (`socket:[123]`,
 * `/dev/shm/x`, `anon_inode:[eventfd]`...). Descriptors that close while being listed are left out.
 */
export function openFds(pid: number | 'self' = 'self'): Map<number, string> {
  const dir = `/proc/${pid}/fd`;
  const out = new Map<number, string>();
  for (const name of readdirSync(dir)) {
    try {
      out.set(Number(name), readlinkSync(`${dir}/${name}`));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** The descriptors open in `now` that were not in `before` (what leaked), as printable lines. */
export function fdsAdded(before: Map<number, string>, now: Map<number, string> = openFds()): string[] {
  const out: string[] = [];
  for (const [fd, target] of now) if (before.get(fd) !== target) out.push(`${fd} -> ${target}`);
  return out;
}

/**
 * Waits until no descriptor beyond `before` is open (closing is asynchronous in Node: a socket's
 * fd goes at its 'close' event), checking after each turn of the event loop and then every few
 * milliseconds. Resolves the leftovers: empty when nothing leaked, else what was still open when
 * `watchdogMs` ran out (a generous bound; the check is on the condition, not on the time).
 */
export async function fdsSettled(before: Map<number, string>, watchdogMs = 5000): Promise<string[]> {
  const deadline = Date.now() + watchdogMs;
  for (let i = 0; ; i++) {
    const added = fdsAdded(before);
    if (added.length === 0 || Date.now() > deadline) return added;
    await new Promise((r) => (i < 100 ? setImmediate(r) : setTimeout(r, 10)));
  }
}

/**
 * `p`, or a rejection saying that `what` did not happen within `ms` (a generous bound: it only
 * turns a hang into a failure with a name; the tests assert on the event, not on the time).
 */
export async function within<T>(p: Promise<T>, what: string, ms = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const dog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`watchdog: ${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, dog]);
  } finally {
    clearTimeout(timer);
  }
}

/** A tmpfs to mount, at `at`, of `bytes` (rounded up to pages by the kernel). */
export interface TmpfsMount {
  at: string;
  bytes: number;
}

let tmpfsProbe: string | null | undefined;

/**
 * Why children cannot get a private tmpfs here (null when they can): it takes `unshare --mount`
 * and `mount -t tmpfs`, i.e. root or CAP_SYS_ADMIN (true on the development machine, not on every
 * CI runner). The mount is private to the child: the machine's /dev/shm and disks are untouched.
 */
export function tmpfsUnavailable(): string | null {
  if (tmpfsProbe !== undefined) return tmpfsProbe;
  if (process.platform !== 'linux') return (tmpfsProbe = 'not Linux');
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /mnt'], { encoding: 'utf8' });
  tmpfsProbe = r.status === 0 ? null : `unshare --mount / mount -t tmpfs failed here (${(r.error?.message ?? r.stderr.trim()) || `exit ${r.status}`})`;
  return tmpfsProbe;
}

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `cmd args` in a private mount namespace in which each of `mounts` is a fresh tmpfs of its
 * size (e.g. `/dev/shm` of 1 MiB: a full /dev/shm for that child only). Resolves the child's exit
 * and output. Check {@link tmpfsUnavailable} first.
 */
export function runWithTmpfs(mounts: TmpfsMount[], cmd: string, args: string[], opts: SpawnOptions = {}): Promise<Ran> {
  // The mounts and the command go as positional parameters: nothing is interpolated into the script.
  const script = `${mounts.map((_, i) => `mount -t tmpfs -o size=\${${2 * i + 2}} tmpfs "\${${2 * i + 1}}" || exit 97`).join('\n')}\nshift ${2 * mounts.length}\nexec "$@"`;
  const params = [...mounts.flatMap((m) => [m.at, String(m.bytes)]), cmd, ...args];
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...params], { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
