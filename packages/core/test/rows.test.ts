// Unit tests of toRows / toColumns: every value written out literally, on the table as built and
// after an IPC round trip, with the three int64 options.
import test from 'ava';
import * as A from 'apache-arrow';
import { judge } from '@quiver/testkit';
import { readStreamTable, tableToFile, tableToStream, toColumns, toRows } from '../src/index.js';
import { tempFile } from './helpers/unit-helpers.js';

/** Decimal data from unscaled values (null = null), little-endian two's complement words. */
function decimalData(values: Array<bigint | null>, scale: number, precision: number, bitWidth: 128 | 256): A.Data<A.Decimal> {
  const wordsPer = bitWidth / 32;
  const words = new Uint32Array(values.length * wordsPer);
  const bitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v === null) return;
    bitmap[i >> 3]! |= 1 << (i & 7);
    let x = BigInt.asUintN(bitWidth, v);
    for (let k = 0; k < wordsPer; k++, x >>= 32n) words[i * wordsPer + k] = Number(x & 0xffffffffn);
  });
  const nullCount = values.filter((v) => v === null).length;
  return A.makeData({ type: new A.Decimal(scale, precision, bitWidth), length: values.length, nullCount, nullBitmap: bitmap, data: words });
}

const entries = new A.Struct<{ key: A.Utf8; value: A.Int64 }>([new A.Field('key', new A.Utf8(), false), new A.Field('value', new A.Int64(), true)] as never);
const mapType = new A.Map_(new A.Field('entries', entries, false));
const structType = new A.Struct([new A.Field('a', new A.Int32(), true), new A.Field('b', new A.Utf8(), true)]);

function table(): A.Table {
  return new A.Table({
    i64: A.vectorFromArray([1n, null, 9007199254740993n, -5n], new A.Int64()),
    f64: A.vectorFromArray([1.5, Number.NaN, null, -0.25], new A.Float64()),
    s: A.vectorFromArray(['a', null, 'é€😀', ''], new A.Utf8()),
    b: A.vectorFromArray([true, false, null, true], new A.Bool()),
    d: new A.Vector([decimalData([12345n, -5n, null, 0n], 2, 20, 128)]),
    st: A.vectorFromArray([{ a: 1, b: 'x' }, null, { a: null, b: 'z' }, { a: 4, b: null }], structType),
    l: A.vectorFromArray([[1n, 2n], [], null, [null, 3n]], new A.List(new A.Field('item', new A.Int64(), true))),
    m: A.vectorFromArray([new Map([['k', 1n], ['j', null]]), null, new Map(), new Map([['z', 26n]])], mapType),
    dict: A.vectorFromArray(['red', 'blue', null, 'red'], new A.Dictionary(new A.Utf8(), new A.Int32(), 0)),
    ts: A.vectorFromArray([0, 1700000000123, null, -1000], new A.TimestampMillisecond('UTC')),
  });
}

const ROWS_BIGINT = [
  { i64: 1n, f64: 1.5, s: 'a', b: true, d: '123.45', st: { a: 1, b: 'x' }, l: [1n, 2n], m: [['k', 1n], ['j', null]], dict: 'red', ts: 0 },
  { i64: null, f64: Number.NaN, s: null, b: false, d: '-0.05', st: null, l: [], m: null, dict: 'blue', ts: 1700000000123 },
  { i64: 9007199254740993n, f64: null, s: 'é€😀', b: null, d: null, st: { a: null, b: 'z' }, l: null, m: [], dict: null, ts: null },
  { i64: -5n, f64: -0.25, s: '', b: true, d: '0.00', st: { a: 4, b: null }, l: [null, 3n], m: [['z', 26n]], dict: 'red', ts: -1000 },
];

test('toRows: one plain object per row, int64 as bigint by default', async (t) => {
  const original = table();
  t.deepEqual(toRows(original), ROWS_BIGINT);
  t.deepEqual(toRows(original, { int64: 'bigint' }), ROWS_BIGINT);
  // The same after a stream round trip, and per record batch.
  const back = await readStreamTable(await tableToStream(original));
  t.deepEqual(toRows(back), ROWS_BIGINT);
  t.deepEqual(toRows(back.batches[0]!), ROWS_BIGINT);
  // Nested values are plain JS values, not apache-arrow rows or vectors.
  const [first] = toRows(back);
  t.is(Object.getPrototypeOf(first!['st']), Object.prototype);
  t.true(Array.isArray(first!['l']));
  t.true(Array.isArray((first!['m'] as unknown[])[0]));
});

test("toRows with int64 'number' and 'string' converts every 64-bit integer, nested ones too", async (t) => {
  const back = await readStreamTable(await tableToStream(table()));
  const pick = (rows: Array<Record<string, unknown>>) => rows.map((r) => [r['i64'], r['l'], r['m']]);
  t.deepEqual(pick(toRows(back, { int64: 'number' })), [
    [1, [1, 2], [['k', 1], ['j', null]]],
    [null, [], null],
    [9007199254740992, null, []], // 2^53 + 1 rounds: 'number' is lossy beyond 2^53, as asked
    [-5, [null, 3], [['z', 26]]],
  ]);
  t.deepEqual(pick(toRows(back, { int64: 'string' })), [
    ['1', ['1', '2'], [['k', '1'], ['j', null]]],
    [null, [], null],
    ['9007199254740993', null, []],
    ['-5', [null, '3'], [['z', '26']]],
  ]);
});

test('toColumns: one plain array per column', async (t) => {
  const back = await readStreamTable(await tableToStream(table()));
  const expected = {
    i64: ['1', null, '9007199254740993', '-5'],
    f64: [1.5, Number.NaN, null, -0.25],
    s: ['a', null, 'é€😀', ''],
    b: [true, false, null, true],
    d: ['123.45', '-0.05', null, '0.00'],
    st: [{ a: 1, b: 'x' }, null, { a: null, b: 'z' }, { a: 4, b: null }],
    l: [['1', '2'], [], null, [null, '3']],
    m: [[['k', '1'], ['j', null]], null, [], [['z', '26']]],
    dict: ['red', 'blue', null, 'red'],
    ts: [0, 1700000000123, null, -1000],
  };
  t.deepEqual(toColumns(back, { int64: 'string' }), expected);
  t.deepEqual(toColumns(table(), { int64: 'string' }), expected);
  t.deepEqual(toColumns(back)['i64'], [1n, null, 9007199254740993n, -5n]);
});

test('rows and columns span every batch of a table', async (t) => {
  const schema = new A.Schema([new A.Field('n', new A.Int64(), false)]);
  const batches = [[1n, 2n], [3n], [4n, 5n, 6n]].map((v) => new A.Table({ n: A.vectorFromArray(v, new A.Int64()) }).batches[0]!);
  const back = await readStreamTable(await tableToStream(batches, { schema }));
  t.is(back.batches.length, 3);
  t.deepEqual(toRows(back, { int64: 'number' }), [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }, { n: 6 }]);
  t.deepEqual(toColumns(back, { int64: 'number' }), { n: [1, 2, 3, 4, 5, 6] });
});

test('decimals: negative values, negative scale, zero scale and 256-bit', async (t) => {
  const d = new A.Table({
    d2: new A.Vector([decimalData([1n, -1n, -100n, 99999n, null], 2, 10, 128)]),
    neg: new A.Vector([decimalData([123n, -5n, 0n, 1n, null], -2, 5, 128)]),
    zero: new A.Vector([decimalData([123n, -5n, 0n, 10n ** 37n, null], 0, 38, 128)]),
    wide: new A.Vector([decimalData([-(10n ** 45n) - 123n, 1n, 0n, 10n ** 60n, null], 3, 70, 256)]),
  });
  const expected = {
    d2: ['0.01', '-0.01', '-1.00', '999.99', null],
    neg: ['12300', '-500', '0', '100', null],
    zero: ['123', '-5', '0', `1${'0'.repeat(37)}`, null],
    wide: [`-1${'0'.repeat(42)}.123`, '0.001', '0.000', `1${'0'.repeat(57)}.000`, null],
  };
  t.deepEqual(toColumns(d), expected);
  const bytes = await tableToFile(d);
  // pyarrow reads the same values (canonical form: the unscaled integer).
  const c = await judge.canon(tempFile(t, 'decimals.arrow', bytes));
  t.deepEqual(c.schema.map((f) => f.type), ['decimal128(10, 2)', 'decimal128(5, -2)', 'decimal128(38, 0)', 'decimal256(70, 3)']);
  t.deepEqual(c.columns[1], ['123', '-5', '0', '1', null]);
  t.deepEqual(toColumns(await readStreamTable(await tableToStream(d))), expected);
});
