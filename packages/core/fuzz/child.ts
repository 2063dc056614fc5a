/**
 * The process that runs fuzz cases, started by ./harness.ts under a bounded heap. It never
 * judges a hang or its own death: the parent does, from the lines this process writes.
 *
 *   node --max-old-space-size=<MiB> child.js '<ChildConfig JSON>'
 *
 * `fuzz` mode: fast-check generates cases in batches of 10,000, each from its own seed, announced
 * by a `batch` line. Before each generated case it writes a line `+` (so the parent knows which
 * case a hang or a crash of the process happened in, and regenerates it from the batch's seed
 * and its index there); before each shrinking attempt `-`. A case that
 * crashed or over-allocated is written at once (`first`), shrunk for at most `shrinkMs`, and
 * written again minimized (`finding`); the process then ends, and the parent starts another.
 * Every second, and at the end, a `stats` line with the tallies.
 *
 * `serve` mode: reads `{ "input": base64 }` lines on stdin, answers `{ "outcome": ... }` lines
 * (the parent replays regression files and minimizes hangs through it).
 */
import fc from 'fast-check';
import { writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { decodeInput, encodeInput, loadTarget, runCase, signature, type CaseOutcome, type ChildConfig, type ChildLine, type ChildStats, type FuzzTarget } from './target.js';

/** Writes synchronously (stdout is a pipe): a line is out before the next case can kill us. */
function emit(line: ChildLine | '+' | '-'): void {
  writeSync(1, (typeof line === 'string' ? line : JSON.stringify(line)) + '\n');
}

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/** Cases per fast-check run (each run from a seed of its own). */
const BATCH = 10_000;

const isFinding = (o: CaseOutcome) => o.kind === 'crash' || o.kind === 'over-allocation';

async function fuzz(cfg: ChildConfig, target: FuzzTarget<unknown>): Promise<void> {
  const arb = await target.inputs();
  const stats: ChildStats = { cases: 0, ok: 0, codes: {} };
  /** The smallest failure so far (fast-check keeps the last failing candidate as its counterexample). */
  const found: { failure: { outcome: CaseOutcome; signature: string; input: unknown } | null } = { failure: null };
  let shrinkUntil = 0;
  let lastStats = Date.now();
  const deadline = cfg.ms === undefined ? Infinity : Date.now() + cfg.ms;
  const property = fc.asyncProperty(arb, async (input) => {
    if (found.failure) {
      if (Date.now() > shrinkUntil) return true; // out of time: keep the smallest failure so far
      emit('-');
    } else {
      if (Date.now() > deadline) return true; // out of time: the rest of the batch is skipped
      emit('+');
      stats.cases++;
    }
    const o = await runCase(target, input, cfg.boundMiB);
    if (!found.failure) {
      if (o.kind === 'ok') stats.ok++;
      else if (o.kind === 'coded') stats.codes[o.code!] = (stats.codes[o.code!] ?? 0) + 1;
      if (Date.now() - lastStats > 1000) {
        lastStats = Date.now();
        emit({ stats });
      }
    }
    if (!isFinding(o)) return true;
    const sig = signature(o);
    if (!found.failure) {
      found.failure = { outcome: o, signature: sig, input };
      shrinkUntil = Date.now() + cfg.shrinkMs;
      emit({ first: { ...o, signature: sig, input: b64(encodeInput(target, input)) } });
      return false;
    }
    // Only a failure of the same kind and error is a smaller version of this one.
    if (sig !== found.failure.signature) return true;
    found.failure = { outcome: o, signature: sig, input };
    return false;
  });
  // Batches of cases, each from its own seed (announced, so the parent can regenerate a case from
  // the seed and its index in the batch). Not fast-check's interruptAfterTimeLimit: it keeps a few
  // hundred bytes per run, and a long run dies of it.
  let remaining = cfg.cases ?? Infinity;
  let seed = cfg.seed ?? Date.now() % 0x7fffffff;
  let shrinks = 0;
  while (remaining > 0 && Date.now() < deadline) {
    const before = stats.cases;
    emit({ batch: seed });
    const details = await fc.check(property, { seed, numRuns: Math.min(BATCH, remaining) });
    remaining -= stats.cases - before;
    shrinks = details.numShrinks;
    if (found.failure) break;
    seed = (seed + 1) % 0x7fffffff;
  }
  emit({ stats });
  const f = found.failure;
  if (f) emit({ finding: { ...f.outcome, signature: f.signature, input: b64(encodeInput(target, f.input)), shrinks } });
}

async function serve(cfg: ChildConfig, target: FuzzTarget<unknown>): Promise<void> {
  emit({ ready: true });
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line) continue;
    const { input } = JSON.parse(line) as { input: string };
    const bytes = new Uint8Array(Buffer.from(input, 'base64'));
    let o: CaseOutcome;
    try {
      o = await runCase(target, decodeInput(target, bytes), cfg.boundMiB);
    } catch (e) {
      // decode() refused the bytes: a regression file that is not an input of this target.
      o = { kind: 'crash', name: 'BadInputFile', message: String((e as Error)?.message ?? e) };
    }
    emit({ outcome: o });
  }
}

const cfg = JSON.parse(process.argv[2]!) as ChildConfig;
const target = await loadTarget(cfg.modules, cfg.target);
await (cfg.mode === 'fuzz' ? fuzz(cfg, target) : serve(cfg, target));
// Readers may leave timers or handles (a ring reader's wait); the work is done.
process.exit(0);
