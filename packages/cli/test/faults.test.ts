// The CLI's file output under faults: a disk that fills up during `quiver convert` (a 256 KiB
// tmpfs in the child's own mount namespace, where the machine allows it) and an OUT that is a
// device rather than a file.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import { writeIpcFile } from '@quiver/core';
import { runWithTmpfs, tmpDir, tmpfsUnavailable } from '@quiver/testkit';
import { BIN, errorOf, quiver } from './helpers.js';

/** ~2 MiB of column data. */
const big = () => A.tableFromArrays({ x: Float64Array.from({ length: 1 << 18 }, (_, i) => i) });

const why = tmpfsUnavailable();
if (why !== null) console.warn(`faults: the full-disk CLI test is skipped: ${why}`);

(why === null ? test : test.skip)('convert onto a full disk (256 KiB tmpfs): exit 1, ERR_QUIVER_IO, no partial OUT and no temporary file left', async (t) => {
  const dir = tmpDir(t);
  const input = join(dir, 'in.arrow');
  await writeIpcFile(input, big(), 'file');
  const out = join(dir, 'full');
  mkdirSync(out);
  // In the child's namespace: convert, then list what is left on the small disk.
  const script = `"$0" "$1" convert "$2" "$3/out.arrows"; echo "exit $?"; ls -A "$3"`;
  const r = await runWithTmpfs([{ at: out, bytes: 256 * 1024 }], 'sh', ['-c', script, process.execPath, BIN, input, out]);
  const lines = r.stdout.trim().split('\n');
  t.is(lines[0], 'exit 1', r.stderr);
  t.deepEqual(lines.slice(1), [], 'nothing left on the full disk');
  t.is(errorOf({ ...r, code: 1 })?.code, 'ERR_QUIVER_IO', r.stderr);
});

// A device node of our own (a copy of /dev/null made with mknod, which needs root), never the
// machine's: with the bug this guards against, the node would be replaced by a regular file.
const dev = tmpDir();
const devNull = join(dev, 'null');
const mknod = spawnSync('mknod', [devNull, 'c', '1', '3'], { encoding: 'utf8' });
if (mknod.status !== 0) console.warn(`faults: the device-OUT test is skipped: mknod failed (${mknod.stderr.trim() || mknod.error?.message})`);

(mknod.status === 0 ? test : test.skip)('convert to an OUT that is a device (a /dev/null of our own) writes into it and leaves the device in place', async (t) => {
  const dir = tmpDir(t);
  const input = join(dir, 'in.arrow');
  await writeIpcFile(input, big(), 'file');
  const r = await quiver('convert', input, devNull);
  t.is(r.code, 0, r.stderr);
  t.true(statSync(devNull).isCharacterDevice(), 'still the device node');
  t.deepEqual(readdirSync(dev), ['null'], 'no temporary file beside it');
});
