// The progress bar: its rendering, its quiet start and redraw rate (under a fake clock: no sleeps),
// and `convert` drawing it only when stderr is a terminal (driven in-process through run()).
import test from 'ava';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { tmpDir } from '@quiver/testkit';
import { formatBytes, ProgressBar, renderProgress, run, type CliIo } from '../src/index.js';
import { sampleTable, writeSample } from './helpers.js';

/** A Writable that keeps what it is given. */
function sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}

/** A clock that moves one second per reading. */
function fakeClock(): () => number {
  let t = 0;
  return () => (t += 1000);
}

test('formatBytes uses decimal units', (t) => {
  t.is(formatBytes(0), '0 B');
  t.is(formatBytes(999), '999 B');
  t.is(formatBytes(1500), '1.5 KB');
  t.is(formatBytes(12_300_000), '12 MB');
  t.is(formatBytes(4e12), '4.0 TB');
});

test('renderProgress: a bar and percentage against a total, counters without one, never wider than asked', (t) => {
  const line = renderProgress({ label: 'convert', done: 50e6, total: 200e6, out: 20e6, width: 80 });
  t.is(line, `convert [${'#'.repeat(10)}${'-'.repeat(30)}]  25%  50 MB / 200 MB → 20 MB`);
  t.is(renderProgress({ label: 'recv', done: 1500, width: 80 }), 'recv 1.5 KB');
  t.true(renderProgress({ label: 'convert', done: 1, total: 2, out: 3, width: 30 }).length <= 30);
  t.regex(renderProgress({ label: '', done: 5, total: 2, width: 80 }), /100%/, 'clamped');
});

test('ProgressBar: silent at first, then redraws in place, then clears with a summary', (t) => {
  const out = sink();
  let now = 0;
  const bar = new ProgressBar({ stream: out, label: 'convert', total: 100, columns: 81, delayMs: 400, intervalMs: 100, now: () => now });
  bar.update(10);
  t.is(out.text, '', 'nothing before the delay');
  now = 500;
  bar.update(20, 5);
  t.true(out.text.startsWith('\rconvert ['));
  t.true(out.text.endsWith('\x1b[K'));
  const drawn = out.text;
  now = 550;
  bar.update(30);
  t.is(out.text, drawn, 'no redraw within the interval');
  now = 700;
  bar.update(40);
  t.not(out.text, drawn);
  bar.finish('done');
  t.true(out.text.endsWith('\r\x1b[Kdone\n'));
  bar.finish('again');
  t.true(out.text.endsWith('done\n'), 'finish is idempotent');
});

test('renderProgress and updateText: steps with a line of text in place of the byte counts', (t) => {
  t.is(renderProgress({ label: 'socket', done: 1, total: 4, text: 'round 1 of 2', width: 80 }), `socket [${'#'.repeat(10)}${'-'.repeat(30)}]  25%  round 1 of 2`);
  t.true(renderProgress({ label: 'socket', done: 1, total: 4, text: 'x'.repeat(100), width: 60 }).length <= 60);
  const out = sink();
  let now = 0;
  const bar = new ProgressBar({ stream: out, label: 'codec', columns: 81, delayMs: 0, intervalMs: 100, now: () => now });
  bar.updateText(3, 'encode: round 1 of 5', 12);
  t.regex(out.text, /^\rcodec \[#{10}-{30}\]  25%  encode: round 1 of 5\x1b\[K$/, 'the total learnt late sets the bar');
  now = 200;
  bar.updateText(12, 'done');
  t.regex(out.text, /\[#{40}\] 100%  done\x1b\[K$/);
});

test('ProgressBar: a job that ends before the delay leaves no trace', (t) => {
  const out = sink();
  const bar = new ProgressBar({ stream: out, total: 10, now: () => 0 });
  bar.update(10);
  bar.finish('summary');
  t.is(out.text, '');
  t.false(bar.visible);
});

async function convertWith(t: Parameters<typeof tmpDir>[0], stderrIsTTY: boolean) {
  const dir = tmpDir(t);
  const input = join(dir, 'in.arrows');
  await writeSample(input, sampleTable(), 'stream', 'none');
  const io: CliIo = { stdout: sink(), stderr: sink(), stdoutIsTTY: false, stderrIsTTY, columns: 100, now: fakeClock() };
  const code = await run(['convert', input, join(dir, 'out.feather')], io);
  return { code, stderr: (io.stderr as ReturnType<typeof sink>).text, stdout: (io.stdout as ReturnType<typeof sink>).text };
}

test('convert draws the bar on a terminal stderr and ends with a summary line', async (t) => {
  const r = await convertWith(t, true);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '');
  t.regex(r.stderr, /\rconvert \[[#-]+\] +\d+% {2}[\d.]+ KB \/ [\d.]+ KB → [\d.]+ KB\x1b\[K/);
  t.regex(r.stderr, /\r\x1b\[Kconverted 5 batches, 100 rows: [\d.]+ KB stream → [\d.]+ KB feather \(lz4\)\n$/);
});

test('convert is quiet when stderr is not a terminal', async (t) => {
  const r = await convertWith(t, false);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
});
