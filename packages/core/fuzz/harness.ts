/**
 * The fuzzing harness: runs a target's cases in child processes (./child.ts) with a bounded heap
 * and a watchdog, so a crash, a hang or an over-allocation is a finding rather than the end of
 * the run; minimizes findings and saves them as regression files; replays those files.
 *
 * Verdicts, per case (see ./target.ts `runCase`):
 * - read, or failed with a QuiverError carrying an ERR_QUIVER_ code: fine;
 * - any other exception, or the child dying (not of its heap limit): a crash;
 * - no progress for `hangMs` (a synchronous loop, or an asynchronous one that never ends): a hang;
 * - external memory grown by more than `boundMiB` during the case, or the child dying of its heap
 *   limit: an over-allocation.
 * A hang or a death is reproduced from the seed and the index of the case (fast-check replays a
 * path), then minimized through a serving child.
 *
 * Used by ./run.ts (the command line) and by the fuzz tests of each package; target modules are
 * loaded by path, so core's harness runs other packages' targets without importing them.
 */
import fc from 'fast-check';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  encodeInput, loadTarget, signature, type CaseOutcome, type ChildConfig, type ChildLine, type ChildStats, type FindingKind,
} from './target.js';

export * from './target.js';
export { ipcInputs, applyMutation, mutationArb, seed, chunked, SPECIAL_INTS, type Seed, type Mutation, type InputOptions } from './mutate.js';

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

/** Core's own targets module (stream, file, Feather, framer, hello). */
export const CORE_TARGETS = fileURLToPath(new URL('./targets.js', import.meta.url));

/** The bounds a fuzzing child runs under: heap, hang watchdog, allocation ceiling. */
export interface LimitsOptions {
  /** Heap limit of the child (`--max-old-space-size`), in MiB. @default 256 */
  heapMb?: number;
  /** A child silent for this long is killed and its case is a hang, in ms. @default 10000 */
  hangMs?: number;
  /** External memory one case may add before it is an over-allocation, in MiB. @default 64 */
  boundMiB?: number;
}

/** A fuzzing campaign: targets, how many cases or how long, the seed, where findings go. */
export interface CampaignOptions extends LimitsOptions {
  /** Modules exporting `targets` (absolute paths). @default [CORE_TARGETS] */
  modules?: string[];
  target: string;
  /** Generated cases to run (stops at whichever of `cases` and `seconds` comes first). */
  cases?: number;
  seconds?: number;
  /** First fast-check seed; each further batch of cases takes the next. @default random */
  seed?: number;
  /** Time a child spends shrinking a crash, in ms. @default 10000 */
  shrinkMs?: number;
  /** Time spent minimizing a hang or a death, in ms (0: save it as found). @default 30000 */
  minimizeMs?: number;
  /** Where new findings are written (`<dir>/<hash>.bin`); null: nowhere. @default null */
  saveDir?: string | null;
  /** End the campaign at its first finding. @default false */
  stopOnFinding?: boolean;
  /** Called after each child with the figures so far. */
  onProgress?(r: CampaignResult): void;
}

/** A case that crashed, hung or over-allocated: its kind, signature, input, seed and index, and the file it was saved to. */
export interface Finding {
  kind: FindingKind;
  signature: string;
  /** What the case ended with (error name, code, message), when known. */
  outcome: CaseOutcome;
  /** The (minimized) input, encoded as the target stores it. */
  input: Uint8Array;
  /** Where it was saved, if it was. */
  file?: string;
  /** How it was found: the seed of its batch of cases, and its index there. */
  seed: number;
  index: number;
}

/** What a campaign ran and found, per target: cases, crashes, hangs, over-allocations. */
export interface CampaignResult {
  target: string;
  /** Generated cases run (shrinking attempts not counted). */
  cases: number;
  ok: number;
  codes: Record<string, number>;
  /** Cases that were findings, by kind (a bug found again counts again). */
  crashes: number;
  hangs: number;
  overAllocations: number;
  /** Distinct findings (by signature), minimized. */
  findings: Finding[];
  ms: number;
  /** Seeds of the batches of cases run (a child runs batches of 10,000 cases, a seed each). */
  seeds: number[];
}

/** Time a child may take to start (load its modules and seeds) on top of `hangMs`: not a hang. */
const STARTUP_MS = 30_000;

const defaults = (o: LimitsOptions) => ({ heapMb: o.heapMb ?? 256, hangMs: o.hangMs ?? 10_000, boundMiB: o.boundMiB ?? 64 });

function spawnChild(cfg: ChildConfig, heapMb: number): ChildProcessWithoutNullStreams {
  // --expose-gc: the memory probe collects before a case when earlier garbage would blur it.
  return spawn(process.execPath, [`--max-old-space-size=${heapMb}`, '--expose-gc', CHILD, JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** How a child that did not finish died: its heap limit is an over-allocation, the rest a crash. */
function deathOutcome(code: number | null, signal: NodeJS.Signals | null, stderr: string): CaseOutcome {
  const oom = /heap out of memory|Allocation failed|Reached heap limit|ERR_WORKER_OUT_OF_MEMORY/.test(stderr);
  return {
    kind: oom ? 'over-allocation' : 'crash',
    name: oom ? 'HeapLimit' : 'ProcessDied',
    message: `exited (${signal ?? `code ${code}`}): ${stderr.trim().slice(-600)}`,
  };
}

interface ChildRun {
  stats: ChildStats;
  /** Cases the child started (a `+` each). */
  started: number;
  /** Seeds of the batches it ran, in order. */
  seeds: number[];
  /** The finding, with the seed of its batch and its index there (what regenerates it). */
  finding?: { outcome: CaseOutcome; signature: string; input: Uint8Array; seed: number; index: number; needsRegeneration: boolean };
}

/** Runs one fuzzing child to its end (or its death, or a hang). */
function fuzzChild(cfg: ChildConfig, limits: ReturnType<typeof defaults>): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawnChild(cfg, limits.heapMb);
    child.stdin.end();
    const run: ChildRun = { stats: { cases: 0, ok: 0, codes: {} }, started: 0, seeds: [] };
    let inBatch = 0;
    let first: Extract<ChildLine, { first: unknown }>['first'] | undefined;
    let marker = '+';
    let stalled = false;
    let out = '';
    let err = '';
    const stall = () => {
      stalled = true;
      child.kill('SIGKILL');
    };
    let watchdog = setTimeout(stall, limits.hangMs + STARTUP_MS);
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-8000)));
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        clearTimeout(watchdog);
        watchdog = setTimeout(stall, limits.hangMs);
        if (line === '+') {
          run.started++;
          inBatch++;
          marker = '+';
          continue;
        }
        if (line === '-') {
          marker = '-';
          continue;
        }
        const msg = JSON.parse(line) as ChildLine;
        if ('stats' in msg) run.stats = msg.stats;
        else if ('batch' in msg) {
          run.seeds.push(msg.batch);
          inBatch = 0;
        } else if ('first' in msg) first = msg.first;
        else if ('finding' in msg) {
          const { input, signature: sig, shrinks: _, ...outcome } = msg.finding;
          run.finding = { outcome, signature: sig, input: new Uint8Array(Buffer.from(input, 'base64')), seed: run.seeds.at(-1)!, index: inBatch - 1, needsRegeneration: false };
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      if (run.finding || (code === 0 && !stalled)) return resolve(run);
      if (run.started === 0 && !first) return reject(new Error(`the fuzz child failed before its first case (${signal ?? code}): ${err.trim().slice(-2000)}`));
      // It hung or died. While generating, the case is the last one started: regenerate it from
      // the seed. While shrinking a crash, report that crash as it was first seen. Exit code 13
      // is Node's "unsettled top-level await": the case awaited something that can never happen.
      const outcome: CaseOutcome = stalled
        ? { kind: 'hang', message: `no progress for ${limits.hangMs} ms` }
        : code === 13
          ? { kind: 'hang', message: 'the event loop emptied while the case was still waiting (a deadlock)' }
          : deathOutcome(code, signal, err);
      run.stats.cases = Math.max(run.stats.cases, run.started);
      const at = { seed: run.seeds.at(-1)!, index: inBatch - 1 };
      if (marker === '-' && first) {
        const { input, signature: sig, ...o } = first;
        run.finding = { outcome: o, signature: sig, input: new Uint8Array(Buffer.from(input, 'base64')), ...at, needsRegeneration: false };
      } else {
        run.finding = { outcome, signature: signature(outcome), input: new Uint8Array(0), ...at, needsRegeneration: true };
      }
      resolve(run);
    });
  });
}

/** The input fast-check generated as case `index` of `seed` (what a fuzzing child ran). */
export async function regenerate(modules: string[], target: string, seed: number, index: number): Promise<unknown> {
  const t = await loadTarget(modules, target);
  const arb = await t.inputs();
  let got: unknown;
  fc.check(
    fc.property(arb, (v) => {
      got = v;
      return true;
    }),
    { seed, path: String(index), numRuns: 1 },
  );
  return got;
}

/**
 * Runs cases one at a time in a serving child, restarting it after a hang or a death. For
 * replaying regression files and minimizing hangs.
 */
export class CaseServer {
  private child: ChildProcessWithoutNullStreams | null = null;
  /** Resolves with the child once it said it is ready (its modules loaded). */
  private starting: Promise<ChildProcessWithoutNullStreams> | null = null;
  private readonly limits: ReturnType<typeof defaults>;

  constructor(
    private readonly modules: string[],
    private readonly target: string,
    limits: LimitsOptions = {},
  ) {
    this.limits = defaults(limits);
  }

  /** Runs one encoded input. */
  async run(input: Uint8Array): Promise<CaseOutcome> {
    const child = await this.start();
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      let done = false;
      const finish = (o: CaseOutcome | Error) => {
        if (done) return;
        done = true;
        clearTimeout(watchdog);
        child.stdout.off('data', onData);
        child.stderr.off('data', onErr);
        child.off('close', onClose);
        if (o instanceof Error) reject(o);
        else resolve(o);
      };
      const watchdog = setTimeout(() => {
        this.kill();
        finish({ kind: 'hang', message: `no answer in ${this.limits.hangMs} ms` });
      }, this.limits.hangMs);
      const onData = (s: string) => {
        out += s;
        const nl = out.indexOf('\n');
        if (nl < 0) return;
        const msg = JSON.parse(out.slice(0, nl)) as ChildLine;
        if ('outcome' in msg) finish(msg.outcome);
        else finish(new Error(`case server said ${out.slice(0, nl)}`));
      };
      const onErr = (s: string) => (err = (err + s).slice(-8000));
      const onClose = (code: number | null, signal: NodeJS.Signals | null) => {
        this.child = null;
        this.starting = null;
        finish(deathOutcome(code, signal, err));
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onErr);
      child.on('close', onClose);
      child.stdin.write(JSON.stringify({ input: Buffer.from(input).toString('base64') }) + '\n');
    });
  }

  /** The serving child, started (and waited for) if there is none. */
  private start(): Promise<ChildProcessWithoutNullStreams> {
    if (this.starting) return this.starting;
    const child = (this.child = spawnChild(
      { mode: 'serve', modules: this.modules, target: this.target, boundMiB: this.limits.boundMiB, shrinkMs: 0 },
      this.limits.heapMb,
    ));
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    return (this.starting = new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const done = (e?: Error) => {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stderr.off('data', onErr);
        child.off('close', onClose);
        if (e) {
          this.kill();
          reject(e);
        } else resolve(child);
      };
      const timer = setTimeout(() => done(new Error(`the case server did not start in ${STARTUP_MS} ms`)), STARTUP_MS);
      const onData = (s: string) => {
        out += s;
        if (out.includes('\n')) done(out.startsWith('{"ready"') ? undefined : new Error(`case server said ${out}`));
      };
      const onErr = (s: string) => (err = (err + s).slice(-8000));
      const onClose = (code: number | null) => done(new Error(`the case server exited (${code}) before it was ready: ${err.trim().slice(-2000)}`));
      child.stdout.on('data', onData);
      child.stderr.on('data', onErr);
      child.on('close', onClose);
    }));
  }

  private kill(): void {
    this.child?.kill('SIGKILL');
    this.child = null;
    this.starting = null;
  }

  close(): void {
    this.child?.stdin.end();
    this.kill();
  }
}

/**
 * Shrinks a hang or a death found at case `index` of `seed`: fast-check replays that case and
 * shrinks it, each candidate run in a serving child; a candidate counts when it ends the same way.
 */
async function minimize(opts: CampaignOptions, modules: string[], f: { kind: FindingKind; seed: number; index: number }, ms: number): Promise<Uint8Array | null> {
  const t = await loadTarget(modules, opts.target);
  const arb = await t.inputs();
  const server = new CaseServer(modules, opts.target, opts);
  try {
    const details = await fc.check(
      fc.asyncProperty(arb, async (v) => (await server.run(encodeInput(t, v))).kind !== f.kind),
      { seed: f.seed, path: String(f.index), numRuns: 1, plugins: [fc.interruptAfterTimeLimit(ms)] },
    );
    return details.failed && details.counterexample ? encodeInput(t, (details.counterexample as unknown[])[0]) : null;
  } finally {
    server.close();
  }
}

/** Saves an input as `<dir>/<first 16 hex of its SHA-256>.bin`; returns the path. */
export function saveRegression(dir: string, input: Uint8Array): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${createHash('sha256').update(input).digest('hex').slice(0, 16)}.bin`);
  writeFileSync(file, input);
  return file;
}

/** Fuzzes one target for `cases` cases and/or `seconds`; see the file comment. */
export async function runCampaign(opts: CampaignOptions): Promise<CampaignResult> {
  const modules = opts.modules ?? [CORE_TARGETS];
  const limits = defaults(opts);
  if (opts.cases === undefined && opts.seconds === undefined) throw new Error('runCampaign: give cases or seconds');
  const start = Date.now();
  const deadline = opts.seconds === undefined ? Infinity : start + opts.seconds * 1000;
  const r: CampaignResult = { target: opts.target, cases: 0, ok: 0, codes: {}, crashes: 0, hangs: 0, overAllocations: 0, findings: [], ms: 0, seeds: [] };
  let seed = opts.seed ?? Math.floor(Math.random() * 0x7fffffff);
  const seen = new Set<string>();
  while (r.cases < (opts.cases ?? Infinity) && Date.now() < deadline) {
    const cfg: ChildConfig = { mode: 'fuzz', modules, target: opts.target, seed, boundMiB: limits.boundMiB, shrinkMs: opts.shrinkMs ?? 10_000 };
    if (opts.cases !== undefined) cfg.cases = opts.cases - r.cases;
    if (deadline !== Infinity) cfg.ms = Math.max(1, deadline - Date.now());
    const run = await fuzzChild(cfg, limits);
    r.seeds.push(...run.seeds);
    r.cases += run.stats.cases;
    r.ok += run.stats.ok;
    for (const [code, n] of Object.entries(run.stats.codes)) r.codes[code] = (r.codes[code] ?? 0) + n;
    const f = run.finding;
    if (f) {
      const kind = f.outcome.kind as FindingKind;
      if (kind === 'crash') r.crashes++;
      else if (kind === 'hang') r.hangs++;
      else r.overAllocations++;
      if (!seen.has(f.signature)) {
        seen.add(f.signature);
        let input = f.input;
        if (f.needsRegeneration) {
          const t = await loadTarget(modules, opts.target);
          input = encodeInput(t, await regenerate(modules, opts.target, f.seed, f.index));
          const budget = opts.minimizeMs ?? 30_000;
          if (budget > 0) input = (await minimize(opts, modules, { kind, seed: f.seed, index: f.index }, budget)) ?? input;
        }
        const finding: Finding = { kind, signature: f.signature, outcome: f.outcome, input, seed: f.seed, index: f.index };
        if (opts.saveDir) finding.file = saveRegression(opts.saveDir, input);
        r.findings.push(finding);
      }
    }
    seed = ((run.seeds.at(-1) ?? seed) + 1) % 0x7fffffff;
    r.ms = Date.now() - start;
    opts.onProgress?.(r);
    if (f && opts.stopOnFinding) break;
    // A child that neither ran a case nor found anything would loop forever.
    if (run.stats.cases === 0 && !f) break;
  }
  r.ms = Date.now() - start;
  return r;
}

/** The regression files of a target (sorted), or none when its directory does not exist. */
export function regressionFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((f) => join(dir, f));
}

/** Replays every regression file of a target; one outcome per file, in order. */
export async function replayRegressions(modules: string[], target: string, limits: LimitsOptions = {}): Promise<Array<{ file: string; outcome: CaseOutcome }>> {
  const t = await loadTarget(modules, target);
  const server = new CaseServer(modules, target, limits);
  try {
    const out: Array<{ file: string; outcome: CaseOutcome }> = [];
    for (const file of regressionFiles(t.regressions)) out.push({ file, outcome: await server.run(new Uint8Array(readFileSync(file))) });
    return out;
  } finally {
    server.close();
  }
}
