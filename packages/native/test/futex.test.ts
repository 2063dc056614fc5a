import test from 'ava';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { fixture, getNative, nextImmediate, runNode, shouldTestNative, uniqueShmName } from './helpers.js';

const t0 = shouldTestNative ? test : test.skip;
const serial = shouldTestNative ? test.serial : test.skip;

t0("futexWaitAsync resolves 'not-equal' at once when the word differs", async (t) => {
  const n = getNative();
  const sab = new SharedArrayBuffer(16);
  const i32 = new Int32Array(sab);
  Atomics.store(i32, 2, 7);
  t.is(await n.futexWaitAsync(sab, 8, 6, Infinity), 'not-equal');
  t.is(await n.futexWaitAsync(sab, 0, 1, Infinity, 0), 'not-equal');
  // int32 and uint32 spellings of the same bits are equal: -1 === 0xffffffff, so this sleeps (0 ms).
  Atomics.store(i32, 3, -1);
  t.is(await n.futexWaitAsync(sab, 12, 0xffffffff, 0), 'timed-out');
  t.is(await n.futexWaitAsync(sab, 12, -1, 0), 'timed-out');
  t.is(await n.futexWaitAsync(sab, 12, 0, 0), 'not-equal');
});

t0("futexWaitAsync resolves 'timed-out' after its timeout (thread path and spin path)", async (t) => {
  const n = getNative();
  const sab = new SharedArrayBuffer(8);
  t.is(await n.futexWaitAsync(sab, 0, 0, 1, 0), 'timed-out');
  t.is(await n.futexWaitAsync(sab, 4, 0, 5), 'timed-out');
  t.is(await n.futexWaitAsync(new Int32Array(sab), 4, 0, 0.5, 100), 'timed-out');
  // Several at once need several waiter threads.
  const many = await Promise.all(Array.from({ length: 6 }, () => n.futexWaitAsync(sab, 0, 0, 3, 0)));
  t.deepEqual(many, Array(6).fill('timed-out'));
});

t0('the event loop keeps running while a wait is pending; futexWake then wakes it', async (t) => {
  const n = getNative();
  const sab = new SharedArrayBuffer(16);
  let settled = false;
  const pending = n.futexWaitAsync(sab, 4, 0, Infinity, 0).then((r) => {
    settled = true;
    return r;
  });
  let ticks = 0;
  while (ticks < 100) {
    await nextImmediate();
    ticks++;
  }
  t.is(ticks, 100);
  t.false(settled, 'nothing woke it yet');
  // Wake without changing the word: only a real kernel wake-up can settle it now.
  let woken = 0;
  while (woken === 0) {
    woken = n.futexWake(sab, 4, 1);
    if (woken === 0) await nextImmediate();
  }
  t.is(woken, 1);
  t.is(await pending, 'ok');
  t.is(n.futexWake(sab, 4, Infinity), 0, 'no waiter left');
});

t0("a store + wake right after the call resolves 'ok' (whether the waiter slept yet or not)", async (t) => {
  const n = getNative();
  const sab = new SharedArrayBuffer(8);
  const i32 = new Int32Array(sab);
  // With the default adaptive spin. If the waiter thread has not reached the kernel yet it gets
  // EAGAIN (the word changed after the synchronous check), which also means 'ok'.
  const p = n.futexWaitAsync(sab, 0, 0, Infinity);
  Atomics.store(i32, 0, 1);
  n.futexWake(sab, 0, Infinity);
  t.is(await p, 'ok');
});

t0('futexWake / futexWaitAsync validate their arguments', async (t) => {
  const n = getNative();
  const sab = new SharedArrayBuffer(8);
  const call = (f: unknown, ...args: unknown[]) => () => (f as (...a: unknown[]) => unknown)(...args);
  const cases: Array<[string, () => unknown, 'TypeError' | 'RangeError']> = [
    ['misaligned offset', call(n.futexWake, sab, 2, 1), 'RangeError'],
    ['offset past the end', call(n.futexWake, sab, 8, 1), 'RangeError'],
    ['negative offset', call(n.futexWake, sab, -4, 1), 'RangeError'],
    ['offset not a number', call(n.futexWake, sab, '0', 1), 'TypeError'],
    ['misaligned view', call(n.futexWake, new Uint8Array(sab, 1), 0, 1), 'RangeError'],
    ['buffer too small', call(n.futexWake, new ArrayBuffer(3), 0, 1), 'RangeError'],
    ['not a buffer', call(n.futexWake, {}, 0, 1), 'TypeError'],
    ['a number as buffer', call(n.futexWake, 5, 0, 1), 'TypeError'],
    ['negative count', call(n.futexWake, sab, 0, -1), 'RangeError'],
    ['fractional count', call(n.futexWake, sab, 0, 1.5), 'RangeError'],
    ['wait: misaligned', call(n.futexWaitAsync, sab, 1, 0, 10), 'RangeError'],
    ['wait: expected too big', call(n.futexWaitAsync, sab, 0, 2 ** 32, 10), 'RangeError'],
    ['wait: expected too small', call(n.futexWaitAsync, sab, 0, -(2 ** 31) - 1, 10), 'RangeError'],
    ['wait: expected not a number', call(n.futexWaitAsync, sab, 0, '0', 10), 'TypeError'],
    ['wait: negative timeout', call(n.futexWaitAsync, sab, 0, 0, -1), 'RangeError'],
    ['wait: NaN timeout', call(n.futexWaitAsync, sab, 0, 0, Number.NaN), 'RangeError'],
    ['wait: timeout missing', call(n.futexWaitAsync, sab, 0, 0), 'TypeError'],
    ['wait: bad spin', call(n.futexWaitAsync, sab, 0, 0, 10, -1), 'RangeError'],
  ];
  for (const [what, fn, kind] of cases) {
    const err = t.throws(fn, undefined, what) as Error & { code?: string };
    t.is(err?.code, 'ERR_QUIVER_INVALID_ARGUMENT', what);
    t.is(err?.name, kind, what);
  }
  // Accepted shapes: ArrayBuffer, SharedArrayBuffer, typed arrays (offset from the view), DataView.
  t.is(n.futexWake(new ArrayBuffer(8), 4, 1), 0);
  t.is(n.futexWake(new Int32Array(sab, 4, 1), 0, 1), 0);
  t.is(n.futexWake(new DataView(sab), 4, 0), 0);
  t.is(n.futexWake(new BigInt64Array(2), 12, 1), 0);
});

t0('two processes share a segment: each wakes the other across the process boundary', async (t) => {
  const n = getNative();
  const name = uniqueShmName('xproc');
  const fd = n.shmOpen(name, { create: true, exclusive: true }, 0o600);
  t.teardown(() => {
    try {
      n.shmUnlink(name);
    } catch {
      // already gone
    }
  });
  n.ftruncate(fd, 4096);
  const ab = n.mmapFd(fd, 4096, true);
  n.closeFd(fd);
  const i32 = new Int32Array(ab);
  const u8 = new Uint8Array(ab);

  // The parent's own wait for the reply (word 1), started before the child exists.
  const replyWait = n.futexWaitAsync(ab, 4, 0, Infinity, 0);

  const child = fork(fixture('futex-peer'), [name], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let exited = false;
  const exit = once(child, 'exit').then(([code, signal]) => {
    exited = true;
    return { code, signal };
  });
  const messages: Array<Record<string, unknown>> = [];
  const gotResult = new Promise<Record<string, unknown>>((resolve) => {
    child.on('message', (m: Record<string, unknown>) => {
      messages.push(m);
      if (m.type === 'result') resolve(m);
    });
  });
  await new Promise<void>((resolve) => {
    child.on('message', (m: Record<string, unknown>) => {
      if (m.type === 'waiting') resolve();
    });
  });

  // The child is (or is about to be) asleep on word 0. Write the message, then wake it without
  // touching word 0, retrying on each loop turn until the kernel reports one waiter woken: that
  // proves a wake-up crossed the process boundary.
  const message = Buffer.from('hello from the parent through shared memory');
  u8.set(message, 64);
  Atomics.store(i32, 15, message.length);
  let woken = 0;
  while (woken === 0 && !exited) {
    woken = n.futexWake(ab, 0, 1);
    if (woken === 0) await nextImmediate();
  }
  t.is(woken, 1);

  const result = await gotResult;
  t.is(result.r1, 'ok');
  t.is(result.message, message.toString());

  t.is(await replyWait, 'ok');
  t.is(Atomics.load(i32, 1), 1);
  const reply = Buffer.from(u8.subarray(1024, 1024 + Atomics.load(i32, 255))).toString();
  t.is(reply, `child ${child.pid} got: ${message.toString()}`);
  t.deepEqual(await exit, { code: 0, signal: null });
  n.unmap(ab);
});

t0('a worker thread wakes a main-thread wait on a SharedArrayBuffer', async (t) => {
  const n = getNative();
  const sab = new SharedArrayBuffer(8);
  const wait = n.futexWaitAsync(sab, 0, 0, Infinity, 0);
  const worker = new Worker(fixture('worker-wake'), { workerData: { sab } });
  const [msg] = (await once(worker, 'message')) as [{ woken: number }];
  t.is(msg.woken, 1);
  t.is(await wait, 'ok');
  t.is(Atomics.load(new Int32Array(sab), 1), 42);
  await worker.terminate();
});

t0('terminating a worker with a wait pending cancels the wait and the worker exits', async (t) => {
  const sab = new SharedArrayBuffer(8);
  const worker = new Worker(fixture('worker-wait'), { workerData: { sab } });
  const settled: unknown[] = [];
  worker.on('message', (m: { type: string }) => {
    if (m.type === 'settled') settled.push(m);
  });
  await new Promise<void>((resolve) => {
    worker.on('message', (m: { type: string }) => {
      if (m.type === 'waiting') resolve();
    });
  });
  const code = await worker.terminate();
  t.is(code, 1); // terminate() reports exit code 1
  t.deepEqual(settled, []);
  t.is(getNative().futexWake(sab, 0, Infinity), 0, 'no waiter thread left behind');
});

t0('a process that calls process.exit(0) with waits pending exits cleanly', async (t) => {
  const r = await runNode(fixture('exit-with-wait'));
  t.is(r.stderr, '');
  t.is(r.stdout, 'exiting\n');
  t.is(r.signal, null);
  t.is(r.code, 0);
});

serial('unmap() during a pending wait detaches at once and munmaps when the wait settles', async (t) => {
  const n = getNative();
  const name = uniqueShmName('pinned');
  const fd = n.shmOpen(name, { create: true, exclusive: true }, 0o600);
  n.shmUnlink(name);
  n.ftruncate(fd, 4096);
  const a = n.mmapFd(fd, 4096, true);
  const b = n.mmapFd(fd, 4096, true); // a second view of the same page, to wake through
  n.closeFd(fd);
  const wait = n.futexWaitAsync(a, 64, 0, Infinity, 0);
  const before = n.debugCounters();
  n.unmap(a);
  t.is(a.byteLength, 0, 'detached at once');
  const during = n.debugCounters();
  t.is(during.unmapped, before.unmapped, 'munmap deferred while the wait is pending');
  let woken = 0;
  while (woken === 0) {
    woken = n.futexWake(b, 64, 1);
    if (woken === 0) await nextImmediate();
  }
  t.is(await wait, 'ok');
  const after = n.debugCounters();
  t.is(after.unmapped, before.unmapped + 1, 'munmapped once the wait settled');
  t.is(after.live, before.live - 1);
  n.unmap(b);
  t.is(n.debugCounters().unmapped, before.unmapped + 2);
  // Waiting on the detached buffer is a RangeError, not a crash.
  t.throws(() => n.futexWaitAsync(a, 64, 0, 10), { code: 'ERR_QUIVER_INVALID_ARGUMENT' } as never);
});

t0('futexWaitSync: true at once when the word differs, false after its budget, true when another thread changes the word and wakes it', async (t) => {
  const n = getNative();
  const sab = new SharedArrayBuffer(16);
  const i32 = new Int32Array(sab);
  Atomics.store(i32, 1, 5);
  t.true(n.futexWaitSync(sab, 4, 4, 0));
  t.false(n.futexWaitSync(sab, 4, 5, 0));
  t.false(n.futexWaitSync(sab, 4, 5, 200), 'nobody wakes it: the budget runs out');
  // A worker (with its own instance of the addon) that changes the word and wakes it once it
  // sees the flag; the wait (budget 1 s, far longer than this takes) returns at the wake.
  const addon = new URL('../../build/Release/quiver_native.node', import.meta.url).pathname;
  const w = new Worker(
    `const { workerData } = require('node:worker_threads');
     const n = require(workerData.addon);
     const a = new Int32Array(workerData.sab);
     while (Atomics.load(a, 2) === 0) {}
     Atomics.store(a, 1, 6);
     n.futexWake(workerData.sab, 4, 1);`,
    { eval: true, workerData: { sab, addon } },
  );
  await once(w, 'online');
  Atomics.store(i32, 2, 1);
  t.true(n.futexWaitSync(sab, 4, 5, 1_000_000));
  t.is(Atomics.load(i32, 1), 6);
  await once(w, 'exit');
  t.throws(() => n.futexWaitSync(sab, 4, 5, 2_000_000), { instanceOf: RangeError, code: 'ERR_QUIVER_INVALID_ARGUMENT' });
  t.throws(() => n.futexWaitSync(sab, 3, 5, 1), { instanceOf: RangeError, code: 'ERR_QUIVER_INVALID_ARGUMENT' });
});

t0('futexSpin: true at once when the word differs, true when another thread changes it, false after its budget', async (t) => {
  const n = getNative();
  const sab = new SharedArrayBuffer(16);
  const i32 = new Int32Array(sab);
  Atomics.store(i32, 1, 5);
  t.true(n.futexSpin(sab, 4, 4, 0));
  t.false(n.futexSpin(sab, 4, 5, 0));
  t.false(n.futexSpin(sab, 4, 5, 20));
  // A worker that changes the word once it sees the spin started: the spin (budget 1 s) sees it.
  const w = new Worker(
    `const { workerData } = require('node:worker_threads');
     const a = new Int32Array(workerData);
     while (Atomics.load(a, 2) === 0) {}
     Atomics.store(a, 1, 6);`,
    { eval: true, workerData: sab },
  );
  await once(w, 'online');
  Atomics.store(i32, 2, 1);
  t.true(n.futexSpin(sab, 4, 5, 1_000_000));
  t.is(Atomics.load(i32, 1), 6);
  await once(w, 'exit');
  t.throws(() => n.futexSpin(sab, 4, 5, 2_000_000), { instanceOf: RangeError, code: 'ERR_QUIVER_INVALID_ARGUMENT' });
  t.throws(() => n.futexSpin(sab, 3, 5, 1), { instanceOf: RangeError, code: 'ERR_QUIVER_INVALID_ARGUMENT' });
});
