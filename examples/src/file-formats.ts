/**
 * The file formats, mirroring pyarrow's IPC documentation: write a stream and read it back
 * incrementally; write a random-access file and fetch one batch; memory-map a big file; write
 * Feather with each compression and read some columns back. Checks its own results (sums and
 * counts) and exits non-zero if any is wrong.
 *
 *   node examples/dist/src/file-formats.js
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import { FileReader, StreamReader, isMmapAvailable, openMappedFile, readFeather, writeFeather, writeIpcFile } from '@quiver/core';

function check(what: string, got: unknown, want: unknown): void {
  if (got !== want) throw new Error(`${what}: got ${String(got)}, expected ${String(want)}`);
  console.log(`ok  ${what} = ${String(got)}`);
}

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

const dir = await mkdtemp(join(tmpdir(), 'quiver-example-'));
try {
  const table = numbers(100_000, 10);
  const total = (100_000 * 99_999) / 2;

  // Streaming format: pa.ipc.new_stream / pa.ipc.open_stream.
  const streamPath = join(dir, 'numbers.arrows');
  await writeIpcFile(streamPath, table, 'stream', { compression: 'lz4' });
  const reader = await StreamReader.open(createReadStream(streamPath));
  let streamed = 0;
  for await (const batch of reader) streamed += sum(batch);
  check('stream: sum read incrementally', streamed, total);

  // File format: pa.ipc.new_file / pa.ipc.open_file, random access.
  const filePath = join(dir, 'numbers.arrow');
  await writeIpcFile(filePath, table, 'file');
  const file = await FileReader.open(filePath);
  check('file: record batches', file.numRecordBatches, 10);
  check('file: first value of batch 7', (await file.recordBatch(7)).getChild('n')!.get(0), 70_000);
  await file.close();

  // Memory-mapped reading: pa.memory_map + open_file.
  if (await isMmapAvailable()) {
    const mapped = await openMappedFile(filePath);
    check('mmap: sum of all batches', sum(await mapped.readAll()), total);
    await mapped.close();
  } else {
    console.log('skip mmap: the native addon is not built here');
  }

  // Feather V2: pyarrow.feather.write_feather / read_table, each compression.
  for (const compression of ['lz4', 'zstd', 'uncompressed'] as const) {
    const p = join(dir, `numbers.${compression}.feather`);
    await writeFeather(table, p, { compression });
    const back = await readFeather(p, { columns: ['n'] });
    check(`feather ${compression}: columns read`, back.numCols, 1);
    check(`feather ${compression}: sum`, sum(back), total);
  }
  console.log('OK file-formats');
} finally {
  await rm(dir, { recursive: true, force: true });
}
