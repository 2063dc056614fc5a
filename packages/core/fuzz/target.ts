/**
 * What a fuzz target is, how one case ends, and running one case in this process. Shared by the
 * child that runs the cases (./child.ts) and the parent that watches it (./harness.ts).
 */
import type fc from 'fast-check';
import { pathToFileURL } from 'node:url';
import { QuiverError } from '../src/errors.js';

/** Records the peak of `process.memoryUsage().external` (ArrayBuffers included) during a case. */
export interface Probe {
  /** Call while reading (each chunk pulled, each block read): a transient allocation shows. */
  sample(): void;
}

/**
 * One reader to fuzz. `run` reads an input the way a user would and resolves, or throws what
 * the reader threw; the harness judges the outcome. Inputs are `Uint8Array`s unless the target
 * says how to store its inputs as bytes (`encode`/`decode`), for the regression files.
 */
export interface FuzzTarget<I = Uint8Array> {
  readonly name: string;
  /** One line on what it reads and how. */
  readonly description: string;
  /** Directory of this target's regression inputs: `<hash>.bin`, replayed by the tests. */
  readonly regressions: string;
  /** The inputs: mutated seeds and random bytes (called once per process; may load files). */
  inputs(): fc.Arbitrary<I> | Promise<fc.Arbitrary<I>>;
  run(input: I, probe: Probe): Promise<void>;
  encode?(input: I): Uint8Array;
  decode?(bytes: Uint8Array): I;
}

/** What a module of targets exports (a path to such a module is what the harness loads). */
export interface TargetModule {
  targets: FuzzTarget<never>[];
}

/** The findings: anything but a read or a coded QuiverError. */
export type FindingKind = 'crash' | 'hang' | 'over-allocation';

/** How one case ended. */
export interface CaseOutcome {
  /** `ok`: read; `coded`: a QuiverError with an ERR_QUIVER_ code; else a finding. */
  kind: 'ok' | 'coded' | FindingKind;
  /** The error's class name, code and message, when it threw. */
  name?: string;
  code?: string;
  message?: string;
  /** Growth of external memory during the case, in MiB (peak over the start). */
  peakMiB?: number;
}

/** A target's input as bytes (identity for byte targets). */
export function encodeInput<I>(t: FuzzTarget<I>, input: I): Uint8Array {
  if (t.encode) return t.encode(input);
  if (!(input instanceof Uint8Array)) throw new Error(`target ${t.name} has non-byte inputs but no encode()`);
  return input;
}

/** A target's input from its serialized bytes (as saved in a regression file). */
export function decodeInput<I>(t: FuzzTarget<I>, bytes: Uint8Array): I {
  return t.decode ? t.decode(bytes) : (bytes as I);
}

/** Thrown by a target whose own check failed (two ways of reading disagreed): a crash finding. */
export class FuzzMismatch extends Error {
  override name = 'FuzzMismatch';
}

const MiB = 2 ** 20;
const gc = (globalThis as { gc?: () => void }).gc;
let floor: number | undefined;

class PeakProbe implements Probe {
  readonly base: number;
  peak: number;
  constructor() {
    let now = process.memoryUsage().external;
    floor ??= now;
    // Garbage of earlier cases that a collection during this one would free would hide what this
    // one allocates: start from a collected heap when much is outstanding (rarely: inputs are small).
    if (gc && now > floor + 16 * MiB) {
      gc();
      now = process.memoryUsage().external;
    }
    this.base = this.peak = now;
  }
  sample(): void {
    const now = process.memoryUsage().external;
    if (now > this.peak) this.peak = now;
  }
}

/** A QuiverError carrying an ERR_QUIVER_ code: the one acceptable way to fail. */
export function isCoded(e: unknown): e is QuiverError {
  return e instanceof QuiverError && typeof e.code === 'string' && e.code.startsWith('ERR_QUIVER_');
}

/**
 * Runs one case and classifies it. Over `boundMiB` of external memory growth is an
 * over-allocation whatever the read did (inputs are kilobytes; a reader that allocates what a
 * length field claims shows here before it fails).
 */
export async function runCase<I>(t: FuzzTarget<I>, input: I, boundMiB: number): Promise<CaseOutcome> {
  const probe = new PeakProbe();
  let out: CaseOutcome;
  try {
    await t.run(input, probe);
    out = { kind: 'ok' };
  } catch (e) {
    const err = e as { name?: unknown; code?: unknown; message?: unknown } | null;
    out = {
      kind: isCoded(e) ? 'coded' : 'crash',
      name: typeof err?.name === 'string' ? err.name : typeof e,
      message: String(err?.message ?? e).slice(0, 500),
    };
    if (typeof err?.code === 'string') out.code = err.code;
  }
  probe.sample();
  out.peakMiB = Math.round(((probe.peak - probe.base) / MiB) * 10) / 10;
  if (out.peakMiB > boundMiB) out = { ...out, kind: 'over-allocation' };
  return out;
}

/**
 * What makes two findings the same bug: the kind and the error, numbers blanked out (offsets and
 * lengths differ from input to input).
 */
export function signature(o: CaseOutcome): string {
  if (o.kind === 'hang') return 'hang';
  const what = `${o.name ?? ''}${o.code ? ` ${o.code}` : ''}: ${o.message ?? ''}`.replace(/\d+/g, '#').replace(/'[^']*'/g, "'…'");
  return `${o.kind} ${what.slice(0, 200)}`;
}

// ---- the protocol between ./harness.ts and ./child.ts ----------------------------------------

/** What the bounded fuzzing child is told: fuzz or serve, target modules, seeds, cases or time, bounds (see child.ts). */
export interface ChildConfig {
  mode: 'fuzz' | 'serve';
  /** Modules exporting `targets`, as absolute paths. */
  modules: string[];
  target: string;
  /** The first batch's seed; each further batch takes the next. */
  seed?: number;
  /** Generated cases to run at most. */
  cases?: number;
  /** Time to run at most, in ms. */
  ms?: number;
  /** External memory one case may add, in MiB. */
  boundMiB: number;
  /** Time spent minimizing a crash, in ms. */
  shrinkMs: number;
}

/** Tallies of the generated cases. */
export interface ChildStats {
  cases: number;
  ok: number;
  /** Coded failures by code. */
  codes: Record<string, number>;
}

/** Lines this process writes (besides the `+` and `-` markers). */
export type ChildLine =
  | { stats: ChildStats }
  | { first: CaseOutcome & { signature: string; input: string } }
  | { finding: CaseOutcome & { signature: string; input: string; shrinks: number } }
  | { outcome: CaseOutcome }
  | { ready: true }
  /** A run of cases from this seed begins (case indices count from 0 again). */
  | { batch: number };

/** Loads `name` from the first of `modules` that has it. */
export async function loadTarget(modules: string[], name: string): Promise<FuzzTarget<unknown>> {
  const known: string[] = [];
  for (const m of modules) {
    const mod = (await import(pathToFileURL(m).href)) as TargetModule;
    for (const t of mod.targets) {
      if (t.name === name) return t as FuzzTarget<unknown>;
      known.push(t.name);
    }
  }
  throw new Error(`no fuzz target '${name}' (known: ${known.join(', ')})`);
}

