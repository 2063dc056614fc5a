/**
 * Runs the benches one after the other, each in its own process with `--json` into a temporary
 * directory, then hands what they wrote to the report. One at a time on purpose: two benches at
 * once would measure each other. While a bench runs, a terminal gets a live line (which bench,
 * its stage and cell, elapsed time) fed by the bench's progress lines (core's bench harness
 * progress()); anything else (a pipe, CI) gets one plain line per bench when it ends.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ProgressBar } from '@quiver/cli';
import { PROGRESS_ENV, PROGRESS_PREFIX, type BenchProgress } from '@quiver/core/bench/harness';
import { load, machine, versions } from './machine.js';
import { writeReport } from './report.js';
import type { BenchName, BenchRun, Collected } from './results.js';

/** One bench: a compiled script run with Node, plus its arguments (`--json PATH` is added). */
export interface BenchSpec {
  name: BenchName;
  /** Path of the script, relative to the repository root (or absolute). */
  script: string;
  args: string[];
}

/** The repository's benches, in the order they run (the quickest first, so a broken build shows at once). */
export function defaultBenches(quick: boolean): BenchSpec[] {
  const q = quick ? ['--quick'] : [];
  return [
    { name: 'codec', script: 'packages/core/dist/bench/codec.js', args: q },
    { name: 'socket', script: 'packages/transport-socket/dist/bench/socket.js', args: q },
    { name: 'shm', script: 'packages/transport-shm/dist/bench/shm.js', args: q },
  ];
}

/** Where progress goes: a terminal (or a test's stand-in) or a plain stream. */
export interface ProgressOut {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface RunOptions {
  /** The repository root: scripts are relative to it; git and the installed versions are read there. */
  root: string;
  /** The report's directory. */
  out: string;
  benches: BenchSpec[];
  /** Stamped on the report (the benches' own arguments say what ran). @default false */
  quick?: boolean;
  /** The Python interpreter the benches use (pyarrow's version is read from it). @default none */
  python?: string | null;
  /** @default process.stderr */
  progress?: ProgressOut;
  /** Draw a live line (a terminal) rather than one line per bench. @default progress.isTTY */
  live?: boolean;
}

export interface RunResult {
  collected: Collected;
  /** The report's files. */
  files: string[];
}

const elapsed = (ms: number): string => {
  const s = Math.floor(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

/** Runs one bench to completion; never rejects (a failure is in the result). */
function runOne(root: string, spec: BenchSpec, json: string, python: string | null, onProgress: (p: BenchProgress) => void): Promise<BenchRun> {
  const started = performance.now();
  const command = ['node', spec.script, ...spec.args].join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, [PROGRESS_ENV]: '1' };
  if (python && !env['QUIVER_PYTHON']) env['QUIVER_PYTHON'] = python;
  const child = spawn(process.execPath, [resolve(root, spec.script), ...spec.args, '--json', json], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  /** The last lines of its log (progress lines aside), kept to say why it failed. */
  const tail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line.startsWith(PROGRESS_PREFIX)) {
      try {
        onProgress(JSON.parse(line.slice(PROGRESS_PREFIX.length)) as BenchProgress);
      } catch {
        // a torn line: the next one will do
      }
      return;
    }
    tail.push(line);
    if (tail.length > 20) tail.shift();
  });
  return new Promise((resolve) => {
    const finish = (ok: boolean, why: string) => {
      const run: BenchRun = { name: spec.name, command, ok, seconds: Number(((performance.now() - started) / 1000).toFixed(1)) };
      // First line: how it ended and its last words; then the rest of its log's tail.
      if (!ok) run.error = [`${why}${tail.length > 0 ? `: ${tail[tail.length - 1]}` : ''}`, ...tail.slice(0, -1)].join('\n');
      resolve(run);
    };
    child.on('error', (e) => finish(false, e.message));
    child.on('close', (code, signal) => finish(code === 0, code === 0 ? '' : `exited with ${signal ?? `code ${code}`}`));
  });
}

/** The live line of one bench on a terminal, or nothing until its plain end line. */
function display(out: ProgressOut, live: boolean, label: string): { progress(p: BenchProgress): void; end(run: BenchRun): void } {
  const started = performance.now();
  const summary = (run: BenchRun) => (run.ok ? `${label}: ok in ${run.seconds} s` : `${label}: FAILED after ${run.seconds} s, ${run.error?.split('\n')[0] ?? ''}`);
  if (!live) return { progress: () => {}, end: (run) => out.write(`${summary(run)}\n`) };
  const columns = out.columns ?? 80;
  // No rate limit: news comes a few times a second at most (one per run of a cell), and each is worth showing.
  const bar = new ProgressBar({ stream: out, label, columns, delayMs: 0, intervalMs: 0, total: 1 });
  // The text is cut or padded to one width, so the bar (what is left of the line, 40 at most)
  // keeps its size while the cell names change length.
  const room = Math.max(10, columns - 1 - label.length - 1 - 4 - 5 - 24);
  const fit = (s: string) => (s.length > room ? `${s.slice(0, room - 1)}…` : s.padEnd(room));
  let last: BenchProgress = { done: 0, total: 1, stage: 'starting' };
  const draw = () => bar.updateText(last.done, fit([elapsed(performance.now() - started), last.stage, last.cell].filter(Boolean).join(' · ')), last.total);
  draw();
  // Redraw each second even without news: one round of the socket bench takes half a minute.
  const timer = setInterval(draw, 1000);
  return {
    progress: (p) => {
      last = p;
      draw();
    },
    end: (run) => {
      clearInterval(timer);
      bar.finish(`${run.ok ? '✔' : '✖'} ${summary(run)}`);
    },
  };
}

/** Runs every bench of `opts.benches`, then writes the report; resolves once it is written. */
export async function runAll(opts: RunOptions): Promise<RunResult> {
  const out = opts.progress ?? process.stderr;
  const live = opts.live ?? out.isTTY === true;
  const python = opts.python ?? null;
  const started = performance.now();
  const date = new Date().toISOString();
  const m = machine();
  const v = versions(opts.root, python);
  const dir = mkdtempSync(join(tmpdir(), 'quiver-bench-'));
  const collected: Collected = { date, quick: opts.quick ?? false, seconds: 0, machine: m, versions: v, runs: [] };
  try {
    for (const [i, spec] of opts.benches.entries()) {
      const json = join(dir, `${spec.name}.json`);
      const d = display(out, live, `[${i + 1}/${opts.benches.length}] ${spec.name}`);
      const run = await runOne(opts.root, spec, json, python, (p) => d.progress(p));
      if (run.ok) {
        try {
          (collected as unknown as Record<string, unknown>)[spec.name] = JSON.parse(readFileSync(json, 'utf8'));
        } catch (e) {
          run.ok = false;
          run.error = `no readable --json output: ${(e as Error).message}`;
        }
      }
      d.end(run);
      collected.runs.push(run);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  m.loadEnd = load();
  collected.seconds = Number(((performance.now() - started) / 1000).toFixed(1));
  return { collected, files: writeReport(opts.out, collected) };
}
