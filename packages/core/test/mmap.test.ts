// Unit tests of memory-mapped reading (openMappedFile, through the optional @quiver/native addon):
// same data as FileReader, batches as views of the mapping, and the memory it saves, measured in
// fresh child processes. Without the addon the suite fails unless QUIVER_ALLOW_NO_NATIVE=1.
import test from 'ava';
import * as A from 'apache-arrow';
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FileReader, isMmapAvailable, openMappedFile, readFeather, writeIpcFile } from '../src/index.js';
import { batchOf, canon, encode, expectedValue, SAMPLE_CANON, sampleTable, tempFile, tempPath } from './helpers/unit-helpers.js';

const available = await isMmapAvailable();
const allowMissing = process.env['QUIVER_ALLOW_NO_NATIVE'] === '1';
const withNative = available ? test : test.skip;
const CHILD = fileURLToPath(new URL('./helpers/unit-mmap-child.js', import.meta.url));

test('the native addon is available (QUIVER_ALLOW_NO_NATIVE=1 allows running without it)', (t) => {
  if (!available && !allowMissing) {
    t.fail('@quiver/native did not load, so memory mapping is untested; build it, or set QUIVER_ALLOW_NO_NATIVE=1');
    return;
  }
  if (!available) t.log('@quiver/native is unavailable: the mmap tests are skipped (QUIVER_ALLOW_NO_NATIVE=1)');
  t.pass();
});

/** Runs the child script with `args`, returning its JSON line. */
function runChild(args: string[], opts: { env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {}): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), CHILD, ...args], { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`child exited with ${code}: ${stderr}`));
      try {
        resolve(JSON.parse(stdout.trim()) as Record<string, unknown>);
      } catch (e) {
        reject(new Error(`child wrote ${JSON.stringify(stdout)}; stderr ${stderr}`, { cause: e }));
      }
    });
  });
}

withNative('openMappedFile reads what FileReader reads', async (t) => {
  for (const [name, bytes] of [
    ['plain', encode(sampleTable().schema, [sampleTable()], 'file')],
    ['zstd', encode(sampleTable().schema, [sampleTable()], 'file', { compression: 'zstd' })],
  ] as const) {
    const path = tempFile(t, `${name}.arrow`, bytes);
    const plain = await FileReader.open(path);
    const mapped = await openMappedFile(path);
    t.is(mapped.numRecordBatches, plain.numRecordBatches);
    t.deepEqual(mapped.schema.fields.map(String), plain.schema.fields.map(String));
    for (const i of [2, 0, 1]) t.deepEqual(canon(new A.Table([await mapped.recordBatch(i)])), canon(new A.Table([await plain.recordBatch(i)])));
    t.deepEqual(canon(await mapped.readAll()), SAMPLE_CANON, name);
    await mapped.close();
    await plain.close();
    t.deepEqual(canon(await readFeather(path, { mmap: true })), SAMPLE_CANON);
  }
});

withNative("batches are views of the mapping: one ArrayBuffer, the file's size", async (t) => {
  const schema = new A.Schema([new A.Field('v', new A.Int32(), false)]);
  const batches = Array.from({ length: 5 }, (_, b) =>
    batchOf(schema, [A.makeData({ type: new A.Int32(), length: 1000, nullCount: 0, data: Int32Array.from({ length: 1000 }, (_, k) => expectedValue(b * 1000 + k)) })]),
  );
  const path = tempPath(t, 'views.arrow');
  await writeIpcFile(path, batches, 'file', { schema });
  const size = statSync(path).size;
  const reader = await openMappedFile(path);
  const table = await reader.readAll();
  const buffers = table.batches.map((b) => (b.getChildAt(0)!.data[0]!.values as Int32Array).buffer);
  t.is(buffers.length, 5);
  t.true(buffers.every((b) => b === buffers[0]), 'every batch views the same ArrayBuffer');
  t.is(buffers[0]!.byteLength, size, 'that ArrayBuffer is the whole mapped file');
  t.deepEqual([...(table.batches[3]!.getChildAt(0)!.data[0]!.values as Int32Array)].slice(0, 3), [3000, 3001, 3002].map(expectedValue));
  // An ordinary FileReader gives each batch a buffer of its own instead.
  const plainReader = await FileReader.open(path);
  const plain = await plainReader.readAll();
  await plainReader.close();
  const own = plain.batches.map((b) => (b.getChildAt(0)!.data[0]!.values as Int32Array).buffer);
  t.is(new Set(own).size, 5);
  t.true(own.every((b) => b.byteLength < size));
  await reader.close();
});

withNative('10,000,000 int32 in 1,000 batches: an ordinary read holds them, a mapped read allocates under 1 MB', async (t) => {
  const schema = new A.Schema([new A.Field('v', new A.Int32(), false)]);
  const path = tempPath(t, 'big.arrow');
  async function* batches(): AsyncGenerator<A.RecordBatch> {
    for (let b = 0; b < 1000; b++) {
      const data = new Int32Array(10_000);
      for (let k = 0; k < data.length; k++) data[k] = expectedValue(b * 10_000 + k);
      yield batchOf(schema, [A.makeData({ type: new A.Int32(), length: data.length, nullCount: 0, data })]);
    }
  }
  await writeIpcFile(path, batches(), 'file', { schema });
  t.true(statSync(path).size > 40_000_000);
  const MB = 1024 * 1024;
  // One at a time: the two children must not compete for the machine's memory.
  const plain = await runChild(['measure', 'plain', path], { nodeArgs: ['--expose-gc'] });
  const mapped = await runChild(['measure', 'mapped', path], { nodeArgs: ['--expose-gc'] });
  const total = (r: Record<string, unknown>) => (r['arrayBuffers'] as number) + (r['external'] as number);
  t.log(`ordinary FileReader: arrayBuffers +${((plain['arrayBuffers'] as number) / MB).toFixed(2)} MB, external +${((plain['external'] as number) / MB).toFixed(2)} MB`);
  t.log(`openMappedFile:      arrayBuffers +${((mapped['arrayBuffers'] as number) / MB).toFixed(2)} MB, external +${((mapped['external'] as number) / MB).toFixed(2)} MB`);
  for (const r of [plain, mapped]) {
    t.is(r['batches'], 1000);
    t.is(r['rows'], 10_000_000);
    t.is(r['wrong'], 0, 'every value read back is the one written');
  }
  t.is(mapped['distinctBuffers'], 1);
  t.is(plain['distinctBuffers'], 1000);
  t.true(total(plain) >= 35 * MB, 'an ordinary read holds the data in ArrayBuffers');
  t.true((plain['arrayBuffers'] as number) >= 35 * MB);
  t.true(total(mapped) < 1 * MB, 'a mapped read allocates next to nothing');
});

test('with QUIVER_DISABLE_NATIVE=1, @quiver/core imports and openMappedFile rejects with ERR_QUIVER_NATIVE_UNAVAILABLE', async (t) => {
  const path = tempFile(t, 'disabled.arrow', encode(sampleTable().schema, [sampleTable()], 'file'));
  const result = await runChild(['disabled', path], { env: { ...process.env, QUIVER_DISABLE_NATIVE: '1' } });
  t.deepEqual(result, {
    available: false,
    openMappedFile: 'ERR_QUIVER_NATIVE_UNAVAILABLE',
    mapFile: 'ERR_QUIVER_NATIVE_UNAVAILABLE',
    readFeatherMmap: 'ERR_QUIVER_NATIVE_UNAVAILABLE',
    plainBatches: 3,
  });
});

withNative('without QUIVER_DISABLE_NATIVE the same child maps the file (the switch is what the previous test saw)', async (t) => {
  const path = tempFile(t, 'enabled.arrow', encode(sampleTable().schema, [sampleTable()], 'file'));
  const env = { ...process.env };
  delete env['QUIVER_DISABLE_NATIVE'];
  const result = await runChild(['disabled', path], { env });
  t.is(result['available'], true);
  t.is(result['openMappedFile'], 'resolved');
});
