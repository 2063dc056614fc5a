// The row writers in-process: JSON-safe values, CSV quoting and nulls, table alignment and truncation.
import test from 'ava';
import { jsonValue, rowWriter, type Column, type RowFormat } from '../src/index.js';
import { MAX_CELL, MIN_CELL } from '../src/format.js';

async function render(format: RowFormat, columns: Column[], rows: Array<Record<string, unknown>>, width?: number): Promise<string> {
  let text = '';
  const w = rowWriter(format, columns, { write: async (s) => void (text += s) }, width);
  await w.rows(rows);
  await w.end();
  return text;
}

test('jsonValue: bigint as string, binary as hex, non-finite floats as strings, nested kept', (t) => {
  t.deepEqual(jsonValue({ a: 2n ** 64n, b: Uint8Array.of(0, 15, 255), c: NaN, d: -Infinity, e: [1, null, { f: 3n }], g: new Map([['k', 1]]) }), {
    a: '18446744073709551616',
    b: '000fff',
    c: 'NaN',
    d: '-Infinity',
    e: [1, null, { f: '3' }],
    g: [['k', 1]],
  });
  t.deepEqual(jsonValue(Int32Array.of(1, 2)), [1, 2]);
  t.is(jsonValue(undefined), null);
});

test('csv: quotes only when needed, null empty, empty string quoted, nested as JSON', async (t) => {
  const cols = [{ name: 'a', numeric: false }, { name: 'b,c', numeric: false }];
  const text = await render('csv', cols, [
    { a: 'plain', 'b,c': 'x"y' },
    { a: null, 'b,c': '' },
    { a: [1, 2], 'b,c': { k: 'v' } },
  ]);
  t.is(text, 'a,"b,c"\nplain,"x""y"\n,""\n"[1,2]","{""k"":""v""}"\n');
});

test('ndjson: one object per line', async (t) => {
  t.is(await render('ndjson', [], [{ a: 1n, b: null }, { a: 2n, b: 'x' }]), '{"a":"1","b":null}\n{"a":"2","b":"x"}\n');
});

test('table: aligned, numbers right, long cells cut with an ellipsis, control characters escaped', async (t) => {
  const cols = [{ name: 'n', numeric: true }, { name: 's', numeric: false }];
  const long = 'x'.repeat(100);
  const text = await render('table', cols, [{ n: 1, s: 'a\nb' }, { n: 1000, s: long }, { n: null, s: null }]);
  const lines = text.split('\n');
  t.is(lines[0], `   n  s`);
  t.is(lines[1], `----  ${'-'.repeat(MAX_CELL)}`);
  t.is(lines[2], `   1  a\\nb`);
  t.is(lines[3], `1000  ${'x'.repeat(MAX_CELL - 1)}…`);
  t.is(lines[4], `null  null`);
});

test('table: wide tables shrink to the terminal, but no column below MIN_CELL', async (t) => {
  const cols = Array.from({ length: 3 }, (_, i) => ({ name: `c${i}`, numeric: false }));
  const row = { c0: 'a'.repeat(30), c1: 'b'.repeat(30), c2: 'c'.repeat(5) };
  const fitted = (await render('table', cols, [row], 50)).split('\n');
  t.true(fitted.every((l) => [...l].length <= 50));
  const narrow = (await render('table', cols, [row], 10)).split('\n');
  t.is([...narrow[2]!].length, MIN_CELL * 2 + 5 + 4, 'two columns at MIN_CELL, the short one whole');
});
