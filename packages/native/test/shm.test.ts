import test from 'ava';
import { fstatSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NativeBinding } from '../src/index.js';
import { getNative, shouldTestNative, uniqueShmName } from './helpers.js';

const t0 = shouldTestNative ? test : test.skip;

/** Unlinks `name` at teardown if it still exists. */
function cleanupShm(n: NativeBinding, name: string, t: { teardown: (fn: () => void) => void }): void {
  t.teardown(() => {
    try {
      n.shmUnlink(name);
    } catch {
      // already unlinked
    }
  });
}

t0('shmOpen create / exclusive / open existing / unlink', (t) => {
  const n = getNative();
  const name = uniqueShmName('lifecycle');
  cleanupShm(n, name, t);

  const e1 = t.throws(() => n.shmOpen(name, {}, 0o600)) as Error & Record<string, unknown>;
  t.is(e1.code, 'ERR_QUIVER_NATIVE_ERRNO');
  t.is(e1.errnoName, 'ENOENT');
  t.is(e1.syscall, 'shm_open');
  t.is(e1.path, name);

  const fd = n.shmOpen(name, { create: true, exclusive: true }, 0o600);
  t.true(Number.isInteger(fd) && fd >= 0);
  t.is(n.fstatSize(fd), 0);

  const e2 = t.throws(() => n.shmOpen(name, { create: true, exclusive: true }, 0o600)) as Error & Record<string, unknown>;
  t.is(e2.errnoName, 'EEXIST');

  const fd2 = n.shmOpen(name, { create: true }, 0o600); // create without exclusive opens the existing one
  const fd3 = n.shmOpen(name); // defaults: open existing, read-write
  n.closeFd(fd2);
  n.closeFd(fd3);

  n.shmUnlink(name);
  const e3 = t.throws(() => n.shmUnlink(name)) as Error & Record<string, unknown>;
  t.is(e3.errnoName, 'ENOENT');
  const e4 = t.throws(() => n.shmOpen(name)) as Error & Record<string, unknown>;
  t.is(e4.errnoName, 'ENOENT');
  // The fd (and any mapping) outlives the name.
  n.ftruncate(fd, 4096);
  t.is(n.fstatSize(fd), 4096);
  n.closeFd(fd);
});

t0('mode 0600 is exact, and fchmod sets exact bits whatever the umask', (t) => {
  const n = getNative();
  const name = uniqueShmName('mode');
  cleanupShm(n, name, t);
  const fd = n.shmOpen(name, { create: true, exclusive: true }, 0o600);
  try {
    t.is(fstatSync(fd).mode & 0o7777, 0o600);
    n.fchmod(fd, 0o640);
    t.is(fstatSync(fd).mode & 0o7777, 0o640);
    n.fchmod(fd, 0o600);
    t.is(fstatSync(fd).mode & 0o7777, 0o600);
  } finally {
    n.closeFd(fd);
  }
});

t0('shm segment: ftruncate, fstatSize, shared writable mappings see each other', (t) => {
  const n = getNative();
  const name = uniqueShmName('shared');
  cleanupShm(n, name, t);
  const size = 2 * n.pageSize();
  const fd = n.shmOpen(name, { create: true, exclusive: true }, 0o600);
  n.ftruncate(fd, size);
  t.is(n.fstatSize(fd), size);
  const a = n.mmapFd(fd, size, true);
  n.closeFd(fd);
  const fdRo = n.shmOpen(name, { readOnly: true });
  const b = n.mmapFd(fdRo, size, false);
  // A read-only descriptor cannot give a writable mapping.
  const e = t.throws(() => n.mmapFd(fdRo, size, true)) as Error & Record<string, unknown>;
  t.is(e.errnoName, 'EACCES');
  n.closeFd(fdRo);
  new Uint32Array(a)[100] = 0xdeadbeef;
  t.is(new Uint32Array(b)[100], 0xdeadbeef);
  n.unmap(a);
  n.unmap(b);
});

t0('fallocate reserves a segment\'s pages now; more than /dev/shm holds is ENOSPC at once, not a SIGBUS later', (t) => {
  const n = getNative();
  const name = uniqueShmName('falloc');
  cleanupShm(n, name, t);
  const size = 4 * n.pageSize();
  const fd = n.shmOpen(name, { create: true, exclusive: true }, 0o600);
  try {
    n.ftruncate(fd, size);
    t.is(fstatSync(fd).blocks, 0, 'ftruncate alone leaves the segment sparse');
    n.fallocate(fd, size);
    t.is(fstatSync(fd).blocks * 512, size, 'every page is reserved');
    t.is(n.fstatSize(fd), size);
    // tmpfs refuses an allocation larger than the whole file system before touching a page.
    const e = t.throws(() => n.fallocate(fd, 2 ** 52)) as Error & Record<string, unknown>;
    t.is(e.code, 'ERR_QUIVER_NATIVE_ERRNO');
    t.true(e.errnoName === 'ENOSPC' || e.errnoName === 'EFBIG', String(e.errnoName));
    t.is(e.syscall, 'posix_fallocate');
    t.is(n.fstatSize(fd), size, 'a failed fallocate leaves the size alone');
  } finally {
    n.closeFd(fd);
  }
});

t0('shm argument validation', (t) => {
  const n = getNative();
  const cases: Array<[string, () => unknown]> = [
    ['empty name', () => n.shmOpen('')],
    ['only a slash', () => n.shmOpen('/')],
    ['inner slash', () => n.shmOpen('/a/b')],
    ['dot-dot', () => n.shmOpen('/..')],
    ['too long', () => n.shmOpen('/' + 'x'.repeat(300))],
    ['non-string', () => (n.shmOpen as (x: unknown) => unknown)(42)],
    ['flags not an object', () => (n.shmOpen as (a: unknown, b: unknown) => unknown)('/x', 'create')],
    ['flags.create not boolean', () => (n.shmOpen as (a: unknown, b: unknown) => unknown)('/x', { create: 1 })],
    ['exclusive without create', () => n.shmOpen('/x', { exclusive: true })],
    ['mode out of range', () => n.shmOpen('/x', { create: true }, 0o10000)],
    ['mode not integer', () => n.shmOpen('/x', { create: true }, 1.5)],
    ['unlink non-string', () => (n.shmUnlink as (x: unknown) => unknown)(null)],
    ['ftruncate negative', () => n.ftruncate(0, -1)],
    ['fallocate zero', () => n.fallocate(0, 0)],
    ['fchmod bad mode', () => n.fchmod(0, -1)],
    ['closeFd -1', () => n.closeFd(-1)],
  ];
  for (const [what, fn] of cases) {
    const err = t.throws(fn, undefined, what) as Error & { code?: string };
    t.is(err?.code, 'ERR_QUIVER_INVALID_ARGUMENT', what);
  }
  const bad = t.throws(() => n.fstatSize(2 ** 30)) as Error & Record<string, unknown>;
  t.is(bad.errnoName, 'EBADF');
  const bad2 = t.throws(() => n.closeFd(2 ** 30)) as Error & Record<string, unknown>;
  t.is(bad2.errnoName, 'EBADF');
});

t0('getPeerCred on a Unix socket gives this process; on a regular file, ENOTSOCK', async (t) => {
  const n = getNative();
  const dir = mkdtempSync(join(tmpdir(), 'quiver-native-sock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 's.sock');
  const accepted = new Promise<Socket>((resolve) => {
    const server = createServer((sock) => {
      resolve(sock);
      server.close();
    });
    server.listen(path);
  });
  const client = connect(path);
  const serverSide = await accepted;
  // net.Socket does not expose its fd publicly; libuv's handle does on Unix.
  const fd = (serverSide as unknown as { _handle: { fd: number } })._handle.fd;
  t.true(fd >= 0);
  const cred = n.getPeerCred(fd);
  t.deepEqual(cred, { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
  client.destroy();
  serverSide.destroy();

  const filePath = join(dir, 'plain');
  const ffd = openSync(filePath, 'w');
  try {
    const err = t.throws(() => n.getPeerCred(ffd)) as Error & Record<string, unknown>;
    t.is(err.code, 'ERR_QUIVER_NATIVE_ERRNO');
    t.is(err.errnoName, 'ENOTSOCK');
    t.is(err.syscall, 'getsockopt');
  } finally {
    closeSync(ffd);
  }
});

t0('pageSize is a power of two', (t) => {
  const p = getNative().pageSize();
  t.true(p >= 4096 && (p & (p - 1)) === 0);
});
