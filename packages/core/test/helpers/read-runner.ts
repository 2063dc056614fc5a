/**
 * Child-process entry for the bad-input tests (started by ./reads.ts `runReads`): reads Arrow
 * bytes the way a user would and prints one JSON line per job saying how it ended. It runs under
 * a bounded heap, so a crash, a hang or a runaway allocation ends this process and shows as a
 * test failure instead of taking the ava worker down.
 *
 *   node read-runner.js <jobs.json> [skip]
 *
 * jobs.json is a JobFile; each output line a JobResult. Lines are written synchronously (stdout
 * is a pipe, synchronous on Linux) before the next job starts, so a job that kills the process
 * is exactly the first one without a line; the parent restarts with `skip` past it.
 */
import { readFileSync } from 'node:fs';
import { QuiverError } from '../../src/index.js';
import { jobCount, mutate, mutationOf, readAll, type JobFile, type JobResult } from './reads.js';

const jobs = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as JobFile;
const skip = Number(process.argv[3] ?? 0);
const cache = new Map<string, Uint8Array>();
let i = 0;
for (const g of jobs.groups) {
  let bytes = cache.get(g.path);
  if (!bytes) cache.set(g.path, (bytes = new Uint8Array(readFileSync(g.path))));
  const n = jobCount(g);
  if (i + n <= skip) {
    i += n;
    continue;
  }
  for (let k = 0; k < n; k++) {
    if (i < skip) {
      i++;
      continue;
    }
    const r: JobResult = { i: i++, ok: false, batches: 0 };
    try {
      r.batches = await readAll(mutate(bytes, mutationOf(g, k)), g.mode);
      r.ok = true;
    } catch (e) {
      const err = e as { code?: unknown; detected?: unknown; message?: unknown; constructor?: { name?: string } } | null;
      r.name = err?.constructor?.name ?? typeof e;
      if (typeof err?.code === 'string') r.code = err.code;
      r.quiver = e instanceof QuiverError;
      r.message = String(err?.message ?? e).slice(0, 300);
      if (typeof err?.detected === 'string') r.detected = err.detected;
    }
    process.stdout.write(JSON.stringify(r) + '\n');
  }
}
