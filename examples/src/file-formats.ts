/**
 * The file formats, mirroring pyarrow's IPC documentation: write a stream and read it back
 * incrementally; write a random-access file and fetch one batch; memory-map a file, and read a
 * big one (10M int32) both ways, each in a fresh process, to see what each holds in memory; write
 * Feather with each compression and read some columns back. Checks its own results (sums and
 * counts) and exits non-zero if any is wrong.
 *
 *   node examples/dist/src/file-formats.js
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as A from 'apache-arrow';
import { FileReader, StreamReader, isMmapAvailable, openMappedFile, readFeather, writeFeather, writeIpcFile } from '@quiver/core';
import { batchBytes } from './data.js';
import { Checks, isMain, mb, runExample, timed, type ExampleOptions, type Figure } from './example.js';

/** 0..n-1 in `batches` batches of an int32 column `n` and a utf8 column `s`. */
function numbers(n: number, batches: number): A.Table {
  const per = n / batches;
  return new A.Table(
    Array.from({ length: batches }, (_, b) => {
      const v = Int32Array.from({ length: per }, (_, i) => b * per + i);
      return new A.RecordBatch({
        n: A.makeData({ type: new A.Int32(), data: v }),
        s: A.vectorFromArray(Array.from(v, (x) => `#${x}`), new A.Utf8()).data[0]!,
      });
    }),
  );
}

const sum = (t: A.Table | A.RecordBatch, col = 'n'): number => {
  let s = 0;
  for (const x of t.getChild(col)!) s += x as number;
  return s;
};

interface Measured {
  held: number;
  ms: number;
  rows: number;
  sum: number;
}

/** Reads `path` whole in a fresh process (measure-read.js), so each measurement starts from a clean heap. */
function measureRead(mode: 'plain' | 'mmap', path: string): Promise<Measured> {
  const script = fileURLToPath(new URL('./measure-read.js', import.meta.url));
  const child = spawn(process.execPath, ['--expose-gc', script, mode, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Measured) : reject(new Error(`measuring the ${mode} read failed: ${err}`)))),
  );
}

export async function fileFormats(opts: ExampleOptions = {}): Promise<Figure[]> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const checks = new Checks(log);
  const figures: Figure[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'quiver-example-'));
  try {
    const table = numbers(100_000, 10);
    const total = (100_000 * 99_999) / 2;

    // Streaming format: pa.ipc.new_stream / pa.ipc.open_stream.
    const streamPath = join(dir, 'numbers.arrows');
    const [streamed, sms] = await timed(async () => {
      await writeIpcFile(streamPath, table, 'stream', { compression: 'lz4' });
      const reader = await StreamReader.open(createReadStream(streamPath));
      let s = 0;
      for await (const batch of reader) s += sum(batch);
      return s;
    });
    checks.equal('stream: sum read incrementally', streamed, total);
    figures.push({ scenario: 'stream', transport: 'file', what: 'write (lz4), read incrementally', batches: 10, bytes: (await stat(streamPath)).size, ms: sms, checks: checks.take() });

    // File format: pa.ipc.new_file / pa.ipc.open_file, random access.
    const filePath = join(dir, 'numbers.arrow');
    await writeIpcFile(filePath, table, 'file');
    const [seventh, fms] = await timed(async () => {
      const file = await FileReader.open(filePath);
      try {
        checks.equal('file: record batches', file.numRecordBatches, 10);
        return await file.recordBatch(7); // the footer first, then only this batch's bytes
      } finally {
        await file.close();
      }
    });
    checks.equal('file: first value of batch 7', seventh.getChild('n')!.get(0), 70_000);
    const fileSize = (await stat(filePath)).size;
    figures.push({ scenario: 'file', transport: 'file', what: 'random access: batch 7 of 10', batches: 1, bytes: batchBytes(seventh), ms: fms, checks: checks.take(), note: `footer, then one batch of a ${mb(fileSize)} MB file` });

    // A big file (10M int32 in 1,000 batches) read whole, ordinarily and mapped.
    const bigPath = join(dir, 'big.arrow');
    const values = new Int32Array(10_000);
    await writeIpcFile(
      bigPath,
      new A.Table(
        Array.from({ length: 1000 }, (_, i) => {
          values.fill(i);
          return new A.RecordBatch({ v: A.makeData({ type: new A.Int32(), data: values.slice() }) });
        }),
      ),
      'file',
    );
    const bigSize = (await stat(bigPath)).size;
    const bigSum = 10_000 * ((999 * 1000) / 2);
    for (const mode of ['plain', 'mmap'] as const) {
      const what = `read 10M int32 whole (${mode === 'plain' ? 'ordinary' : 'mapped'})`;
      if (mode === 'mmap' && !(await isMmapAvailable())) {
        log('skip mmap: the native addon is not built here');
        figures.push({ scenario: 'mmap', transport: 'mmap', what, batches: 0, bytes: 0, ms: 0, checks: 0, skipped: 'the native addon is not built here' });
        continue;
      }
      if (mode === 'mmap') {
        // Memory-mapped reading: pa.memory_map + open_file.
        const mapped = await openMappedFile(filePath);
        checks.equal('mmap: sum of all batches', sum(await mapped.readAll()), total);
        await mapped.close();
      }
      const m = await measureRead(mode, bigPath);
      checks.equal(`${mode}: rows of the big file`, m.rows, 10_000_000);
      checks.equal(`${mode}: sum of the big file`, m.sum, bigSum);
      figures.push({ scenario: mode === 'plain' ? 'file' : 'mmap', transport: mode === 'plain' ? 'file' : 'mmap', what, batches: 1000, bytes: bigSize, ms: m.ms, checks: checks.take(), note: `holds ${Math.abs(m.held) < 1e6 ? 'under 1' : mb(m.held)} MB afterwards` });
    }

    // Feather V2: pyarrow.feather.write_feather / read_table, each compression.
    for (const compression of ['lz4', 'zstd', 'uncompressed'] as const) {
      const p = join(dir, `numbers.${compression}.feather`);
      const [back, ms] = await timed(async () => {
        await writeFeather(table, p, { compression });
        return readFeather(p, { columns: ['n'] });
      });
      checks.equal(`feather ${compression}: columns read`, back.numCols, 1);
      checks.equal(`feather ${compression}: sum`, sum(back), total);
      figures.push({ scenario: 'feather', transport: 'file', what: `${compression}: write, read 1 of 2 columns`, batches: back.batches.length, bytes: (await stat(p)).size, ms, checks: checks.take() });
    }
    return figures;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await runExample('file-formats', fileFormats);
