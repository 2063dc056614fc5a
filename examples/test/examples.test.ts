// Every example runs as a real process, bounded in time, and must check its own output: each
// ends by printing "OK <name>" only after its own assertions (sums, counts) held.
import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { python } from '@quiver/testkit';

function run(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, limitMs = 120_000): Promise<{ code: number | null; out: string; err: string }> {
  const path = fileURLToPath(new URL(`../src/${script}`, import.meta.url));
  const child = spawn(process.execPath, [path, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  // A bound, not a timing assertion: a hung example is killed and fails with its output.
  const guard = setTimeout(() => child.kill('SIGKILL'), limitMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, out, err });
    }),
  );
}

test('file formats: stream, file, mmap and Feather check their own sums', async (t) => {
  const r = await run('file-formats.js');
  t.is(r.code, 0, r.out + r.err);
  t.regex(r.out, /^OK file-formats$/m);
  t.regex(r.out, /mmap: sum of all batches = 4999950000/);
});

test('python to node: a plain pyarrow script streams into a Node service that aggregates', async (t) => {
  const r = await run('python-to-node.js', [python()]);
  t.is(r.code, 0, r.out + r.err);
  t.regex(r.out, /^OK python-to-node$/m);
  t.regex(r.out, /stream ended: eos/);
});

test('worker handoff: a pool of workers reads batches in place from SharedArrayBuffer rings', async (t) => {
  const r = await run('worker-handoff.js');
  t.is(r.code, 0, r.out + r.err);
  t.regex(r.out, /^OK worker-handoff$/m);
  t.regex(r.out, /worker 2: 20 batches, zero-copy true/);
});

test('pub/sub over a unix socket: Node and plain pyarrow subscribers on two topics; a slow one drops, counted exactly', async (t) => {
  const r = await run('pubsub.js', ['unix', '--python', python()]);
  t.is(r.code, 0, r.out + r.err);
  t.regex(r.out, /^OK pubsub$/m);
  t.regex(r.out, /^4 subscribers joined over unix:\/\//m);
  // The plain pyarrow reader sent no hello and got the default topic, all of it.
  t.regex(r.out, /^pyarrow subscriber \d+ to 'default': 300 of 300 batches, 600000 rows, sum 44999925000; publisher: 300 batches sent, 0 dropped \(block\)$/m);
  t.regex(r.out, /^node subscriber \d+ to 'events': 100 of 100 batches/m);
  const slow = /^node, slow subscriber \d+ to 'default': (\d+) of 300 batches.*; publisher: (\d+) batches sent, (\d+) dropped \(drop-oldest\)$/m.exec(r.out);
  t.truthy(slow, r.out);
  t.is(Number(slow![1]) + Number(slow![3]), 300);
  t.is(slow![2], slow![1]);
  t.regex(r.out, /drops counted by the publisher = gaps in seq = \d+$/m);
});

test('pub/sub over shm://: one ring per topic, three subscriber processes; the slow one drops, counted exactly', async (t) => {
  const r = await run('pubsub.js', ['shm']);
  t.is(r.code, 0, r.out + r.err);
  t.regex(r.out, /^OK pubsub$/m);
  t.regex(r.out, /^node subscriber \d+ to 'default': 300 of 300 batches, 600000 rows, sum 44999925000; publisher: \d+ records read, 0 dropped \(block\)$/m);
  const slow = /^node, slow subscriber \d+ to 'default': (\d+) of 300 batches.*, (\d+) dropped \(drop-oldest\)$/m.exec(r.out);
  t.truthy(slow, r.out);
  t.is(Number(slow![1]) + Number(slow![2]), 300);
  t.regex(r.out, /its own drop count = \d+$/m);
});

/** The demo's table rows (stdout), by their first two cells. */
function tableRows(out: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^(\S+(?: -> \S+| handoff)?)\s+(file|mmap|unix:\/\/|shm:\/\/|worker:)\s+(.*)$/.exec(line);
    if (m) rows.set(`${m[1]} ${m[2]}`, (rows.has(`${m[1]} ${m[2]}`) ? `${rows.get(`${m[1]} ${m[2]}`)}\n` : '') + m[3]);
  }
  return rows;
}

test('the demo tours every scenario, one progress line per step, and ends with a table of checked figures', async (t) => {
  const r = await run('demo.js');
  t.is(r.code, 0, r.out + r.err);
  t.regex(r.out, /^scenario\s+transport\s+what\s+batches\s+MB\s+ms\s+MB\/s\s+batches\/s\s+checks\s+note$/m);
  const rows = tableRows(r.out);
  for (const key of ['stream file', 'file file', 'mmap mmap', 'feather file', 'python -> node unix://', 'worker handoff worker:', 'pub/sub shm://', 'pub/sub unix://']) {
    t.true(rows.has(key), `a row for ${key}\n${r.out}`);
    for (const row of rows.get(key)!.split('\n')) t.regex(row, /\bok \(\d+\)/, `${key}: ${row}`);
  }
  t.regex(rows.get('pub/sub unix://')!, /2 topics to 4 processes/);
  t.regex(r.out, /^every check held \(\d+\)/m);
  // Not a terminal here: one plain line per step, no spinner.
  const steps = r.err.split('\n').filter((l) => /^\[\d\/5\] /.test(l));
  t.is(steps.length, 5, r.err);
  for (const l of steps) t.regex(l, /: ok \(\d+\.\d s\)$/);
  t.false(r.err.includes('\r'), 'no spinner redraws when stderr is not a terminal');
});

test('the demo exits non-zero and says which steps failed when an example cannot pass (no Python)', async (t) => {
  const r = await run('demo.js', [], { QUIVER_PYTHON: '/nonexistent/python' });
  t.is(r.code, 1, r.out + r.err);
  const rows = tableRows(r.out);
  t.regex(rows.get('python -> node unix://')!, /FAILED/);
  t.regex(rows.get('pub/sub unix://')!, /FAILED/);
  t.regex(rows.get('worker handoff worker:')!, /ok \(\d+\)/);
  t.regex(r.out, /^2 of 5 steps FAILED/m);
  t.regex(r.err, /\[2\/5\] Python to Node over a Unix socket: FAILED/);
});
