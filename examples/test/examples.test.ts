// Every example runs as a real process, bounded in time, and must check its own output: each
// ends by printing "OK <name>" only after its own assertions (sums, counts) held.
import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { python } from '@quiver/testkit';

function run(script: string, args: string[] = [], limitMs = 120_000): Promise<{ code: number | null; out: string; err: string }> {
  const path = fileURLToPath(new URL(`../src/${script}`, import.meta.url));
  const child = spawn(process.execPath, [path, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
