/**
 * Reading untrusted bytes in a child process with a bounded heap and a watchdog (see
 * ./read-runner.ts), so the bad-input tests can assert "every input ends with a coded error"
 * even for inputs that would crash, hang or exhaust memory.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convert, FileReader, StreamReader, type ByteSink } from '../../src/index.js';

/** How to read the bytes: StreamReader, FileReader (every batch), or message-level convert. */
export type ReadMode = 'stream' | 'file' | 'convert';

/** A change applied to the bytes before reading: keep the first `cut` bytes, or XOR one byte. */
export type Mutation = { cut: number } | { at: number; xor: number };

/**
 * One input read in one mode: as it is, cut at each of `cuts`, or with each of `flips.xors` applied
 * at each of `flips.positions` (position-major). Kept compact: a child may run 100k jobs.
 */
export interface JobGroup {
  path: string;
  mode: ReadMode;
  cuts?: number[];
  flips?: { positions: number[]; xors: number[] };
}

/** How many jobs a group stands for. */
export function jobCount(g: JobGroup): number {
  if (g.cuts) return g.cuts.length;
  if (g.flips) return g.flips.positions.length * g.flips.xors.length;
  return 1;
}

/** The mutation of job `k` of a group (undefined: the bytes as they are). */
export function mutationOf(g: JobGroup, k: number): Mutation | undefined {
  if (g.cuts) return { cut: g.cuts[k]! };
  if (g.flips) {
    const n = g.flips.xors.length;
    return { at: g.flips.positions[Math.floor(k / n)]!, xor: g.flips.xors[k % n]! };
  }
  return undefined;
}

export interface JobFile {
  groups: JobGroup[];
}

/** How one job ended. */
export interface JobResult {
  /** Index of the job, counting the jobs of all groups in order. */
  i: number;
  ok: boolean;
  /** Record batches read (or converted) before the end. */
  batches: number;
  /** For a failure: the error's class name, `code`, whether it is a QuiverError, its message. */
  name?: string;
  code?: string;
  quiver?: boolean;
  message?: string;
  /** FormatMismatchError's `detected`. */
  detected?: string;
  /** Set when the child died or hung on this job: how it ended and the tail of its stderr. */
  crashed?: string;
}

const nullSink: ByteSink = { write() {}, async close() {} };

/** Reads `bytes` to the end in `mode`; resolves with the number of record batches. */
export async function readAll(bytes: Uint8Array, mode: ReadMode): Promise<number> {
  let n = 0;
  switch (mode) {
    case 'stream': {
      const r = await StreamReader.open(bytes);
      for await (const _ of r) n++;
      return n;
    }
    case 'file': {
      const r = await FileReader.open(bytes);
      try {
        for await (const _ of r) n++;
      } finally {
        await r.close();
      }
      return n;
    }
    case 'convert':
      return (await convert(bytes, nullSink, { format: 'stream', compression: 'none' })).recordBatches;
  }
}

export function mutate(bytes: Uint8Array, m: Mutation | undefined): Uint8Array {
  if (m === undefined) return bytes;
  if ('cut' in m) return bytes.slice(0, m.cut);
  const out = bytes.slice();
  out[m.at]! ^= m.xor;
  return out;
}

export interface RunOptions {
  /** Heap limit of the child. @default 256 */
  heapMb?: number;
  /** A child silent (no finished job) for this long is killed and its current job blamed. @default 60000 */
  stallMs?: number;
}

const runner = fileURLToPath(new URL('./read-runner.js', import.meta.url));

/** Runs every job in child processes; one result per job, in order. */
export async function runReads(jobs: JobFile, opts: RunOptions = {}): Promise<JobResult[]> {
  const total = jobs.groups.reduce((n, g) => n + jobCount(g), 0);
  const dir = mkdtempSync(join(tmpdir(), 'quiver-reads-'));
  const file = join(dir, 'jobs.json');
  writeFileSync(file, JSON.stringify(jobs));
  const results: JobResult[] = [];
  try {
    while (results.length < total) {
      const skip = results.length;
      const end = await runChild(file, skip, opts, (r) => {
        if (r.i !== results.length) throw new Error(`read-runner answered job ${r.i}, expected ${results.length}`);
        results.push(r);
      });
      // The child stopped early: blame the job it was on, then carry on after it.
      if (results.length < total) results.push({ i: results.length, ok: false, batches: 0, crashed: end });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

/** One child run from job `skip`; resolves with how it ended. */
async function runChild(file: string, skip: number, opts: RunOptions, onResult: (r: JobResult) => void): Promise<string> {
  const end = await runNode(runner, [file, String(skip)], opts, (line) => onResult(JSON.parse(line) as JobResult));
  return end.stalled ? `no progress for ${opts.stallMs ?? 60_000} ms (hang?)` : `exited (${end.signal ?? `code ${end.code}`}): ${end.stderr.trim().slice(-1500)}`;
}

export interface NodeRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Killed by the watchdog: no output line for `stallMs`. */
  stalled: boolean;
  /** The tail of its stderr. */
  stderr: string;
}

/**
 * Runs `node --max-old-space-size=<heapMb> [nodeArgs] script args`, handing each stdout line to
 * `onLine`. A watchdog kills the child when no line arrives for `stallMs` (a hang detector, not a
 * time limit on the work: any progress resets it).
 */
export function runNode(script: string, args: string[], opts: RunOptions & { nodeArgs?: string[] }, onLine: (line: string) => void): Promise<NodeRun> {
  const heap = opts.heapMb ?? 256;
  const stallMs = opts.stallMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${heap}`, ...(opts.nodeArgs ?? []), script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let stalled = false;
    const stall = () => {
      stalled = true;
      child.kill('SIGKILL');
    };
    let watchdog = setTimeout(stall, stallMs);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => (err = (err + s).slice(-4000)));
    child.stdout.on('data', (s: string) => {
      out += s;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        clearTimeout(watchdog);
        watchdog = setTimeout(stall, stallMs);
        try {
          onLine(line);
        } catch (e) {
          child.kill('SIGKILL');
          reject(e);
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      resolve({ code, signal, stalled, stderr: err });
    });
  });
}

/** A compact description of a result for assertion messages. */
export function describe(r: JobResult | undefined): string {
  if (!r) return 'no result';
  if (r.crashed) return `CRASHED: ${r.crashed}`;
  if (r.ok) return `ok (${r.batches} batches)`;
  return `${r.name}${r.code ? ` ${r.code}` : ''}: ${r.message}`;
}
