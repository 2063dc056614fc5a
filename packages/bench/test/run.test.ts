// The runner end to end, with stand-in benches (test/fixtures/stub-bench.mjs) that report progress
// and write fixture JSON as the real ones would: what it prints on a terminal and elsewhere, what
// it writes, and what a failed bench leaves. The real benches never run here.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '@quiver/testkit';
import { runAll, type BenchSpec, type Collected } from '../src/index.js';
import { fixtures, tableRow } from './helpers.js';

const stub = join(fixtures, 'stub-bench.mjs');

function benches(failing: string | null): BenchSpec[] {
  return (['codec', 'socket', 'shm'] as const).map((name) => ({ name, script: stub, args: [name, ...(name === failing ? ['--fail'] : [])] }));
}

/** A stand-in for stderr that keeps what it is given. */
function sink(isTTY: boolean): { write(s: string): boolean; isTTY: boolean; columns: number; text: string } {
  return { isTTY, columns: 100, text: '', write(s: string) { this.text += s; return true; } };
}

function outDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'quiver-bench-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('not on a terminal: one plain line per bench, then the whole report', async (t) => {
  const out = outDir(t);
  const progress = sink(false);
  const { collected, files } = await runAll({ root: repoRoot(), out, benches: benches(null), progress, python: null });
  const lines = progress.text.split('\n').filter(Boolean);
  t.is(lines.length, 3, progress.text);
  t.regex(lines[0]!, /^\[1\/3\] codec: ok in [\d.]+ s$/);
  t.regex(lines[1]!, /^\[2\/3\] socket: ok in [\d.]+ s$/);
  t.regex(lines[2]!, /^\[3\/3\] shm: ok in [\d.]+ s$/);
  t.false(progress.text.includes('\r'));
  t.deepEqual(files.map((f) => f.slice(out.length + 1)).sort(), ['RESULTS.md', 'codec.svg', 'latency.svg', 'results.json', 'throughput-shm.svg', 'throughput-socket.svg']);
  const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Collected;
  t.deepEqual(json, collected);
  t.deepEqual(json.codec, JSON.parse(readFileSync(join(fixtures, 'codec.json'), 'utf8')));
  t.deepEqual(json.runs.map((r) => [r.name, r.ok, r.command]), [
    ['codec', true, `node ${stub} codec`],
    ['socket', true, `node ${stub} socket`],
    ['shm', true, `node ${stub} shm`],
  ]);
  t.is(json.machine.loadStart.length, 3);
  t.regex(json.versions.quiver, /^[0-9a-f]{10}/, 'the checkout\'s commit');
  t.is(json.versions.pyarrow, 'no Python interpreter');
  const md = readFileSync(join(out, 'RESULTS.md'), 'utf8');
  t.is(tableRow(md, 'Quiver')[1], `commit ${json.versions.quiver}`);
});

test('on a terminal: a live line fed by the benches\' progress, a summary line each', async (t) => {
  const progress = sink(true);
  await runAll({ root: repoRoot(), out: outDir(t), benches: benches(null).slice(0, 1), progress, python: null });
  t.true(progress.text.startsWith('\r[1/1] codec ['), JSON.stringify(progress.text));
  t.regex(progress.text, /\r\[1\/1\] codec \[#{12}-{12}\]  50%  \d+s · round 2 of 2 · codec cell {2,}\x1b\[K/, 'the bench\'s progress, in a bar of fixed width');
  t.true(progress.text.includes('\r\x1b[K✔ [1/1] codec: ok in '), 'the bar is cleared for the summary');
  t.regex(progress.text, /✔ \[1\/1\] codec: ok in [\d.]+ s\n$/);
  t.false(progress.text.includes('an ordinary log line'), 'the bench\'s own log stays out of the way');
});

test('a failed bench: said with its last words, left out of the report, the others still run', async (t) => {
  const out = outDir(t);
  const progress = sink(false);
  const { collected } = await runAll({ root: repoRoot(), out, benches: benches('socket'), progress, python: null });
  t.regex(progress.text, /^\[2\/3\] socket: FAILED after [\d.]+ s, exited with code 3: socket: the peer died$/m);
  t.regex(progress.text, /^\[3\/3\] shm: ok in/m);
  t.deepEqual(collected.runs.map((r) => r.ok), [true, false, true]);
  t.is(collected.runs[1]!.error, 'exited with code 3: socket: the peer died\nsocket: an ordinary log line');
  t.is(collected.socket, undefined);
  t.truthy(collected.shm);
  const md = readFileSync(join(out, 'RESULTS.md'), 'utf8');
  t.true(md.includes('**Failed:** socket (exited with code 3: socket: the peer died)'));
  t.false(existsSync(join(out, 'throughput-socket.svg')));
});

test('the command line: --render redoes the report from a results.json; an unknown bench is refused', (t) => {
  const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
  const out = outDir(t);
  const from = join(out, 'in.json');
  const c = JSON.parse(readFileSync(join(fixtures, 'codec.json'), 'utf8')) as Collected['codec'];
  const input: Collected = {
    date: '2026-01-01T00:00:00.000Z', quick: true, seconds: 1,
    machine: { cpu: 'x', cores: 1, memory: 1, freeMemory: 1, loadStart: [0, 0, 0], loadEnd: [0, 0, 0], os: 'y' },
    versions: { node: 'v0', v8: '0', apacheArrow: '0', flechette: '0', pyarrow: '0', quiver: 'abc' },
    runs: [{ name: 'codec', command: 'node codec.js', ok: true, seconds: 1 }],
    codec: c!,
  };
  writeFileSync(from, JSON.stringify(input));
  const r = spawnSync(process.execPath, [main, '--render', from, '--out', out], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^6 of 6 targets met\. Wrote .*RESULTS\.md/);
  t.deepEqual(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')), input);
  t.true(existsSync(join(out, 'codec.svg')));
  const bad = spawnSync(process.execPath, [main, '--only', 'nope', '--out', out], { encoding: 'utf8' });
  t.is(bad.status, 2);
  t.regex(bad.stderr, /unknown bench nope/);
});
