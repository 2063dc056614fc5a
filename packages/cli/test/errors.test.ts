// Failures of the real process: bad input exits 1 with exactly one stderr line naming a core
// error code; bad usage exits 2 with the usage text on stderr and nothing on stdout.
import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arrowIpcStreamDir, tmpDir } from '@quiver/testkit';
import { ErrorCode } from '@quiver/core';
import { errorOf, quiver, sampleTable, writeSample } from './helpers.js';

const CODES: readonly string[] = Object.values(ErrorCode);

function crashFiles(): string[] {
  const dir = arrowIpcStreamDir();
  return readdirSync(dir).filter((f) => f.startsWith('crash-')).sort().map((f) => join(dir, f));
}

test('fuzz files: inspect, cat and convert exit 1 with one line naming a core error code', async (t) => {
  const files = crashFiles();
  t.true(files.length >= 5);
  const out = join(tmpDir(t), 'out.arrows');
  for (const file of files) {
    for (const args of [['inspect', file], ['cat', file], ['convert', file, out]]) {
      const r = await quiver(...args);
      const what = `${args[0]} ${file}: ${r.stderr}`;
      t.is(r.code, 1, what);
      const e = errorOf(r);
      t.truthy(e, `one line 'quiver: ERR_QUIVER_…: …' (${what})`);
      t.true(CODES.includes(e?.code ?? ''), `a core code, not an internal failure (${what})`);
    }
  }
});

test('truncated, empty and missing inputs', async (t) => {
  const dir = tmpDir(t);
  const table = sampleTable();
  const file = join(dir, 'cut.arrow');
  await writeSample(file, table, 'file', 'lz4');
  const whole = readFileSync(file);
  writeFileSync(file, whole.subarray(0, whole.byteLength >> 1));
  const stream = join(dir, 'cut.arrows');
  await writeSample(stream, table, 'stream', 'none');
  writeFileSync(stream, readFileSync(stream).subarray(0, 300));
  const empty = join(dir, 'empty.arrows');
  writeFileSync(empty, new Uint8Array(0));
  const cases: Array<[string[], string]> = [
    [['inspect', file], ErrorCode.TRUNCATED],
    [['cat', file], ErrorCode.TRUNCATED],
    [['convert', file, join(dir, 'o.arrows')], ErrorCode.TRUNCATED],
    [['inspect', stream], ErrorCode.TRUNCATED],
    [['cat', stream], ErrorCode.TRUNCATED],
    [['inspect', empty], ErrorCode.INVALID_IPC],
    [['cat', empty], ErrorCode.INVALID_IPC],
    [['inspect', join(dir, 'missing')], ErrorCode.IO],
    [['cat', join(dir, 'missing')], ErrorCode.IO],
    [['convert', join(dir, 'missing'), join(dir, 'o.arrows')], ErrorCode.IO],
    [['convert', stream.replace('cut', 'x'), join(dir, 'no-such-dir', 'o.arrows')], ErrorCode.IO],
    [['cat', dir], ErrorCode.IO],
  ];
  await writeSample(join(dir, 'x.arrows'), table, 'stream', 'none');
  for (const [args, code] of cases) {
    const r = await quiver(...args);
    t.is(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    t.is(errorOf(r)?.code, code, `${args.join(' ')}: ${r.stderr}`);
  }
});

test('bad usage exits 2 with the usage on stderr', async (t) => {
  const path = join(tmpDir(t), 'x.arrows');
  await writeSample(path, sampleTable(), 'stream', 'none');
  const bad = [
    [],
    ['frobnicate', path],
    ['inspect'],
    ['inspect', path, path],
    ['inspect', path, '--bogus'],
    ['cat', path, '-x'],
    ['cat', path, '--limit'],
    ['cat', path, '--limit', 'ten'],
    ['cat', path, '--limit=-1'],
    ['cat', path, '--format', 'xml'],
    ['convert', path],
    ['convert', path, 'o.arrow', '--format', 'parquet'],
    ['convert', path, 'o.arrow', '--compression', 'gzip'],
    ['convert', path, 'o.arrow', '--level', '3'],
    ['convert', path, 'o.arrow', '--compression', 'zstd', '--level', 'high'],
  ];
  for (const args of bad) {
    const r = await quiver(...args);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.is(r.stdout, '');
    t.regex(r.stderr, /^quiver: .+\n\nUsage: quiver <command>/, args.join(' '));
  }
});

test('--help and --version go to stdout and exit 0', async (t) => {
  for (const args of [['--help'], ['help'], ['cat', '--help'], ['convert', '-h']]) {
    const r = await quiver(...args);
    t.is(r.code, 0);
    t.regex(r.stdout, /^Usage: quiver <command>/);
    t.regex(r.stdout, /A Feather V2 file is an Arrow IPC file/);
    t.is(r.stderr, '');
  }
  const v = await quiver('--version');
  t.is(v.code, 0);
  t.regex(v.stdout, /^\d+\.\d+\.\d+\n$/);
});
