import test from 'ava';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, getNative, runNode, shouldTestNative } from './helpers.js';

const t0 = shouldTestNative ? test : test.skip;
const dir = mkdtempSync(join(tmpdir(), 'quiver-native-mmap-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
function tempFile(content: Uint8Array | string): string {
  const path = join(dir, `f${fileCounter++}`);
  writeFileSync(path, content);
  return path;
}

t0('mmapFile maps the whole file: bytes equal the file content', (t) => {
  const n = getNative();
  const content = randomBytes(3 * n.pageSize() + 123);
  const path = tempFile(content);
  const ab = n.mmapFile(path);
  t.true(ab instanceof ArrayBuffer);
  t.is(ab.byteLength, content.length);
  t.true(Buffer.from(ab).equals(content));
  t.true(Buffer.from(ab).equals(readFileSync(path)));
  n.unmap(ab);
});

t0('mmapFile of an empty file returns an empty ArrayBuffer, and unmap of it is a no-op', (t) => {
  const n = getNative();
  const ab = n.mmapFile(tempFile(''));
  t.true(ab instanceof ArrayBuffer);
  t.is(ab.byteLength, 0);
  t.notThrows(() => n.unmap(ab));
});

t0('mmapFile of a missing file throws an errno error with code and syscall', (t) => {
  const n = getNative();
  const path = join(dir, 'does-not-exist');
  const err = t.throws(() => n.mmapFile(path)) as Error & Record<string, unknown>;
  t.is(err.code, 'ERR_QUIVER_NATIVE_ERRNO');
  t.is(err.errno, 2);
  t.is(err.errnoName, 'ENOENT');
  t.is(err.syscall, 'open');
  t.is(err.path, path);
  t.regex(err.message, /ENOENT/);
});

t0('mmapFile of a directory throws EISDIR', (t) => {
  const n = getNative();
  const err = t.throws(() => n.mmapFile(dir)) as Error & Record<string, unknown>;
  t.is(err.code, 'ERR_QUIVER_NATIVE_ERRNO');
  t.is(err.errnoName, 'EISDIR');
});

t0('bad arguments throw ERR_QUIVER_INVALID_ARGUMENT and never crash', (t) => {
  const n = getNative();
  const bad: Array<[string, () => unknown]> = [
    ['mmapFile(123)', () => (n.mmapFile as (x: unknown) => unknown)(123)],
    ['mmapFile()', () => (n.mmapFile as () => unknown)()],
    ['mmapFile("")', () => n.mmapFile('')],
    ['mmapFile("a\\0b")', () => n.mmapFile('a\0b')],
    ['mmapFd(-1)', () => n.mmapFd(-1, 10, false)],
    ['mmapFd(1.5)', () => n.mmapFd(1.5, 10, false)],
    ['mmapFd("3")', () => (n.mmapFd as (...a: unknown[]) => unknown)('3', 10, false)],
    ['mmapFd(length NaN)', () => n.mmapFd(0, Number.NaN, false)],
    ['mmapFd(length -1)', () => n.mmapFd(0, -1, false)],
    ['mmapFd(writable "yes")', () => (n.mmapFd as (...a: unknown[]) => unknown)(0, 1, 'yes')],
    ['unmap({})', () => (n.unmap as (x: unknown) => unknown)({})],
    ['unmap(Uint8Array)', () => (n.unmap as (x: unknown) => unknown)(new Uint8Array(8))],
    ['unmap(plain ArrayBuffer)', () => n.unmap(new ArrayBuffer(8))],
    ['fstatSize(2**40)', () => n.fstatSize(2 ** 40)],
    ['closeFd(undefined)', () => (n.closeFd as (x: unknown) => unknown)(undefined)],
    ['getPeerCred(null)', () => (n.getPeerCred as (x: unknown) => unknown)(null)],
  ];
  for (const [what, fn] of bad) {
    const err = t.throws(fn, undefined, what) as Error & { code?: string };
    t.is(err?.code, 'ERR_QUIVER_INVALID_ARGUMENT', what);
    t.true(err instanceof TypeError || err instanceof RangeError, what);
  }
});

t0('unmap detaches: every view gets byteLength 0; unmap again is a no-op', (t) => {
  const n = getNative();
  const content = randomBytes(10_000);
  const ab = n.mmapFile(tempFile(content));
  const u8 = new Uint8Array(ab);
  const i32 = new Int32Array(ab, 8, 4);
  const dv = new DataView(ab, 100, 50);
  t.is(u8[5], content[5]);
  n.unmap(ab);
  t.is(ab.byteLength, 0);
  t.is(u8.byteLength, 0);
  t.is(u8.length, 0);
  t.is(i32.length, 0);
  t.is(u8[5] as number | undefined, undefined); // reads of a detached view are undefined, not a segfault
  t.throws(() => dv.getUint8(0));
  t.notThrows(() => n.unmap(ab));
  t.notThrows(() => n.unmap(ab));
  t.throws(() => new Uint8Array(ab, 0, 1));
});

t0('mmapFd maps a file read-write and writes reach the file', (t) => {
  const n = getNative();
  const path = tempFile(Buffer.alloc(8192));
  const fd = openSync(path, 'r+');
  let ab: ArrayBuffer;
  try {
    ab = n.mmapFd(fd, 8192, true);
  } finally {
    closeSync(fd); // the mapping outlives the descriptor
  }
  new Uint8Array(ab).set(Buffer.from('written through the mapping'), 4000);
  t.is(readFileSync(path).subarray(4000, 4027).toString(), 'written through the mapping');
  n.unmap(ab);
});

t0('mmapFd refuses a length beyond the end of the file (would SIGBUS) and maps length 0 as empty', (t) => {
  const n = getNative();
  const path = tempFile(Buffer.alloc(100));
  const fd = openSync(path, 'r');
  try {
    const err = t.throws(() => n.mmapFd(fd, 4096, false)) as RangeError & { code?: string };
    t.true(err instanceof RangeError);
    t.is(err.code, 'ERR_QUIVER_INVALID_ARGUMENT');
    t.is(n.mmapFd(fd, 0, false).byteLength, 0);
    const ro = n.mmapFd(fd, 100, false);
    t.is(ro.byteLength, 100);
    n.unmap(ro);
    // writable mapping of a read-only descriptor: EACCES from mmap, not a crash
    const e2 = t.throws(() => n.mmapFd(fd, 100, true)) as Error & Record<string, unknown>;
    t.is(e2.code, 'ERR_QUIVER_NATIVE_ERRNO');
    t.is(e2.errnoName, 'EACCES');
    t.is(e2.syscall, 'mmap');
  } finally {
    closeSync(fd);
  }
  // An fd that cannot be open (far above RLIMIT_NOFILE): EBADF. (Not the one just closed: a
  // concurrent test may have been given that number again.)
  const e3 = t.throws(() => n.mmapFd(2 ** 30, 10, false)) as Error & Record<string, unknown>;
  t.is(e3.errnoName, 'EBADF');
});

t0('a file larger than one ArrayBuffer can hold (Node 20: 4 GiB) is refused cleanly', (t) => {
  const n = getNative();
  const path = join(dir, 'sparse-5g');
  const fd = openSync(path, 'w');
  try {
    n.ftruncate(fd, 5 * 2 ** 30); // sparse: no disk used
  } finally {
    closeSync(fd);
  }
  const before = n.debugCounters();
  let ab: ArrayBuffer | undefined;
  try {
    ab = n.mmapFile(path);
  } catch (err) {
    t.truthy((err as { code?: string }).code, 'a coded error');
  }
  if (ab !== undefined) {
    // A Node that allows > 4 GiB ArrayBuffers: then it must really be mapped.
    t.is(ab.byteLength, 5 * 2 ** 30);
    n.unmap(ab);
  }
  const after = n.debugCounters();
  t.is(after.live, before.live, 'no mapping leaked');
  rmSync(path);
});

t0('mapped buffers are marked untransferable: a transfer list never moves the mapping', (t) => {
  const n = getNative();
  const ab = n.mmapFile(tempFile('abc'));
  // Node 20 ignores untransferable objects in a transfer list (copies them); newer Nodes throw
  // DataCloneError. Either way the mapping stays with this thread.
  let copy: ArrayBuffer | undefined;
  try {
    copy = structuredClone(ab, { transfer: [ab] });
  } catch (err) {
    t.is((err as Error).name, 'DataCloneError');
  }
  if (copy !== undefined) {
    t.not(copy, ab);
    t.is(Buffer.from(copy).toString(), 'abc');
  }
  t.is(ab.byteLength, 3, 'still attached');
  n.unmap(ab);
});

t0('GC: finalizers munmap exactly once, unmap()+GC does not double-munmap, survivors stay readable', async (t) => {
  const r = await runNode(fixture('gc-child'), [dir], { nodeArgs: ['--expose-gc'] });
  t.is(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
  t.deepEqual(result, {
    survivorIntact: true,
    afterGc: { mapped: 4, unmapped: 3, live: 1 },
    afterUnmapSurvivor: { mapped: 4, unmapped: 4, live: 0 },
    churn: { mapped: 204, unmapped: 204, live: 0 },
  });
});

t0('mapFileShared maps a file as a SharedArrayBuffer that V8 does not count as isolate memory', (t) => {
  const n = getNative();
  const content = randomBytes(16 * 1024 * 1024 + 5);
  const path = tempFile(content);
  const before = process.memoryUsage();
  const sab = n.mapFileShared(path);
  const after = process.memoryUsage();
  t.true(sab instanceof SharedArrayBuffer);
  t.is(sab.byteLength, content.length);
  t.true(Buffer.from(new Uint8Array(sab)).equals(content));
  // An ArrayBuffer over the same mapping would add its 16 MiB to `external`.
  t.true(after.external - before.external < 1024 * 1024, `external grew by ${after.external - before.external}`);
  t.true(after.arrayBuffers - before.arrayBuffers < 1024 * 1024);
  t.is(n.mapFileShared(tempFile('')).byteLength, 0);
  const err = t.throws(() => n.mapFileShared(join(dir, 'missing'))) as Error & { code: string; syscall: string };
  t.is(err.code, 'ERR_QUIVER_NATIVE_ERRNO');
  t.is(err.syscall, 'open');
});

t0('mapFdShared maps a shm segment writable, shared between two mappings', (t) => {
  const n = getNative();
  const name = `/quiver-test-sab-${process.pid}`;
  const fd = n.shmOpen(name, { create: true, exclusive: true }, 0o600);
  try {
    n.ftruncate(fd, 4096);
    const a = new Int32Array(n.mapFdShared(fd, 4096, true));
    const b = new Int32Array(n.mapFdShared(fd, 4096, false));
    Atomics.store(a, 3, 42);
    t.is(Atomics.load(b, 3), 42);
    const err = t.throws(() => n.mapFdShared(fd, 8192, true)) as Error & { code: string };
    t.is(err.code, 'ERR_QUIVER_INVALID_ARGUMENT');
  } finally {
    n.closeFd(fd);
    n.shmUnlink(name);
  }
});
