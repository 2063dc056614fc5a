// The child of the full-disk test, run with a small tmpfs mounted at <dir> (its own mount
// namespace):  node full-disk-child.js <dir>
// Writes a file too big for the tmpfs in each way core writes files, then a small one, and prints
// one JSON line: per writer the error code (or "ok"), the descriptors open before and after, and
// what is left in <dir>.
import { createWriteStream, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import { readFeather, writableSink, writeFeather, writeIpc, writeIpcFile } from '../../src/index.js';

const dir = process.argv[2]!;
const fds = () => readdirSync('/proc/self/fd').length;
// ~2 MiB of column data: more than the tmpfs the test mounts (1 MiB).
const big = A.tableFromArrays({ x: Float64Array.from({ length: 1 << 18 }, (_, i) => i) });
const small = A.tableFromArrays({ x: Float64Array.from({ length: 1000 }, (_, i) => i) });

const code = (e: unknown) => (e as { code?: string }).code ?? String(e);
async function attempt(name: string, write: (path: string) => Promise<unknown>): Promise<Record<string, unknown>> {
  const path = join(dir, `${name}.arrow`);
  const before = fds();
  let result = 'ok';
  try {
    await write(path);
  } catch (e) {
    result = code(e);
  }
  const after = fds();
  rmSync(path, { force: true }); // the partial file, so the next writer starts with room
  return { result, before, after };
}

const out: Record<string, unknown> = {
  file: await attempt('file', (p) => writeIpcFile(p, big, 'file')),
  stream: await attempt('stream', (p) => writeIpcFile(p, big, 'stream')),
  feather: await attempt('feather', (p) => writeFeather(big, p, { compression: 'uncompressed' })),
  writable: await attempt('writable', (p) => writeIpc(writableSink(createWriteStream(p)), big, 'stream')),
};
// There is room again: a file that fits is written and reads back whole.
const smallPath = join(dir, 'small.feather');
await writeFeather(small, smallPath);
out['small'] = (await readFeather(smallPath)).numRows;
rmSync(smallPath);
out['left'] = readdirSync(dir);
process.stdout.write(`${JSON.stringify(out)}\n`);
