/**
 * The transport conformance suite: what every Quiver transport must do, written once as ava
 * macros over a {@link ConformanceSubject} and run for unix, tcp and tcp+TLS here (and for the
 * shm and worker transports by their packages):
 *
 * ```ts
 * import { conformance } from '@quiver/transport-socket/conformance';
 * conformance({ name: 'shm', transport: shmTransport(), listenUrl: (t) => ..., deadUrl: (t) => ... });
 * ```
 *
 * No sleeps and no clocks. The one place that must decide "this send is not going to resolve"
 * counts event-loop turns (setImmediate hops) instead: a send stalled on full buffers stays
 * stalled while nobody reads, so a generous count cannot turn into a race; at worst a slow
 * machine ends the filling phase early, which weakens the test but never fails it.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ErrorCode, type CloseReason, type Connection, type Listener, type Transport, type TransportOptions } from '@quiver/core';

/** What the suite runs against. */
export interface ConformanceSubject {
  /** Shown in test titles: 'unix', 'tcp+tls'. */
  name: string;
  /** The transport under test. */
  transport: Transport;
  /** A URL to listen on, unique to the test (port 0, a path in a per-test directory...). */
  listenUrl(t: ExecutionContext): string;
  /** A URL nobody listens on: connecting must fail with ERR_QUIVER_CONNECTION_FAILED. */
  deadUrl(t: ExecutionContext): string | Promise<string>;
  /** Options for every `listen` (TLS keys...). */
  listenOptions?: TransportOptions;
  /** Options for every `connect`. */
  connectOptions?: TransportOptions;
  /**
   * For the process test: an ES module (file URL) exporting
   * `connectPeer(url: string, options: unknown): Promise<Connection>`, loaded in a child process,
   * and the JSON-serialisable `options` it gets. Omit to skip the process test.
   */
  childPeer?: { module: string; options?: unknown };
}

/** The child runner of the process test (dist/test/child-peer.js). */
export const childPeerScript = fileURLToPath(new URL('./child-peer.js', import.meta.url));

// ------------------------------------------------------------------------------------------------
// Helpers (exported: transport packages use them in their own tests)
// ------------------------------------------------------------------------------------------------

/** Resolves after `n` turns of the event loop. Not a clock: progress, not time. */
export async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Whether `p` settles within `n` event-loop turns. A rejection is rethrown. */
export async function settlesWithin(p: Promise<unknown>, n: number): Promise<boolean> {
  const box: { state: 'pending' | 'ok' | 'failed'; error?: unknown } = { state: 'pending' };
  p.then(
    () => (box.state = 'ok'),
    (e: unknown) => Object.assign(box, { state: 'failed', error: e }),
  );
  for (let i = 0; i < n && box.state === 'pending'; i++) await turns(1);
  if (box.state === 'failed') throw box.error;
  return box.state === 'ok';
}

const iterators = new WeakMap<Connection, AsyncIterator<Uint8Array>>();
/** One iterator per connection, shared by the helpers below. */
export function reader(conn: Connection): AsyncIterator<Uint8Array> {
  let it = iterators.get(conn);
  if (!it) iterators.set(conn, (it = conn[Symbol.asyncIterator]()));
  return it;
}

/** Reads until exactly `n` bytes arrived (more is an error). */
export async function readExactly(conn: Connection, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let at = 0;
  while (at < n) {
    const r = await reader(conn).next();
    if (r.done) throw new Error(`the stream ended after ${at} of ${n} bytes`);
    if (at + r.value.byteLength > n) throw new Error(`got ${at + r.value.byteLength} bytes, expected ${n}`);
    out.set(r.value, at);
    at += r.value.byteLength;
  }
  return out;
}

/** Reads to the end: byte count and SHA-256. */
export async function drain(conn: Connection): Promise<{ bytes: number; sha256: string }> {
  const h = createHash('sha256');
  let bytes = 0;
  for (;;) {
    const r = await reader(conn).next();
    if (r.done) return { bytes, sha256: h.digest('hex') };
    h.update(r.value);
    bytes += r.value.byteLength;
  }
}

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

/** Listens, connects, accepts: the three ends of one test, closed at teardown. */
export async function pair(
  t: ExecutionContext,
  s: ConformanceSubject,
  extra: { listen?: TransportOptions; connect?: TransportOptions } = {},
): Promise<{ listener: Listener; client: Connection; server: Connection }> {
  const listener = await s.transport.listen(new URL(s.listenUrl(t)), { ...s.listenOptions, ...extra.listen });
  t.teardown(() => listener.close());
  const accepted = listener[Symbol.asyncIterator]().next();
  const client = await s.transport.connect(new URL(listener.url), { ...s.connectOptions, ...extra.connect });
  t.teardown(() => client.close());
  const r = await accepted;
  if (r.done) throw new Error('the listener ended without yielding the connection');
  const server = r.value;
  t.teardown(() => server.close());
  return { listener, client, server };
}

/**
 * Sends `chunk` again and again, each send awaited, until one stays pending for `patience`
 * event-loop turns (the peer is not reading) or `cap` bytes were accepted (an unbounded queue).
 */
export async function fillUntilStalled(
  conn: Connection,
  chunk: Uint8Array,
  cap: number,
  patience = 200,
): Promise<{ accepted: number; pending: Promise<void> | undefined }> {
  let accepted = 0;
  while (accepted < cap) {
    const p = conn.send([chunk]);
    if (!(await settlesWithin(p, patience))) return { accepted, pending: p };
    accepted += chunk.byteLength;
  }
  return { accepted, pending: undefined };
}

function codeOf(e: unknown): unknown {
  return (e as { code?: unknown } | null)?.code;
}

// ------------------------------------------------------------------------------------------------
// The macros
// ------------------------------------------------------------------------------------------------

type Exec = (t: ExecutionContext, s: ConformanceSubject) => Promise<void>;
const macro = (what: string, exec: Exec) =>
  test.macro<[ConformanceSubject]>({ exec, title: (provided, s) => `${s.name}: ${provided ?? what}` });

/** ava macro (`test(macro, subject)`): listen and connect; both ends send and receive. */
export const carriesBothWays = macro('listen and connect; both ends send and receive', async (t, s) => {
  const { listener, client, server } = await pair(t, s);
  t.is(new URL(listener.url).protocol, new URL(s.listenUrl(t)).protocol);
  t.deepEqual(client.status(), { state: 'open' });
  t.deepEqual(server.status(), { state: 'open' });
  t.true(typeof client.peer.address === 'string' && client.peer.address.length > 0);
  t.true(typeof server.peer.address === 'string' && server.peer.address.length > 0);
  await client.send([text('hello '), text('from the client')]);
  t.is(str(await readExactly(server, 21)), 'hello from the client');
  await server.send([text('and back')]);
  t.is(str(await readExactly(client, 8)), 'and back');
});

/** ava macro (`test(macro, subject)`): gather lists of many small and a few large buffers arrive in order and intact, both directions at once. */
export const gatherIntact = macro('gather lists of many small and a few large buffers arrive in order and intact, both directions at once', async (t, s) => {
  const { client, server } = await pair(t, s);
  const plan = (seed: number) => {
    const small = Array.from({ length: 5000 }, (_, i) => randomBytes(1 + ((i * 37 + seed) % 211)));
    const sends: Uint8Array[][] = [
      small.slice(0, 2500), // more buffers than one writev takes (IOV_MAX is 1024)
      [randomBytes(3 << 20), new Uint8Array(0), ...small.slice(2500, 3500), randomBytes((5 << 20) + 3)],
      small.slice(3500),
      [randomBytes(1)],
    ];
    const h = createHash('sha256');
    let bytes = 0;
    for (const list of sends) for (const b of list) (h.update(b), (bytes += b.byteLength));
    return { sends, bytes, sha256: h.digest('hex') };
  };
  const up = plan(1);
  const down = plan(2);
  const pump = async (conn: Connection, sends: Uint8Array[][]) => {
    for (const list of sends) await conn.send(list);
    await conn.end();
  };
  const [atServer, atClient] = await Promise.all([drain(server), drain(client), pump(client, up.sends), pump(server, down.sends)]);
  t.deepEqual(atServer, { bytes: up.bytes, sha256: up.sha256 });
  t.deepEqual(atClient, { bytes: down.bytes, sha256: down.sha256 });
});

/** ava macro (`test(macro, subject)`): send() stops resolving while the peer does not read, and resumes when it does. */
export const backpressure = macro('send() stops resolving while the peer does not read, and resumes when it does', async (t, s) => {
  const { client, server } = await pair(t, s);
  // An aborted signal: rejected, nothing written.
  await t.throwsAsync(client.send([text('never')], { signal: AbortSignal.abort() }), { code: ErrorCode.ABORTED });
  const chunk = new Uint8Array(64 << 10).fill(0xab);
  const cap = 512 << 20;
  const { accepted, pending } = await fillUntilStalled(client, chunk, cap);
  t.log(`${s.name}: sends stalled after ${accepted} bytes accepted with nobody reading`);
  t.truthy(pending, `every send of ${cap} bytes resolved with nobody reading: an unbounded queue`);
  // Aborting a waiting send rejects it; its bytes, already handed over, still arrive.
  const ac = new AbortController();
  const aborted = client.send([chunk], { signal: ac.signal });
  ac.abort();
  await t.throwsAsync(aborted, { code: ErrorCode.ABORTED });
  // Now read: the stalled send resolves, more sends go through.
  const received = drain(server);
  await pending;
  for (let i = 0; i < 4; i++) await client.send([chunk]);
  await client.end();
  const total = accepted + chunk.byteLength /* pending */ + chunk.byteLength /* aborted */ + 4 * chunk.byteLength;
  t.is((await received).bytes, total);
});

/** ava macro (`test(macro, subject)`): end() half-closes: the peer's iteration ends, the other direction still works. */
export const halfClose = macro('end() half-closes: the peer\'s iteration ends, the other direction still works', async (t, s) => {
  const { client, server } = await pair(t, s);
  await client.send([text('ping')]);
  await client.end();
  await client.end(); // idempotent
  await t.throwsAsync(client.send([text('late')]), { code: ErrorCode.CLOSED });
  const got = await drain(server);
  t.is(got.bytes, 4);
  t.deepEqual(server.status(), { state: 'open' });
  await server.send([text('pong, after your end')]);
  t.is(str(await readExactly(client, 20)), 'pong, after your end');
  await server.end();
  t.is((await drain(client)).bytes, 0);
  t.deepEqual(await client.closed, { kind: 'local' });
  t.deepEqual(await server.closed, { kind: 'peer' });
  t.deepEqual(client.status(), { state: 'closed', reason: { kind: 'local' } });
});

/** ava macro (`test(macro, subject)`): close(): local on this side, peer on the other; idempotent; later calls reject CLOSED. */
export const closeLocalPeer = macro('close(): local on this side, peer on the other; idempotent; later calls reject CLOSED', async (t, s) => {
  const { client, server } = await pair(t, s);
  // Closing with unread input makes TCP reset the connection (the peer would see an error, not
  // an end). Reading the server's greeting first also consumes what a transport may have sent
  // on its own before it (TLS 1.3 session tickets).
  await server.send([text('hi')]);
  t.is(str(await readExactly(client, 2)), 'hi');
  await client.send([text('bye')]);
  t.is(str(await readExactly(server, 3)), 'bye');
  await Promise.all([client.close(), client.close()]);
  await client[Symbol.asyncDispose]();
  t.deepEqual(await client.closed, { kind: 'local' });
  t.deepEqual(client.status(), { state: 'closed', reason: { kind: 'local' } });
  await t.throwsAsync(client.send([text('x')]), { code: ErrorCode.CLOSED });
  t.true((await reader(client).next()).done);
  // The other side sees the end of the stream, then closes: the peer ended first.
  t.is((await drain(server)).bytes, 0);
  await server.close();
  t.deepEqual(await server.closed, { kind: 'peer' });
});

/** ava macro (`test(macro, subject)`): writing to a peer that has gone fails: closed says error, CONNECTION_FAILED. */
export const closeError = macro('writing to a peer that has gone fails: closed says error, CONNECTION_FAILED', async (t, s) => {
  const { client, server } = await pair(t, s);
  await server.close();
  const chunk = new Uint8Array(64 << 10);
  let failure: unknown;
  // The first writes may still be taken by the kernel; the peer's reset makes a later one fail.
  for (let i = 0; i < 100_000 && failure === undefined; i++) await client.send([chunk]).catch((e: unknown) => (failure = e));
  t.is(codeOf(failure), ErrorCode.CONNECTION_FAILED);
  const reason: CloseReason = await client.closed;
  t.is(reason.kind, 'error');
  if (reason.kind === 'error') t.is(reason.error.code, ErrorCode.CONNECTION_FAILED);
  await t.throwsAsync(client.send([chunk]), { code: ErrorCode.CONNECTION_FAILED });
  await client.close(); // still fine
});

/** ava macro (`test(macro, subject)`): close() while another task waits in the iterator ends that iteration. */
export const closeWhileReading = macro('close() while another task waits in the iterator ends that iteration', async (t, s) => {
  const { client } = await pair(t, s);
  const waiting = reader(client).next();
  await client.close();
  t.true((await waiting).done);
});

/** ava macro (`test(macro, subject)`): connecting to a dead address fails CONNECTION_FAILED; an aborted signal ABORTED. */
export const connectFailures = macro('connecting to a dead address fails CONNECTION_FAILED; an aborted signal ABORTED', async (t, s) => {
  const dead = new URL(await s.deadUrl(t));
  await t.throwsAsync(s.transport.connect(dead, s.connectOptions), { code: ErrorCode.CONNECTION_FAILED });
  const live = await s.transport.listen(new URL(s.listenUrl(t)), s.listenOptions);
  t.teardown(() => live.close());
  await t.throwsAsync(s.transport.connect(new URL(live.url), { ...s.connectOptions, signal: AbortSignal.abort() }), { code: ErrorCode.ABORTED });
});

/** ava macro (`test(macro, subject)`): listener close(): its iteration ends, queued connections close, new ones fail. */
export const listenerClose = macro('listener close(): its iteration ends, queued connections close, new ones fail', async (t, s) => {
  const listener = await s.transport.listen(new URL(s.listenUrl(t)), s.listenOptions);
  const iterating = (async () => {
    const got: Connection[] = [];
    for await (const c of listener) got.push(c);
    return got;
  })();
  const c1 = await s.transport.connect(new URL(listener.url), s.connectOptions);
  t.teardown(() => c1.close());
  await listener.close();
  await listener.close();
  await listener[Symbol.asyncDispose]();
  await listener.closed;
  const got = await iterating;
  t.true(got.length <= 1);
  for (const c of got) await c.close();
  // Taken or not, c1's peer is gone: a clean end, or a reset if it never left the kernel's backlog.
  const ending = await drain(c1).then(
    (d) => d.bytes,
    (e: unknown) => codeOf(e),
  );
  t.true(ending === 0 || ending === ErrorCode.CONNECTION_FAILED, `c1 ended with ${String(ending)}`);
  await t.throwsAsync(s.transport.connect(new URL(listener.url), s.connectOptions), { code: ErrorCode.CONNECTION_FAILED });
  t.true((await listener[Symbol.asyncIterator]().next()).done);
});

/** ava macro (`test(macro, subject)`): one listener serves many concurrent connections, each stream intact. */
export const manyClients = macro('one listener serves many concurrent connections, each stream intact', async (t, s) => {
  const listener = await s.transport.listen(new URL(s.listenUrl(t)), s.listenOptions);
  t.teardown(() => listener.close());
  const n = 8;
  const payloads = Array.from({ length: n }, (_, i) => {
    const b = randomBytes(100_000 + i * 7919);
    b[0] = i;
    return b;
  });
  const served = (async () => {
    const seen = new Map<number, string>();
    for await (const conn of listener) {
      t.teardown(() => conn.close());
      const { sha256, bytes } = await drainWithFirst(conn);
      seen.set(bytes.first, sha256);
      await conn.end();
      if (seen.size === n) return seen;
    }
    return seen;
  })();
  await Promise.all(
    payloads.map(async (p) => {
      const c = await s.transport.connect(new URL(listener.url), s.connectOptions);
      t.teardown(() => c.close());
      await c.send([p.subarray(0, 1), p.subarray(1)]);
      await c.end();
      t.is((await drain(c)).bytes, 0);
    }),
  );
  const seen = await served;
  for (let i = 0; i < n; i++) t.is(seen.get(i), createHash('sha256').update(payloads[i]!).digest('hex'));
});

async function drainWithFirst(conn: Connection): Promise<{ sha256: string; bytes: { first: number; total: number } }> {
  const h = createHash('sha256');
  let first = -1;
  let total = 0;
  for await (const chunk of conn) {
    if (first < 0 && chunk.byteLength > 0) first = chunk[0]!;
    h.update(chunk);
    total += chunk.byteLength;
  }
  return { sha256: h.digest('hex'), bytes: { first, total } };
}

/** ava macro (`test(macro, subject)`): a peer process killed with SIGKILL ends our iteration; closed says peer or error. */
export const peerKilled = macro('a peer process killed with SIGKILL ends our iteration; closed says peer or error', async (t, s) => {
  if (!s.childPeer) return void t.pass('no child peer for this transport');
  const listener = await s.transport.listen(new URL(s.listenUrl(t)), s.listenOptions);
  t.teardown(() => listener.close());
  const accepted = listener[Symbol.asyncIterator]().next();
  const child = spawn(process.execPath, [childPeerScript, s.childPeer.module, listener.url, JSON.stringify(s.childPeer.options ?? null)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  t.is((await lines.next()).value, 'ready');
  const r = await accepted;
  if (r.done) return void t.fail('the listener ended');
  const conn = r.value;
  t.teardown(() => conn.close());
  // The child sent 64 KiB and is not reading what we send: it dies with unread data both ways.
  t.false((await reader(conn).next()).done);
  const sending = conn.send([new Uint8Array(4 << 20)]).then(
    () => undefined,
    (e: unknown) => e,
  );
  process.kill(child.pid!, 'SIGKILL');
  await exited;
  let ending: unknown = 'end';
  try {
    while (!(await reader(conn).next()).done);
  } catch (e) {
    ending = e;
  }
  if (ending !== 'end') t.is(codeOf(ending), ErrorCode.CONNECTION_FAILED);
  const sent = await sending;
  if (sent !== undefined) t.true([ErrorCode.CONNECTION_FAILED, ErrorCode.CLOSED].includes(codeOf(sent) as never));
  await conn.close();
  const reason = await conn.closed;
  t.true(reason.kind === 'peer' || reason.kind === 'error', `closed: ${reason.kind}`);
});

/** Every macro of the suite, in the order {@link conformance} registers them. */
export const conformanceMacros = [
  carriesBothWays,
  gatherIntact,
  backpressure,
  halfClose,
  closeLocalPeer,
  closeError,
  closeWhileReading,
  connectFailures,
  listenerClose,
  manyClients,
  peerKilled,
] as const;

/** Registers the whole suite for `subject`. */
export function conformance(subject: ConformanceSubject): void {
  for (const m of conformanceMacros) test(m, subject);
}
