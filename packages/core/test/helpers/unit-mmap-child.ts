// Child process of mmap.test.ts (run with --expose-gc), so that memory measurements of one way of
// reading never mix with another's or with the test runner's. Prints one JSON line.
//   node --expose-gc unit-mmap-child.js measure plain|mapped <path>
//   node unit-mmap-child.js disabled <path>        (with QUIVER_DISABLE_NATIVE=1)
// Imports the package by its own name, as a user would.
import { FileReader, isMmapAvailable, mapFile, openMappedFile, readFeather } from '@quiver/core';
import { expectedValue } from './unit-helpers.js';

const [mode, arg, path] = process.argv.slice(2) as [string, string, string];


async function measure(how: string, file: string): Promise<object> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const usage = () => {
    const m = process.memoryUsage();
    return { arrayBuffers: m.arrayBuffers, external: m.external };
  };
  gc();
  const before = usage();
  const reader = how === 'mapped' ? await openMappedFile(file) : await FileReader.open(file);
  const table = await reader.readAll();
  gc();
  const after = usage();
  // Check every value (after measuring, so the check allocates nothing that is counted).
  let rows = 0;
  let wrong = 0;
  const buffers = new Set<ArrayBufferLike>();
  for (const batch of table.batches) {
    const values = batch.getChildAt(0)!.data[0]!.values as Int32Array;
    buffers.add(values.buffer);
    for (let k = 0; k < values.length; k++, rows++) if (values[k] !== expectedValue(rows)) wrong++;
  }
  await reader.close();
  return {
    arrayBuffers: after.arrayBuffers - before.arrayBuffers,
    external: after.external - before.external,
    batches: table.batches.length,
    rows,
    wrong,
    distinctBuffers: buffers.size,
  };
}

async function disabled(file: string): Promise<object> {
  const codeOf = async (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code?: string }) => e.code ?? String(e));
  const reader = await FileReader.open(file);
  const batches = reader.numRecordBatches;
  await reader.close();
  return {
    available: await isMmapAvailable(),
    openMappedFile: await codeOf(openMappedFile(file)),
    mapFile: await codeOf(mapFile(file)),
    readFeatherMmap: await codeOf(readFeather(file, { mmap: true })),
    plainBatches: batches,
  };
}

const result = mode === 'measure' ? await measure(arg, path) : await disabled(arg);
process.stdout.write(`${JSON.stringify(result)}\n`);
