/**
 * `npm run bench`: every benchmark of the repository in one run, then the report in docs/bench
 * (RESULTS.md, results.json, SVG charts). Exits 1 if a bench failed (the report is still written,
 * with what ran).
 *
 *   node packages/bench/dist/src/main.js [--quick] [--out DIR] [--only codec,socket,shm]
 *   node packages/bench/dist/src/main.js --render docs/bench/results.json [--out DIR]
 *
 *   --quick    each bench's smoke run (about two minutes in all): checks that everything runs,
 *              too short to quote.
 *   --out      the report's directory. @default docs/bench (in the repository)
 *   --only     a comma-separated subset of the benches.
 *   --render   no benches: renders the report again from a results.json (after a change to the
 *              report's code, say).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { python, repoRoot } from '@quiver/testkit';
import { targets } from './markdown.js';
import { writeReport } from './report.js';
import type { BenchName, Collected } from './results.js';
import { defaultBenches, runAll } from './run.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    only: { type: 'string' },
    render: { type: 'string' },
  },
});
const root = repoRoot();
const out = values.out ? resolve(values.out) : join(root, 'docs', 'bench');
const shown = (p: string) => relative(process.cwd(), p) || '.';

let collected: Collected;
let files: string[];
if (values.render) {
  collected = JSON.parse(readFileSync(values.render, 'utf8')) as Collected;
  files = writeReport(out, collected);
} else {
  let benches = defaultBenches(values.quick!);
  if (values.only) {
    const only = values.only.split(',') as BenchName[];
    const unknown = only.filter((n) => !benches.some((b) => b.name === n));
    if (unknown.length > 0) {
      process.stderr.write(`bench: unknown bench ${unknown.join(', ')} (known: ${benches.map((b) => b.name).join(', ')})\n`);
      process.exit(2);
    }
    benches = benches.filter((b) => only.includes(b.name));
  }
  let py: string | null = null;
  try {
    py = python();
  } catch {
    // No interpreter: the socket bench reports pyarrow as skipped, and so does the stamp.
  }
  const missing = benches.filter((b) => !existsSync(join(root, b.script)));
  if (missing.length > 0) {
    process.stderr.write(`bench: ${missing.map((b) => b.script).join(', ')} not built: run \`npm run build\` (or \`npm run bench\`, which builds first)\n`);
    process.exit(2);
  }
  process.stderr.write(`Quiver benchmarks: ${benches.map((b) => b.name).join(', ')}${values.quick ? ' (--quick: a smoke run)' : ''}, report in ${shown(out)}\n`);
  ({ collected, files } = await runAll({ root, out, benches, quick: values.quick!, python: py }));
}
const t = targets(collected);
process.stdout.write(`${t.filter((x) => x.met).length} of ${t.length} targets met. Wrote ${files.map(shown).join(', ')}\n`);
process.exitCode = collected.runs.every((r) => r.ok) ? 0 : 1;
