/**
 * The README's demo: a short tour of Quiver's file scenarios on this machine, mirroring
 * pyarrow's IPC documentation — a stream, a random-access file, a memory-mapped read of a big
 * file, and Feather with each compression — ending with a table of what moved where, how fast.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FileReader, StreamReader, isMmapAvailable, readFeather, toRows, writeFeather, writeIpcFile } from '@quiver/core';
import { fileRowsTable } from './data.js';

interface Row {
  scenario: string;
  what: string;
  bytes: number;
  ms: number;
  note: string;
}

const rows: Row[] = [];
const mb = (n: number) => (n / 1e6).toFixed(1);

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'quiver-demo-'));
  try {
    // 1. The streaming format: write batches, read them back incrementally.
    const table = fileRowsTable(100_000, 10);
    const streamPath = join(dir, 'data.arrows');
    const [, wms] = await timed(() => writeIpcFile(streamPath, table, 'stream'));
    const size = (await stat(streamPath)).size;
    rows.push({ scenario: 'stream', what: 'write 10 batches', bytes: size, ms: wms, note: `${table.numRows} rows` });
    const [n, rms] = await timed(async () => {
      const reader = await StreamReader.open((await import('node:fs')).createReadStream(streamPath));
      let count = 0;
      for await (const b of reader) count += b.numRows;
      return count;
    });
    rows.push({ scenario: 'stream', what: 'read incrementally', bytes: size, ms: rms, note: `${n} rows back` });

    // 2. The file format: random access to one batch.
    const filePath = join(dir, 'data.arrow');
    await writeIpcFile(filePath, table, 'file');
    const [batch, fms] = await timed(async () => {
      const r = await FileReader.open(filePath);
      try {
        return await r.recordBatch(7);
      } finally {
        await r.close();
      }
    });
    rows.push({ scenario: 'file', what: 'fetch batch 7 of 10', bytes: (await stat(filePath)).size, ms: fms, note: `first row ${JSON.stringify(toRows(batch.slice(0, 1)), (_k, v) => (typeof v === 'bigint' ? String(v) : v))}` });

    // 3. Memory-mapped reading: 10,000,000 int32 values in 1,000 batches.
    const bigPath = join(dir, 'big.arrow');
    const values = new Int32Array(10_000);
    const batches = Array.from({ length: 1000 }, (_, i) => {
      values.fill(i);
      return new A.RecordBatch({ v: A.makeData({ type: new A.Int32(), data: values.slice() }) });
    });
    await writeIpcFile(bigPath, new A.Table(batches), 'file');
    const bigSize = (await stat(bigPath)).size;
    batches.length = 0;
    const measure = (mode: 'plain' | 'mmap') => {
      const script = fileURLToPath(new URL('./measure-read.js', import.meta.url));
      const r = spawnSync(process.execPath, ['--expose-gc', script, mode, bigPath], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`measuring the ${mode} read failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as { held: number; ms: number; rows: number };
    };
    const plain = measure('plain');
    rows.push({ scenario: 'file', what: 'read 10M int32 (ordinary)', bytes: bigSize, ms: plain.ms, note: `holds ${mb(plain.held)} MB (ArrayBuffers and external) (${plain.rows} rows)` });
    if (await isMmapAvailable()) {
      const mapped = measure('mmap');
      rows.push({ scenario: 'mmap', what: 'read 10M int32 (mapped)', bytes: bigSize, ms: mapped.ms, note: `holds ${mb(mapped.held)} MB (ArrayBuffers and external) (${mapped.rows} rows)` });
    } else {
      rows.push({ scenario: 'mmap', what: 'skipped', bytes: 0, ms: 0, note: 'the native addon is not built here' });
    }

    // 4. Feather V2 with each compression.
    for (const compression of ['lz4', 'zstd', 'uncompressed'] as const) {
      const p = join(dir, `data.${compression}.feather`);
      const [, ws] = await timed(() => writeFeather(table, p, { compression }));
      const [back, rs] = await timed(() => readFeather(p, { columns: ['id', 'label'] }));
      rows.push({ scenario: 'feather', what: `${compression}: write + read 2 columns`, bytes: (await stat(p)).size, ms: ws + rs, note: `${back.numCols} cols x ${back.numRows} rows` });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const header = ['scenario', 'what', 'size MB', 'ms', 'MB/s', 'note'];
  const body = rows.map((r) => [r.scenario, r.what, mb(r.bytes), r.ms.toFixed(1), r.ms > 0 ? (r.bytes / 1e3 / r.ms).toFixed(0) : '-', r.note]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\nQuiver demo (node ${process.version})\n`);
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const b of body) console.log(line(b));
}

await main();
