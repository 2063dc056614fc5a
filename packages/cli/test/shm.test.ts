// The network verbs over shared memory (shm://), as real processes: pub → sub and recv ← send
// deliver the rows of the source (read back with core), the segment is gone from /dev/shm
// afterwards, and SIGTERM to a listening recv removes it. Processes are synchronised on what
// they print (the "listening on" line), never on time. Skipped, with the reason logged, only
// where the shm: transport is unavailable (no @quiver/native addon, or not Linux).
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDir } from '@quiver/testkit';
import { readStreamTable } from '@quiver/core';
import { shmAvailability } from '@quiver/transport-shm';
import { BATCHES, BIN, expectedRows, quiver, sampleTable, writeSample, type Ran } from './helpers.js';

const table = sampleTable();
const availability = shmAvailability();

let counter = 0;
/** A segment name unique to this process and call. */
const segment = (): string => `quiver-cli-${process.pid}-${++counter}`;
const segmentPath = (name: string) => `/dev/shm/${name}`;

/** Serial, and run only where shm: works; otherwise logs why and passes. */
const shm = (title: string, fn: (t: ExecutionContext) => Promise<void>) =>
  test.serial(title, async (t) => {
    if (!availability.available) {
      t.log(`skipped: shm: is unavailable here: ${availability.reason}`);
      t.pass();
      return;
    }
    await fn(t);
  });

interface Proc {
  done: Promise<Ran>;
  kill(signal: NodeJS.Signals): void;
  /** The URL of the "quiver: listening on URL" line, once printed. */
  listening(): Promise<string>;
}

/** Starts `quiver ...args`; killed at teardown if still running. */
function startQuiver(t: ExecutionContext, ...args: string[]): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  child.stdout.setEncoding('utf8').on('data', (s: string) => ((stdout += s), wake()));
  child.stderr.setEncoding('utf8').on('data', (s: string) => ((stderr += s), wake()));
  const done = new Promise<Ran>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      exited = true;
      wake();
      resolve({ code, signal, stdout, stderr });
    });
  });
  t.teardown(() => {
    if (!exited) child.kill('SIGKILL');
  });
  return {
    done,
    kill: (signal) => child.kill(signal),
    async listening() {
      for (;;) {
        const m = /quiver: listening on (\S+)\n/.exec(stderr);
        if (m) return m[1]!;
        if (exited) throw new Error(`quiver ${args.join(' ')} exited before listening; stderr: ${stderr}`);
        await new Promise<void>((r) => waiters.push(r));
      }
    },
  };
}

async function sample(dir: string): Promise<string> {
  const path = join(dir, 'sample.arrow');
  await writeSample(path, table, 'file', 'lz4');
  return path;
}

async function rowsOf(path: string): Promise<unknown[]> {
  return expectedRows(await readStreamTable(readFileSync(path)));
}

shm('pub shm://NAME FILE → sub shm://NAME --count N --out F: the rows of the source; the segment is gone after', async (t) => {
  const dir = tmpDir(t);
  const src = await sample(dir);
  const out = join(dir, 'sub.arrows');
  const name = segment();
  const pub = startQuiver(t, 'pub', `shm://${name}`, src);
  const url = await pub.listening();
  t.is(url, `shm://${name}`);
  t.true(existsSync(segmentPath(name)));
  const sub = await quiver('sub', url, '--count', String(BATCHES), '--out', out);
  t.is(sub.code, 0, sub.stderr);
  t.is(sub.stderr, '');
  const got = await pub.done;
  t.is(got.code, 0, got.stderr);
  t.is(got.stderr, `quiver: listening on ${url}\n`);
  t.deepEqual(await rowsOf(out), expectedRows(table));
  t.false(existsSync(segmentPath(name)), 'pub removed its segment');
});

shm('recv shm://NAME --out F --count N ← send shm://NAME FILE: the rows of the source; the segment is gone after', async (t) => {
  const dir = tmpDir(t);
  const src = await sample(dir);
  const out = join(dir, 'recv.arrows');
  const name = segment();
  const recv = startQuiver(t, 'recv', `shm://${name}`, '--out', out, '--count', String(BATCHES));
  const url = await recv.listening();
  t.is(url, `shm://${name}`);
  t.true(existsSync(segmentPath(name)));
  const sent = await quiver('send', url, src);
  t.is(sent.code, 0, sent.stderr);
  t.is(sent.stderr, '');
  const got = await recv.done;
  t.is(got.code, 0, got.stderr);
  t.is(got.stderr, `quiver: listening on ${url}\n`);
  t.deepEqual(await rowsOf(out), expectedRows(table));
  t.false(existsSync(segmentPath(name)), 'recv removed its segment');
  // The ring had its one writer: another send finds no segment now.
  const late = await quiver('send', url, src);
  t.is(late.code, 1);
  t.regex(late.stderr, /^quiver: ERR_QUIVER_CONNECTION_FAILED: /);
});

shm('SIGTERM to a listening recv shm://NAME: exit 0, the segment is removed', async (t) => {
  const dir = tmpDir(t);
  const out = join(dir, 'none.arrows');
  const name = segment();
  const recv = startQuiver(t, 'recv', `shm://${name}`, '--out', out);
  await recv.listening();
  t.true(existsSync(segmentPath(name)));
  recv.kill('SIGTERM');
  const got = await recv.done;
  t.is(got.code, 0, got.stderr);
  t.is(got.signal, null, 'it exited by itself');
  t.false(existsSync(segmentPath(name)), 'recv removed its segment');
  t.false(existsSync(out), 'an --out that no stream reached is removed');
});

test.serial('without the native addon: the registry lists shm: as unavailable, and recv shm:// fails with one coded line', async (t) => {
  const env = { ...process.env, QUIVER_DISABLE_NATIVE: '1' };
  const registryUrl = new URL('../src/registry.js', import.meta.url).href;
  const script = `const { createRegistry } = await import(${JSON.stringify(registryUrl)});
console.log(JSON.stringify(createRegistry().capabilities()));`;
  const caps = await new Promise<Ran>((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  t.is(caps.code, 0, caps.stderr);
  const rows = JSON.parse(caps.stdout) as Array<{ scheme: string; available: boolean; reason?: string }>;
  const row = rows.find((r) => r.scheme === 'shm');
  t.like(row, { scheme: 'shm', available: false });
  t.regex(row?.reason ?? '', /native/);
  t.true(rows.some((r) => r.scheme === 'tcp' && r.available), 'the socket transports are unaffected');

  const name = segment();
  const child = spawn(process.execPath, [BIN, 'recv', `shm://${name}`], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is(code, 1, stderr);
  t.regex(stderr, /^quiver: ERR_QUIVER_NATIVE_UNAVAILABLE: .*\n$/);
  t.false(existsSync(segmentPath(name)));
});
