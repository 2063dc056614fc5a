// Writes that fail for want of space: /dev/full (every write is ENOSPC; needs nothing special) and
// a real full disk (a 1 MiB tmpfs in a child's own mount namespace, where the machine allows it).
// Each must end in ERR_QUIVER_IO, never a crash or an unhandled 'error' event, and leave no file
// descriptor open.
import test from 'ava';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as A from 'apache-arrow';
import { ErrorCode, fileSink, writableSink, writeFeather, writeIpc, writeIpcFile } from '../src/index.js';
import { fdsSettled, openFds, runWithTmpfs, tmpDir, tmpfsUnavailable } from '@quiver/testkit';

const table = (rows: number) => A.tableFromArrays({ x: Float64Array.from({ length: rows }, (_, i) => i) });

test.serial('/dev/full: writeIpcFile, writeFeather and fileSink fail with ERR_QUIVER_IO and close the file', async (t) => {
  const before = openFds();
  for (const rows of [10, 100_000]) {
    await t.throwsAsync(writeIpcFile('/dev/full', table(rows), 'file'), { code: ErrorCode.IO }, `file, ${rows} rows`);
    await t.throwsAsync(writeIpcFile('/dev/full', table(rows), 'stream'), { code: ErrorCode.IO }, `stream, ${rows} rows`);
    await t.throwsAsync(writeFeather(table(rows), '/dev/full'), { code: ErrorCode.IO }, `feather, ${rows} rows`);
  }
  const sink = await fileSink('/dev/full');
  const e = await t.throwsAsync(Promise.resolve(sink.write([new Uint8Array(8)])), { code: ErrorCode.IO });
  t.is((e?.cause as NodeJS.ErrnoException).code, 'ENOSPC');
  await sink.close();
  t.deepEqual(await fdsSettled(before), []);
});

test.serial('/dev/full through a Node stream: writableSink reports ERR_QUIVER_IO, small or large, and the process lives', async (t) => {
  const before = openFds();
  // Small: every write is accepted into the stream's buffer at once, and the error comes later,
  // on an 'error' event: without a listener it would have crashed this process.
  for (const rows of [10, 100_000]) {
    await t.throwsAsync(writeIpc(writableSink(createWriteStream('/dev/full')), table(rows), 'stream'), { code: ErrorCode.IO }, `${rows} rows`);
  }
  // A sink over a stream that already failed refuses at once.
  const w = createWriteStream('/dev/full');
  const sink = writableSink(w);
  await t.throwsAsync(Promise.resolve(sink.write([new Uint8Array(8)])).then(() => sink.close()), { code: ErrorCode.IO });
  await t.throwsAsync(Promise.resolve(sink.write([new Uint8Array(8)])), { code: ErrorCode.IO });
  t.deepEqual(await fdsSettled(before), []);
});

const why = tmpfsUnavailable();
const realDisk = why === null ? test.serial : test.serial.skip;
if (why !== null) console.warn(`faults: the real full-disk test is skipped: ${why}`);

realDisk('a real full disk (1 MiB tmpfs): every file writer fails with ERR_QUIVER_IO, closes its file, and the disk is usable after', async (t) => {
  const dir = tmpDir(t);
  const child = fileURLToPath(new URL('./helpers/full-disk-child.js', import.meta.url));
  const r = await runWithTmpfs([{ at: dir, bytes: 1 << 20 }], process.execPath, [child, dir]);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, { result: string; before: number; after: number }> & { small: number; left: string[] };
  for (const writer of ['file', 'stream', 'feather', 'writable'] as const) {
    t.is(out[writer].result, ErrorCode.IO, writer);
    t.is(out[writer].after, out[writer].before, `${writer}: descriptors`);
  }
  t.is(out.small, 1000);
  t.deepEqual(out.left, []);
});
