// The unix: transport's socket files, URLs, peer credentials and allow-list.
import test from 'ava';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, type Connection, type TransportOptions } from '@quiver/core';
import { isNativeAvailable } from '@quiver/native';
import { tmpDir } from '@quiver/testkit';
import { unixTransport, unixUrl, type SocketListener } from '../src/index.js';
import { drain, pair, reader, readExactly } from './conformance.js';
import { spawnNodeModule } from './helpers/proc.js';
import { unixSubject } from './helpers/subjects.js';

const unix = unixTransport();
const text = (s: string) => new TextEncoder().encode(s);
const mode = (p: string) => statSync(p).mode & 0o777;
const indexUrl = new URL('../src/index.js', import.meta.url).href;

/** One message from a new client to `listener`, to prove it serves. */
async function serves(listener: { url: string } & AsyncIterable<Connection>): Promise<boolean> {
  const c = await unix.connect(new URL(listener.url));
  try {
    await c.send([text('x')]);
    // Skip connections that carry nothing (e.g. the probe of a failed listen), take ours.
    for await (const conn of listener) {
      const r = await reader(conn).next();
      await conn.close();
      if (!r.done) return new TextDecoder().decode(r.value) === 'x';
    }
    return false;
  } finally {
    await c.close();
  }
}

test('the socket file is created 0600, or with the mode asked for; nothing else is left in the directory', async (t) => {
  const dir = tmpDir(t);
  const a = await unix.listen(new URL(unixUrl(join(dir, 'a.sock'))));
  t.teardown(() => a.close());
  t.true(lstatSync(join(dir, 'a.sock')).isSocket());
  t.is(mode(join(dir, 'a.sock')), 0o600);
  const b = await unix.listen(new URL(unixUrl(join(dir, 'b.sock'))), { mode: 0o660 });
  t.teardown(() => b.close());
  t.is(mode(join(dir, 'b.sock')), 0o660);
  t.deepEqual(readdirSync(dir).sort(), ['a.sock', 'b.sock']);
  t.true(await serves(a));
});

test('a stale socket file (its listener was SIGKILLed) is replaced', async (t) => {
  const path = join(tmpDir(t), 'stale.sock');
  const child = spawnNodeModule(t, "import net from 'node:net'; net.createServer().listen(process.argv[1], () => console.log('ready'));", [path]);
  t.is(await child.line(), 'ready');
  child.proc.kill('SIGKILL');
  await child.exited;
  t.true(lstatSync(path).isSocket(), 'the killed listener left its file');
  const l = await unix.listen(new URL(unixUrl(path)));
  t.teardown(() => l.close());
  t.is(mode(path), 0o600);
  t.true(await serves(l));
});

test('a live socket is never stolen: ERR_QUIVER_ADDRESS_IN_USE, and the first listener still serves', async (t) => {
  const path = join(tmpDir(t), 'live.sock');
  const first = await unix.listen(new URL(unixUrl(path)));
  t.teardown(() => first.close());
  const ino = lstatSync(path).ino;
  await t.throwsAsync(unix.listen(new URL(unixUrl(path))), { code: ErrorCode.ADDRESS_IN_USE });
  t.is(lstatSync(path).ino, ino);
  t.true(await serves(first));
});

test('a path that is not a socket is left alone: ERR_QUIVER_ADDRESS_IN_USE', async (t) => {
  const dir = tmpDir(t);
  writeFileSync(join(dir, 'file'), 'precious');
  mkdirSync(join(dir, 'dir'));
  for (const name of ['file', 'dir']) {
    await t.throwsAsync(unix.listen(new URL(unixUrl(join(dir, name)))), { code: ErrorCode.ADDRESS_IN_USE });
  }
  t.is(readFileSync(join(dir, 'file'), 'utf8'), 'precious');
  t.true(statSync(join(dir, 'dir')).isDirectory());
  t.deepEqual(readdirSync(dir).sort(), ['dir', 'file']);
});

test('close() removes the socket file it created, but not a file that has replaced it', async (t) => {
  const dir = tmpDir(t);
  const path = join(dir, 'c.sock');
  const l1 = await unix.listen(new URL(unixUrl(path)));
  await l1.close();
  t.false(existsSync(path));
  const l2 = await unix.listen(new URL(unixUrl(path)));
  renameSync(path, join(dir, 'moved.sock'));
  writeFileSync(path, 'someone else');
  await l2.close();
  t.is(readFileSync(path, 'utf8'), 'someone else');
});

test('a path too long for a private directory beside it falls back to bind-then-chmod, still 0600', async (t) => {
  const base = tmpDir(t);
  // dir + '/s' fits the 107-byte limit, dir + '/.quiver-XXXXXX/s' does not.
  const dir = join(base, 'd'.repeat(100 - base.length - 1));
  mkdirSync(dir);
  const path = join(dir, 's');
  t.true(Buffer.byteLength(path) <= 107 && Buffer.byteLength(join(dir, '.quiver-XXXXXX', 's')) > 107);
  const l = await unix.listen(new URL(unixUrl(path)));
  t.teardown(() => l.close());
  t.is(mode(path), 0o600);
  t.deepEqual(readdirSync(dir), ['s']);
  t.true(await serves(l));
  await l.close();
  t.false(existsSync(path));
});

test('a socket path over 107 bytes is refused: ERR_QUIVER_INVALID_ARGUMENT', async (t) => {
  const url = new URL(unixUrl(join(tmpDir(t), 'x'.repeat(120))));
  await t.throwsAsync(unix.listen(url), { code: ErrorCode.INVALID_ARGUMENT });
  await t.throwsAsync(unix.connect(url), { code: ErrorCode.INVALID_ARGUMENT });
});

test('unix: URLs: absolute, relative to the working directory, percent-encoded; hosts and queries refused', async (t) => {
  const dir = tmpDir(t);
  const abs = join(dir, 'rel.sock');
  const l = await unix.listen(new URL(`unix:${relative(process.cwd(), abs)}`));
  t.teardown(() => l.close());
  t.is(l.url, `unix://${abs}`);
  t.is(l.url, unixUrl(abs));
  const spaced = await unix.listen(new URL(unixUrl(join(dir, 'a b%.sock'))));
  t.teardown(() => spaced.close());
  t.is(spaced.url, `unix://${pathToFileURL(join(dir, 'a b%.sock')).pathname}`);
  t.true(spaced.url.includes('a%20b%25.sock'));
  t.true(lstatSync(join(dir, 'a b%.sock')).isSocket());
  t.true(await serves(spaced));
  for (const bad of ['unix://host/x.sock', `unix://${abs}?q=1`, `unix://${abs}#f`, 'unix:///', `unix://${dir}/`]) {
    await t.throwsAsync(unix.connect(new URL(bad)), { code: ErrorCode.INVALID_ARGUMENT }, bad);
  }
});

test('peer credentials (SO_PEERCRED) on both ends with @quiver/native', async (t) => {
  if (!isNativeAvailable) return void t.pass('@quiver/native is not available here');
  const { client, server } = await pair(t, unixSubject);
  const me = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
  t.like(client.peer, me);
  t.like(server.peer, me);
  t.is(server.peer.address, client.peer.address);
});

test('allowUids: a uid not on the list is closed at once; ours is accepted', async (t) => {
  if (!isNativeAvailable) return void t.pass('@quiver/native is not available here');
  const uid = process.getuid!();
  const dir = tmpDir(t);
  const shut = (await unix.listen(new URL(unixUrl(join(dir, 'no.sock'))), { allowUids: [uid + 1] })) as SocketListener;
  const taken = (async () => {
    const got: Connection[] = [];
    for await (const c of shut) got.push(c);
    return got;
  })();
  const c = await unix.connect(new URL(shut.url));
  // The listener closes it: the client sees the end (or a reset), never data.
  const ending = await drain(c).then(
    (d) => d.bytes,
    (e: { code?: string }) => e.code,
  );
  t.true(ending === 0 || ending === ErrorCode.CONNECTION_FAILED, String(ending));
  await c.close();
  t.is(shut.stats().rejected.peer, 1);
  await shut.close();
  t.deepEqual(await taken, []);

  const open = await unix.listen(new URL(unixUrl(join(dir, 'yes.sock'))), { allowUids: [uid + 1, uid] });
  t.teardown(() => open.close());
  t.true(await serves(open));
});

test('without the addon: allowUids fails ERR_QUIVER_NATIVE_UNAVAILABLE, peers carry the address only', async (t) => {
  const path = join(tmpDir(t), 'n.sock');
  const src = `
    const { unixTransport, unixUrl } = await import(process.argv[1]);
    const unix = unixTransport();
    const url = new URL(unixUrl(process.argv[2]));
    await unix.listen(url, { allowUids: [0] }).then(() => console.log('listened'), (e) => console.log(e.code));
    const l = await unix.listen(url);
    const accepted = l[Symbol.asyncIterator]().next();
    const c = await unix.connect(new URL(l.url));
    const s = (await accepted).value;
    console.log(JSON.stringify({ client: c.peer, server: s.peer }));
    await c.close(); await s.close(); await l.close();`;
  const child = spawnNodeModule(t, src, [indexUrl, path], { ...process.env, QUIVER_DISABLE_NATIVE: '1' });
  const out = await child.rest();
  t.is(await child.exited, 0);
  t.is(out[0], ErrorCode.NATIVE_UNAVAILABLE);
  t.deepEqual(JSON.parse(out[1]!), { client: { address: path }, server: { address: path } });
});

test('invalid unix: options: ERR_QUIVER_INVALID_ARGUMENT', async (t) => {
  const url = new URL(unixUrl(join(tmpDir(t), 'o.sock')));
  for (const opts of [{ mode: 0o1777 }, { mode: '600' }, { allowUids: ['root'] }, { allowUids: 0 }, { highWaterMark: -1 }, { maxPending: 0 }, { maxConnections: 1.5 }, { signal: 'no' }]) {
    await t.throwsAsync(unix.listen(url, opts as TransportOptions), { code: ErrorCode.INVALID_ARGUMENT }, JSON.stringify(opts));
  }
  t.throws(() => unixTransport({ mode: -1 }), { code: ErrorCode.INVALID_ARGUMENT });
  t.false(existsSync(fileUrlPath(url)));
});

const fileUrlPath = (u: URL) => decodeURIComponent(u.pathname);

test('empty gather lists and empty buffers send nothing and resolve', async (t) => {
  const { client, server } = await pair(t, unixSubject);
  await client.send([]);
  await client.send([new Uint8Array(0)]);
  await client.send([text('ab'), new Uint8Array(0), text('cd'), new Uint8Array(0)]);
  await client.end();
  t.is(new TextDecoder().decode(await readExactly(server, 4)), 'abcd');
  t.true((await reader(server).next()).done);
});
