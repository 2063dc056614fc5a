import test from 'ava';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as mod from '../src/index.js';
import { fixture, runNode, shouldTestNative } from './helpers.js';

const t0 = shouldTestNative ? test : test.skip;

t0('the addon loads here and requireNative returns the binding', (t) => {
  t.true(mod.isNativeAvailable, mod.nativeLoadError?.message);
  t.is(mod.nativeLoadError, undefined);
  t.is(mod.requireNative(), mod.native!);
  for (const fn of [
    'mmapFile', 'mmapFd', 'unmap', 'shmOpen', 'shmUnlink', 'ftruncate', 'fallocate', 'fstatSize', 'fchmod', 'closeFd',
    'futexWake', 'futexWaitAsync', 'getPeerCred', 'pageSize', 'debugCounters',
  ] as const) {
    t.is(typeof mod.native![fn], 'function', fn);
  }
});

test('QUIVER_DISABLE_NATIVE=1: isNativeAvailable is false and requireNative throws ERR_QUIVER_NATIVE_UNAVAILABLE', async (t) => {
  const r = await runNode(fixture('disabled-child'), [], { env: { ...process.env, QUIVER_DISABLE_NATIVE: '1' } });
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    isNativeAvailable: boolean;
    nativeType: string;
    loadErrorCode: string;
    thrown?: { code: string; causeCode: string; message: string };
  };
  t.false(out.isNativeAvailable);
  t.is(out.nativeType, 'undefined');
  t.is(out.loadErrorCode, 'ERR_QUIVER_NATIVE_UNAVAILABLE');
  t.is(out.thrown?.code, 'ERR_QUIVER_NATIVE_UNAVAILABLE');
  t.is(out.thrown?.causeCode, 'ERR_QUIVER_NATIVE_UNAVAILABLE');
  t.regex(out.thrown?.message ?? '', /QUIVER_DISABLE_NATIVE/);
});

t0('the addon works in a worker thread (its own environment): mmapFile + unmap', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'quiver-native-worker-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'w.txt');
  writeFileSync(path, 'mapped inside a worker');
  const results = await Promise.all(
    [0, 1].map(async () => {
      const worker = new Worker(fixture('worker-mmap'), { workerData: { path } });
      // Both listeners go on before anything is awaited: when a worker exits, Node delivers its
      // last messages and then 'exit' in the same tick, so a listener added after 'message'
      // resolved can miss 'exit' and the test would wait forever.
      const exited = once(worker, 'exit');
      const [msg] = await once(worker, 'message');
      const [code] = await exited;
      return { msg, code };
    }),
  );
  for (const { msg, code } of results) {
    t.deepEqual(msg, { text: 'mapped inside a worker', length: 22, afterUnmap: 0 });
    t.is(code, 0);
  }
});

t0('worker threads that exit holding live mappings (mmapFile, mapFileShared) do not take the process down', async (t) => {
  // Each worker's teardown releases its mappings after Node has closed the addons that worker
  // loaded: the release must not call into a module that is gone (it did: SIGSEGV in
  // ArrayBufferSweeper::ReleaseAll, for quiver_map's SharedArrayBuffers).
  const dir = mkdtempSync(join(tmpdir(), 'quiver-native-exit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'm.bin');
  writeFileSync(path, Buffer.alloc(3 * 4096 + 5, 7));
  const r = await runNode(fixture('exit-mapped-child'), [path, '6']);
  t.is(r.signal, null, r.stderr);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), Array.from({ length: 6 }, () => [3 * 4096 + 5, 3 * 4096 + 5]));
});
