// `quiver cat`, run as a real process: --limit N prints exactly N rows in each format and each
// input form; values as documented (64-bit integers as strings, binary as hex, nested as JSON);
// it stops reading once N rows are out (a FIFO whose writer never finishes); and a reader that
// goes away (EPIPE, `| head`) ends it quietly with status 0.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpDir } from '@quiver/testkit';
import { RecordBatchEncoder } from '@quiver/core';
import * as A from 'apache-arrow';
import { BATCH_ROWS, BIN, collect, errorOf, expectedRows, quiver, ROWS, sampleTable, writeSample, type Form } from './helpers.js';

const table = sampleTable();
const want = expectedRows(table) as Array<Record<string, unknown>>;

/** Writes the sample in `form` (compressed) to a fresh directory. */
async function sample(t: Parameters<typeof tmpDir>[0], form: Form): Promise<string> {
  const path = join(tmpDir(t), `sample.${form}`);
  await writeSample(path, table, form, form === 'stream' ? 'none' : form === 'file' ? 'lz4' : 'zstd');
  return path;
}

/** Minimal RFC 4180 parsing of cat's CSV (quoted fields, doubled quotes; our data has no newlines). */
function csvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') out.push(field), (field = '');
    else field += c;
  }
  out.push(field);
  return out;
}

const lines = (s: string) => s.split('\n').slice(0, -1);

for (const form of ['stream', 'file', 'feather'] as const) {
  test(`${form}: --limit N prints exactly N rows in each format`, async (t) => {
    const path = await sample(t, form);
    const n = BATCH_ROWS + 5; // across a batch boundary
    const nd = await quiver('cat', path, '--limit', String(n), '--format', 'ndjson');
    t.is(nd.code, 0, nd.stderr);
    t.deepEqual(lines(nd.stdout).map((l) => JSON.parse(l)), want.slice(0, n));

    const csv = await quiver('cat', path, '--limit', String(n), '--format', 'csv');
    t.is(csv.code, 0, csv.stderr);
    const rows = lines(csv.stdout);
    t.is(rows.length, n + 1);
    t.deepEqual(csvLine(rows[0]!), ['id', 'x', 's', 'b', 'l', 'st', 'd']);
    t.deepEqual(csvLine(rows[1]!), ['0', '0', 'say "hi", 0', '00ab00', '[0,1]', '{"a":0,"c":"c0"}', 'red']);
    t.deepEqual(csvLine(rows[4]!), ['3000000021', '', '', '', '', '', ''], 'nulls are empty fields');

    const tab = await quiver('cat', path, '--limit', String(n), '--format', 'table');
    t.is(tab.code, 0, tab.stderr);
    const tl = lines(tab.stdout);
    t.is(tl.length, n + 2, 'header, rule, rows');
    t.regex(tl[0]!, /^ *id +x  s +b +l +st +d$/);
    t.regex(tl[1]!, /^-+ {2}-+/);
    t.true(tl[5]!.includes('null'));
  });
}

test('no --limit prints every row; --limit 0 prints none; stdout that is not a TTY gets NDJSON', async (t) => {
  const path = await sample(t, 'file');
  const all = await quiver('cat', path);
  t.is(all.code, 0, all.stderr);
  t.deepEqual(lines(all.stdout).map((l) => JSON.parse(l)), want);
  t.is(lines(all.stdout).length, ROWS);
  const none = await quiver('cat', path, '--limit', '0');
  t.is(none.code, 0);
  t.is(none.stdout, '');
  const header = await quiver('cat', path, '--limit=0', '--format=csv');
  t.is(header.stdout, 'id,x,s,b,l,st,d\n');
});

test('stops reading once N rows are out: a FIFO whose writer never ends', async (t) => {
  const fifo = join(tmpDir(t), 'pipe');
  t.is(spawnSync('mkfifo', [fifo]).status, 0);
  const child = spawn(process.execPath, [BIN, 'cat', fifo, '--limit', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const done = collect(child);
  const fh = await open(fifo, 'w'); // resolves once the child has opened it
  try {
    // A schema and two batches, and then nothing: no end-of-stream, and the pipe stays open.
    const enc = new RecordBatchEncoder(table.schema, 'stream');
    for (const m of [...enc.start(), ...enc.write(table.slice(0, 2)), ...enc.write(table.slice(2, 4))]) {
      for (const b of m.buffers) await fh.write(b);
    }
    const r = await done;
    t.is(r.code, 0, r.stderr);
    t.deepEqual(lines(r.stdout).map((l) => JSON.parse(l)), want.slice(0, 3));
  } finally {
    await fh.close();
  }
});

test('a reader that goes away (EPIPE) ends cat quietly with status 0', async (t) => {
  // Enough rows that cat is still writing when the reader leaves.
  const big = new A.Table({ n: A.vectorFromArray(Array.from({ length: 200_000 }, (_, i) => i), new A.Int32()) });
  const path = join(tmpDir(t), 'big.arrows');
  await writeSample(path, big, 'stream', 'none');
  const child = spawn(process.execPath, [BIN, 'cat', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  t.is(await exit, 0, stderr);
  t.is(stderr, '');
});

test('`| head -n 3` through a shell', async (t) => {
  const path = await sample(t, 'stream');
  const r = await collect(spawn('sh', ['-c', `"${process.execPath}" "${BIN}" cat "${path}" --format csv | head -n 3`], { stdio: ['ignore', 'pipe', 'pipe'] }));
  t.is(r.code, 0);
  t.is(r.stderr, '');
  t.is(lines(r.stdout).length, 3);
});

test('a stream cut short prints what it could, then fails with ERR_QUIVER_TRUNCATED', async (t) => {
  const path = await sample(t, 'stream');
  const { readFileSync, writeFileSync } = await import('node:fs');
  const bytes = readFileSync(path);
  writeFileSync(path, bytes.subarray(0, bytes.byteLength - 100));
  const r = await quiver('cat', path);
  t.is(r.code, 1);
  t.is(errorOf(r)?.code, 'ERR_QUIVER_TRUNCATED', r.stderr);
  t.true(lines(r.stdout).length >= BATCH_ROWS);
});
