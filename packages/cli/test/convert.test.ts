// `quiver convert`, run as a real process: every output form and compression from each input
// form, read back with core and compared row for row; defaults from OUT's extension; pyarrow
// reading converted golden files; no partial OUT after a failure; quiet when stderr is not a TTY.
import test from 'ava';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goldenCases, judge, tmpDir } from '@quiver/testkit';
import { inspect, readFileTable, readStreamTable } from '@quiver/core';
import { errorOf, expectedRows, quiver, ROWS, sampleTable, writeSample, type Compression, type Form } from './helpers.js';

const table = sampleTable();
const want = expectedRows(table);

async function readBack(path: string, form: Form) {
  const bytes = readFileSync(path);
  return expectedRows(form === 'stream' ? await readStreamTable(bytes) : await readFileTable(bytes));
}

const outputs: Array<[Form, Compression]> = [];
for (const f of ['stream', 'file', 'feather'] as const) for (const c of ['none', 'lz4', 'zstd'] as const) outputs.push([f, c]);

// Every output from a stream; from the other inputs, each form once (every run is a process).
const fewer: Array<[Form, Compression]> = [['stream', 'zstd'], ['file', 'none'], ['feather', 'lz4']];
for (const [from, fromCompression, targets] of [['stream', 'none', outputs], ['file', 'lz4', fewer], ['feather', 'zstd', fewer]] as const) {
  test(`${from} (${fromCompression}) to ${targets === outputs ? 'every' : 'each'} form and compression`, async (t) => {
    const dir = tmpDir(t);
    const input = join(dir, `in.${from}`);
    await writeSample(input, table, from, fromCompression);
    for (const [to, compression] of targets) {
      const out = join(dir, `out-${to}-${compression}.bin`);
      const r = await quiver('convert', input, out, '--format', to, '--compression', compression);
      t.is(r.code, 0, r.stderr);
      t.is(r.stderr, '', 'no progress output when stderr is not a terminal');
      t.is(r.stdout, '');
      const info = await inspect(out);
      t.like(info, { format: to === 'stream' ? 'stream' : 'file', compression, rows: ROWS });
      t.deepEqual(await readBack(out, to), want, `${to} ${compression}`);
    }
  });
}

test('the format comes from the extension, the compression from the format', async (t) => {
  const dir = tmpDir(t);
  const input = join(dir, 'in.arrows');
  await writeSample(input, table, 'stream', 'zstd');
  const cases: Array<[string, 'stream' | 'file', string]> = [
    ['a.arrows', 'stream', 'none'],
    ['a.stream', 'stream', 'none'],
    ['a.arrow', 'file', 'none'],
    ['a.ipc', 'file', 'none'],
    ['a.feather', 'file', 'lz4'],
    ['a.data', 'stream', 'none'],
  ];
  for (const [name, format, compression] of cases) {
    const r = await quiver('convert', input, join(dir, name));
    t.is(r.code, 0, r.stderr);
    t.like(await inspect(join(dir, name)), { format, compression }, name);
  }
  // --level reaches the codec, and an explicit --format wins over the extension.
  const r = await quiver('convert', input, join(dir, 'b.feather'), '--format', 'stream', '--compression', 'zstd', '--level', '19');
  t.is(r.code, 0, r.stderr);
  t.like(await inspect(join(dir, 'b.feather')), { format: 'stream', compression: 'zstd' });
  t.deepEqual(await readBack(join(dir, 'b.feather'), 'stream'), want);
});

test('converting a file onto itself is safe', async (t) => {
  const path = join(tmpDir(t), 'self.arrow');
  await writeSample(path, table, 'file', 'none');
  const r = await quiver('convert', path, path, '--compression', 'zstd');
  t.is(r.code, 0, r.stderr);
  t.like(await inspect(path), { format: 'file', compression: 'zstd' });
  t.deepEqual(await readBack(path, 'file'), want);
});

test('a failed conversion leaves no output behind', async (t) => {
  const dir = tmpDir(t);
  const input = join(dir, 'in.arrows');
  await writeSample(input, table, 'stream', 'none');
  const bytes = readFileSync(input);
  writeFileSync(input, bytes.subarray(0, bytes.byteLength - 200));
  const r = await quiver('convert', input, join(dir, 'out.arrow'));
  t.is(r.code, 1);
  t.is(errorOf(r)?.code, 'ERR_QUIVER_TRUNCATED', r.stderr);
  t.deepEqual(readdirSync(dir), ['in.arrows']);
});

test('pyarrow reads converted golden files as equal to the originals', async (t) => {
  const dir = tmpDir(t);
  const cases = goldenCases().filter((c) => c.version !== '1.0.0-littleendian' || ['primitive', 'nested', 'decimal', 'map', 'union', 'datetime'].includes(c.name));
  const targets: Array<[string, string, string[]]> = [];
  for (const c of cases) {
    const stem = join(dir, `${c.version}-${c.name}`);
    targets.push([c.stream, `${stem}.feather`, ['--compression', 'zstd']], [c.file, `${stem}.arrows`, ['--compression', 'lz4']]);
  }
  for (const [input, out, flags] of targets) {
    const r = await quiver('convert', input, out, ...flags);
    t.is(r.code, 0, `${input}: ${r.stderr}`);
    const [eq] = await judge.equal(input, [out]);
    t.true(eq!.equal, `${input} → ${out}: ${eq!.reason}`);
    t.is(eq!.compression as string | null, flags[1]!);
  }
  t.true(existsSync(targets[0]![1]));
});
