/**
 * Reads a whole Arrow file once, in a fresh process, and reports what the read holds in memory:
 * `external` after a GC, with the table still referenced. Node's `external` already includes
 * `arrayBuffers` (every ArrayBuffer and Buffer), so adding the two would count them twice. Used by the demo and the
 * mmap example so each measurement starts from a clean heap.
 *
 *   node --expose-gc measure-read.js plain|mmap PATH   → one JSON line {held, ms, rows, sum}
 */
import { FileReader, openMappedFile } from '@quiver/core';

const [mode, path] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc || !path || (mode !== 'plain' && mode !== 'mmap')) {
  console.error('usage: node --expose-gc measure-read.js plain|mmap PATH');
  process.exit(2);
}
const held = () => {
  gc();
  const m = process.memoryUsage();
  return m.external;
};
const before = held();
const t0 = performance.now();
const reader = mode === 'mmap' ? await openMappedFile(path) : await FileReader.open(path);
const table = await reader.readAll();
await reader.close();
const ms = performance.now() - t0;
const after = held();
// The sum of the int32 column `v`, after the measurement: a check that the bytes read are right.
let sum = 0;
for (const batch of table.batches) {
  const v = batch.getChild('v')!.data[0]!.values as Int32Array;
  for (let i = 0; i < v.length; i++) sum += v[i]!;
}
console.log(JSON.stringify({ held: after - before, ms, rows: table.numRows, sum }));
