// The network verbs (send, recv, pub, sub), run as real processes over Unix sockets and TCP:
// what arrives is what was sent (read back with core, or judged by pyarrow); plain pyarrow peers
// on either side; SIGINT/SIGTERM end a run cleanly with the documented status and remove the
// socket file; bad URLs and refused connections fail with one line naming the error code.
//
// Serial: each test runs two or three processes at once, and the machine's two cores are shared.
// Processes are synchronised on what they print (the "listening on" line, output lines), never
// on time.
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import { canonFromArrow, judge, python, repoRoot, tmpDir, type CanonColumns } from '@quiver/testkit';
import { ErrorCode, readStreamTable, writeIpcFile } from '@quiver/core';
import { formatBytes, run, type CliIo } from '../src/index.js';
import { createRegistry } from '../src/registry.js';
import { BATCH_ROWS, BATCHES, BIN, errorOf, expectedRows, quiver, ROWS, sampleTable, writeSample, type Ran } from './helpers.js';

const table = sampleTable();
const PEER = join(repoRoot(), 'packages', 'testkit', 'python', 'peer.py');

/** A running child whose output can be awaited as it comes. */
interface Proc {
  done: Promise<Ran>;
  kill(signal: NodeJS.Signals): void;
  /** The URL of the "quiver: listening on URL" line, once printed. */
  listening(): Promise<string>;
  /** The first `n` non-empty lines of stdout, once printed. */
  lines(n: number): Promise<string[]>;
  /** A match of `re` in stderr, once there is one. */
  stderrMatch(re: RegExp): Promise<RegExpExecArray>;
}

function start(t: ExecutionContext, command: string, args: string[]): Proc {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
  const until = async <T>(check: () => T | null | undefined, what: string): Promise<T> => {
    for (;;) {
      const v = check();
      if (v !== null && v !== undefined) return v;
      if (exited) throw new Error(`${[command, ...args].join(' ')} exited before ${what}; stderr: ${stderr}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return {
    done,
    kill: (signal) => child.kill(signal),
    listening: () => until(() => /quiver: listening on (\S+)\n/.exec(stderr)?.[1], 'listening'),
    lines: (n) =>
      until(() => {
        const lines = stdout.split('\n').filter((l) => l !== '');
        return lines.length >= n ? lines.slice(0, n) : null;
      }, `${n} lines of output`),
    stderrMatch: (re) => until(() => re.exec(stderr), `stderr matching ${re}`),
  };
}

const startQuiver = (t: ExecutionContext, ...args: string[]) => start(t, process.execPath, [BIN, ...args]);
const startPeer = (t: ExecutionContext, ...args: string[]) => start(t, python(), [PEER, ...args]);

/** The sample written as `name` (an Arrow file, LZ4, or a stream) in `dir`. */
async function sample(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  await writeSample(path, table, name.endsWith('.arrow') ? 'file' : 'stream', name.endsWith('.arrow') ? 'lz4' : 'none');
  return path;
}

/** Rows of a stream file as cat prints them. */
async function rowsOf(path: string): Promise<unknown[]> {
  return expectedRows(await readStreamTable(readFileSync(path)));
}

const unixUrl = (dir: string, name: string) => `unix://${join(dir, name)}`;

for (const [transport, listenUrl, input] of [
  ['unix', (dir: string) => unixUrl(dir, 'recv.sock'), 'sample.arrow'],
  ['tcp', () => 'tcp://127.0.0.1:0', 'sample.arrows'],
] as const) {
  test.serial(`send → recv --out --count over ${transport}: the rows of the source (an Arrow ${input.endsWith('.arrow') ? 'file' : 'stream'})`, async (t) => {
    const dir = tmpDir(t);
    const src = await sample(dir, input);
    const out = join(dir, 'out.arrows');
    const recv = startQuiver(t, 'recv', listenUrl(dir), '--out', out, '--count', String(BATCHES));
    const url = await recv.listening();
    if (transport === 'tcp') t.regex(url, /^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/, 'port 0 is reported as the bound port');
    const sent = await quiver('send', url, src);
    t.is(sent.code, 0, sent.stderr);
    t.is(sent.stderr, '');
    const got = await recv.done;
    t.is(got.code, 0, got.stderr);
    t.is(got.stderr, `quiver: listening on ${url}\n`);
    t.deepEqual(await rowsOf(out), expectedRows(table));
    if (transport === 'unix') t.false(existsSync(join(dir, 'recv.sock')), 'the socket file is removed');
  });
}

test.serial('recv: one output stream of the first schema; a producer with other fields is dropped with a warning', async (t) => {
  const dir = tmpDir(t);
  const src = await sample(dir, 'sample.arrows');
  const other = join(dir, 'other.arrows');
  await writeIpcFile(other, new A.Table({ a: A.vectorFromArray([1, 2, 3], new A.Int32()) }), 'stream');
  const out = join(dir, 'out.arrows');
  const recv = startQuiver(t, 'recv', unixUrl(dir, 'r.sock'), '--out', out, '--count', String(2 * BATCHES));
  const url = await recv.listening();
  t.is((await quiver('send', url, src)).code, 0);
  // The other producer may see its connection closed before or after it has sent everything.
  await quiver('send', url, other);
  const warning = await recv.stderrMatch(/^quiver: (ERR_QUIVER_[A-Z_]+): stream 2 from .*\n/m);
  t.is(warning[1], ErrorCode.SCHEMA_MISMATCH);
  // This send's last batch makes the count: recv may close the connection before the sender has
  // written its end-of-stream marker, which the sender reports (exit 1, the connection failed).
  const third = await quiver('send', url, src);
  t.true(third.code === 0 || (third.code === 1 && third.stderr.includes(ErrorCode.CONNECTION_FAILED)), third.stderr);
  const got = await recv.done;
  t.is(got.code, 0, got.stderr);
  t.deepEqual(await rowsOf(out), [...expectedRows(table), ...expectedRows(table)]);
});

test.serial('recv without --out prints one NDJSON line per batch; SIGTERM ends it with 0 and removes its socket', async (t) => {
  const dir = tmpDir(t);
  const src = await sample(dir, 'sample.arrow');
  const sock = join(dir, 'r.sock');
  const recv = startQuiver(t, 'recv', unixUrl(dir, 'r.sock'));
  const url = await recv.listening();
  t.true(existsSync(sock));
  t.is((await quiver('send', url, src)).code, 0);
  const lines = (await recv.lines(BATCHES)).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.deepEqual(
    lines.map((l) => [l['stream'], l['batch'], l['rows']]),
    Array.from({ length: BATCHES }, (_, i) => [1, i, BATCH_ROWS]),
  );
  t.is(typeof lines[0]!['peer'], 'string');
  recv.kill('SIGTERM');
  const got = await recv.done;
  t.is(got.code, 0, got.stderr);
  t.is(got.stderr, `quiver: listening on ${url}\n`);
  t.false(existsSync(sock), 'the socket file is removed');
});

test.serial('SIGTERM/SIGINT: recv exits 0 and removes --out when nothing came; a cut-short --count or pub exits 128+N', async (t) => {
  const dir = tmpDir(t);
  const src = await sample(dir, 'sample.arrows');
  const out = join(dir, 'out.arrows');
  const cases: Array<[string[], NodeJS.Signals, number]> = [
    [['recv', unixUrl(dir, 'a.sock'), '--out', out], 'SIGTERM', 0],
    [['recv', unixUrl(dir, 'b.sock'), '--count', '3'], 'SIGINT', 130],
    [['pub', unixUrl(dir, 'c.sock'), src], 'SIGTERM', 143],
    [['pub', unixUrl(dir, 'd.sock'), src, '--loop'], 'SIGINT', 0],
  ];
  for (const [args, signal, code] of cases) {
    const p = startQuiver(t, ...args);
    await p.listening();
    t.true(existsSync(new URL(args[1]!).pathname));
    p.kill(signal);
    const got = await p.done;
    t.is(got.code, code, `${args.join(' ')} on ${signal}: ${got.stderr}`);
    t.is(got.signal, null, 'it exited by itself, not killed by the signal');
    t.false(existsSync(new URL(args[1]!).pathname), `${args[0]} removed its socket file`);
  }
  t.false(existsSync(out), 'an --out that no stream reached is removed');
});

test.serial('pub → sub --count: the first N batches, then the subscriber leaves and pub still ends with 0', async (t) => {
  const dir = tmpDir(t);
  const src = await sample(dir, 'sample.arrow');
  const out = join(dir, 'sub.arrows');
  const pub = startQuiver(t, 'pub', unixUrl(dir, 'p.sock'), src);
  const url = await pub.listening();
  const sub = await quiver('sub', url, '--out', out, '--count', '3');
  t.is(sub.code, 0, sub.stderr);
  t.is(sub.stderr, '');
  t.deepEqual(await rowsOf(out), expectedRows(table).slice(0, 3 * BATCH_ROWS));
  const got = await pub.done;
  t.is(got.code, 0, got.stderr);
  t.false(existsSync(join(dir, 'p.sock')));
});

test.serial('pub --loop publishes the file again and again; SIGTERM ends sub with 0, SIGINT ends pub with 0', async (t) => {
  const dir = tmpDir(t);
  const src = await sample(dir, 'sample.arrows');
  const pub = startQuiver(t, 'pub', unixUrl(dir, 'p.sock'), src, '--loop');
  const sub = startQuiver(t, 'sub', await pub.listening());
  const lines = (await sub.lines(2 * BATCHES + 1)).map((l) => JSON.parse(l) as { batch: number; rows: number });
  t.deepEqual(lines, Array.from({ length: 2 * BATCHES + 1 }, (_, i) => ({ batch: i, rows: BATCH_ROWS })));
  sub.kill('SIGTERM');
  const subbed = await sub.done;
  t.is(subbed.code, 0, subbed.stderr);
  t.is(subbed.stderr, '');
  pub.kill('SIGINT');
  const published = await pub.done;
  t.is(published.code, 0, published.stderr);
  t.false(existsSync(join(dir, 'p.sock')));
});

test.serial('sub --topic over tcp: the topic to the end of its stream; another topic is refused', async (t) => {
  const dir = tmpDir(t);
  const src = await sample(dir, 'sample.arrows');
  const pub = startQuiver(t, 'pub', 'tcp://127.0.0.1:0', src, '--topic', 'trips');
  const url = await pub.listening();
  const wrong = await quiver('sub', url, '--topic', 'nope');
  t.is(wrong.code, 1);
  t.truthy(errorOf(wrong), wrong.stderr);
  const sub = await quiver('sub', url, '--topic', 'trips');
  t.is(sub.code, 0, sub.stderr);
  const lines = sub.stdout.trim().split('\n').map((l) => JSON.parse(l) as { batch: number; rows: number });
  t.deepEqual(lines, Array.from({ length: BATCHES }, (_, i) => ({ batch: i, rows: BATCH_ROWS })));
  t.is((await pub.done).code, 0);
});

test.serial('a plain pyarrow subscriber (no hello) gets the default topic of quiver pub', async (t) => {
  const dir = tmpDir(t);
  const src = await sample(dir, 'sample.arrow');
  const pub = startQuiver(t, 'pub', unixUrl(dir, 'p.sock'), src);
  const url = await pub.listening();
  const consumer = await startPeer(t, 'consume', url).done;
  t.is(consumer.code, 0, consumer.stderr);
  const got = JSON.parse(consumer.stdout) as { batches: number; rows: number; columns: CanonColumns };
  t.is(got.batches, BATCHES);
  t.is(got.rows, ROWS);
  t.deepEqual(got.columns, canonFromArrow(table));
  t.is((await pub.done).code, 0);
});

test.serial('a plain pyarrow producer into quiver recv --count: pyarrow finds the same data', async (t) => {
  const dir = tmpDir(t);
  const out = join(dir, 'out.arrows');
  const expected = join(dir, 'expected.arrows');
  await judge.writeCase(expected, { case: 'basic' });
  const recv = startQuiver(t, 'recv', unixUrl(dir, 'r.sock'), '--out', out, '--count', '3');
  const producer = startPeer(t, 'produce', await recv.listening(), '--case', 'basic');
  const got = await recv.done;
  t.is(got.code, 0, got.stderr);
  await producer.done;
  const [r] = await judge.equal(expected, [out]);
  t.true(r!.equal, r!.reason ?? '');
});

test.serial('send: a schema apache-arrow cannot decode goes at the message level, and pyarrow reads it intact', async (t) => {
  const dir = tmpDir(t);
  const src = join(dir, 'exotic.arrow');
  await judge.writeCase(src, { case: 'exotic', format: 'file', compression: 'zstd' });
  const registry = createRegistry();
  const listener = await registry.listen(unixUrl(dir, 'x.sock'));
  t.teardown(() => listener.close());
  const accepted = listener[Symbol.asyncIterator]().next();
  const sent = quiver('send', listener.url, src);
  const conn = (await accepted).value!;
  const chunks: Uint8Array[] = [];
  for await (const c of conn) chunks.push(c);
  await conn.close();
  t.is((await sent).code, 0, (await sent).stderr);
  const received = join(dir, 'received.arrows');
  writeFileSync(received, Buffer.concat(chunks));
  const [r] = await judge.equal(src, [received]);
  t.true(r!.equal, r!.reason ?? '');
});

/** A Writable that keeps what it is given; `until(re)` waits for a match. */
function sink(): Writable & { text: string; until(re: RegExp): Promise<RegExpExecArray> } {
  const waiters: Array<() => void> = [];
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      w.text += String(chunk);
      waiters.splice(0).forEach((f) => f());
      cb();
    },
  }) as Writable & { text: string; until(re: RegExp): Promise<RegExpExecArray> };
  w.text = '';
  w.until = async (re) => {
    for (;;) {
      const m = re.exec(w.text);
      if (m) return m;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return w;
}

/** In-process io with a terminal stderr and a clock that moves one second per reading. */
function ttyIo(): CliIo & { stderr: ReturnType<typeof sink>; stdout: ReturnType<typeof sink> } {
  let now = 0;
  return { stdout: sink(), stderr: sink(), stdoutIsTTY: false, stderrIsTTY: true, columns: 100, now: () => (now += 1000) };
}

test.serial('send and recv --out draw a progress bar on a terminal stderr and end with a summary', async (t) => {
  const dir = tmpDir(t);
  const src = await sample(dir, 'sample.arrows');
  const out = join(dir, 'out.arrows');
  const recvIo = ttyIo();
  const recv = run(['recv', unixUrl(dir, 'r.sock'), '--out', out, '--count', String(BATCHES)], recvIo);
  const url = (await recvIo.stderr.until(/quiver: listening on (\S+)\n/))[1]!;
  const sendIo = ttyIo();
  t.is(await run(['send', url, src], sendIo), 0, sendIo.stderr.text);
  t.is(await recv, 0, recvIo.stderr.text);
  t.regex(sendIo.stderr.text, /\rsend \[[#-]+\] +\d+% {2}[\d.]+ KB \/ [\d.]+ KB\x1b\[K/);
  t.true(sendIo.stderr.text.endsWith(`\r\x1b[Ksent ${BATCHES} batches, ${ROWS} rows (${formatBytes(statSync(src).size)}) to ${url}\n`), sendIo.stderr.text);
  t.regex(recvIo.stderr.text, /\rrecv [\d.]+ KB\x1b\[K/);
  t.true(recvIo.stderr.text.endsWith(`\r\x1b[Kreceived ${BATCHES} batches, ${ROWS} rows → ${out}\n`), recvIo.stderr.text);
  t.deepEqual(await rowsOf(out), expectedRows(table));
});

test.serial('bad URLs exit 1 with ERR_QUIVER_INVALID_ARGUMENT; a refused connection with ERR_QUIVER_CONNECTION_FAILED', async (t) => {
  const dir = tmpDir(t);
  const src = await sample(dir, 'sample.arrows');
  const missing = unixUrl(dir, 'nobody.sock');
  const cases: Array<[string[], string]> = [
    [['send', 'foo://host/x', src], ErrorCode.INVALID_ARGUMENT],
    [['recv', 'foo://host/x'], ErrorCode.INVALID_ARGUMENT],
    [['pub', 'http://localhost:1/', src], ErrorCode.INVALID_ARGUMENT],
    [['sub', 'not a url'], ErrorCode.INVALID_ARGUMENT],
    [['send', missing, src], ErrorCode.CONNECTION_FAILED],
    [['sub', missing], ErrorCode.CONNECTION_FAILED],
    [['send', missing, join(dir, 'missing.arrows')], ErrorCode.IO],
  ];
  for (const [args, code] of cases) {
    const r = await quiver(...args);
    t.is(r.code, 1, args.join(' '));
    t.is(errorOf(r)?.code, code, `${args.join(' ')}: ${r.stderr}`);
    t.is(r.stdout, '');
  }
  t.false(existsSync(join(dir, 'nobody.sock')));
});

test.serial('a listener on an address in use exits 1 with ERR_QUIVER_ADDRESS_IN_USE', async (t) => {
  const dir = tmpDir(t);
  const recv = startQuiver(t, 'recv', unixUrl(dir, 'r.sock'));
  const url = await recv.listening();
  const second = await quiver('recv', url);
  t.is(second.code, 1);
  t.is(errorOf(second)?.code, ErrorCode.ADDRESS_IN_USE, second.stderr);
  recv.kill('SIGINT');
  t.is((await recv.done).code, 0);
});

test.serial('bad usage exits 2', async (t) => {
  for (const args of [
    ['send', 'unix:///tmp/x.sock'],
    ['recv'],
    ['recv', 'unix:///tmp/x.sock', '--count', '0'],
    ['sub', 'unix:///tmp/x.sock', '--count', 'many'],
    ['pub', 'unix:///tmp/x.sock', 'f.arrow', '--wait-subscribers', '-1'],
    ['pub', 'unix:///tmp/x.sock', 'f.arrow', '--loop=yes'],
    ['sub', 'unix:///tmp/x.sock', '--bogus'],
  ]) {
    const r = await quiver(...args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, /Usage: quiver/);
  }
});
