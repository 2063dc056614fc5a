/**
 * The README's demo (`npm run demo`): a short guided tour of every scenario on this machine, run
 * by the examples themselves: the file formats (stream, random-access file, memory map, Feather),
 * a plain pyarrow producer streaming into Node over a Unix socket, a worker-to-worker handoff
 * through SharedArrayBuffer rings, and publish/subscribe to several processes over shm:// and
 * over a Unix socket. Live progress on stderr while it runs; then a table of what moved where,
 * how fast, and whether each example's checks held. Exits non-zero if any check failed.
 *
 *   node examples/dist/src/demo.js
 */
import { shmAvailability } from '@quiver/transport-shm';
import { mb, type ExampleOptions, type Figure } from './example.js';
import { fileFormats } from './file-formats.js';
import { firstLine, Progress } from './progress.js';
import { pubsub } from './pubsub.js';
import { pythonToNode } from './python-to-node.js';
import { workerHandoff } from './worker-handoff.js';

interface Step {
  title: string;
  /** Names the row of a step that failed before it could return figures. */
  scenario: string;
  transport: string;
  run(opts: ExampleOptions): Promise<Figure[]>;
}

const steps: Step[] = [
  { title: 'file formats: stream, file, memory map, Feather', scenario: 'file formats', transport: 'file', run: fileFormats },
  { title: 'Python to Node over a Unix socket', scenario: 'python -> node', transport: 'unix://', run: pythonToNode },
  { title: 'worker-to-worker handoff through SharedArrayBuffer rings', scenario: 'worker handoff', transport: 'worker:', run: workerHandoff },
  {
    title: 'pub/sub over shm:// (3 subscriber processes, 2 topics)',
    scenario: 'pub/sub',
    transport: 'shm://',
    run: async (o) => {
      const shm = shmAvailability();
      if (!shm.available) return [{ scenario: 'pub/sub', transport: 'shm://', what: '', batches: 0, bytes: 0, ms: 0, checks: 0, skipped: shm.reason }];
      return pubsub({ ...o, transport: 'shm' });
    },
  },
  { title: 'pub/sub over unix:// (4 subscriber processes, one plain pyarrow)', scenario: 'pub/sub', transport: 'unix://', run: (o) => pubsub({ ...o, transport: 'unix' }) },
];

const progress = new Progress(steps.length);
console.error(`Quiver demo (node ${process.version}, ${steps.length} steps)`);
const rows: string[][] = [];
const failures: string[] = [];
let checks = 0;
for (const step of steps) {
  const outcome = await progress.step(step.title, (log) => step.run({ log }));
  if (!outcome.ok) {
    failures.push(`${step.title}: ${outcome.error instanceof Error ? (outcome.error.stack ?? outcome.error.message) : String(outcome.error)}`);
    rows.push([step.scenario, step.transport, '', '', '', '', '', '', 'FAILED', firstLine(outcome.error)]);
    continue;
  }
  for (const f of outcome.value) {
    checks += f.checks;
    if (f.skipped) {
      rows.push([f.scenario, f.transport, f.what, '', '', '', '', '', 'skipped', f.skipped]);
      continue;
    }
    const per = (n: number) => (f.ms > 0 ? ((n * 1000) / f.ms).toFixed(0) : '-');
    rows.push([f.scenario, f.transport, f.what, String(f.batches), mb(f.bytes), f.ms.toFixed(1), per(f.bytes / 1e6), per(f.batches), `ok (${f.checks})`, f.note ?? '']);
  }
}

const header = ['scenario', 'transport', 'what', 'batches', 'MB', 'ms', 'MB/s', 'batches/s', 'checks', 'note'];
const right = new Set([3, 4, 5, 6, 7]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) =>
  cells
    .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
    .join('  ')
    .trimEnd();
console.log('');
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));
console.log('');
if (failures.length) {
  console.log(`${failures.length} of ${steps.length} steps FAILED (details on stderr)`);
  for (const f of failures) console.error(`\n${f}`);
  process.exitCode = 1;
} else {
  console.log(`every check held (${checks}). MB counts column data; each example is also runnable alone (examples/README.md).`);
}
