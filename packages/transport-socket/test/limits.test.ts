// Listener limits (maxConnections, maxPending) and the send-side highWaterMark, for unix and tcp.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { ErrorCode, type Connection } from '@quiver/core';
import { DEFAULT_MAX_CONNECTIONS, type SocketListener } from '../src/index.js';
import { tcpOptions, unixOptions } from '../src/options.js';
import { drain, fillUntilStalled, pair, readExactly, type ConformanceSubject } from './conformance.js';
import { tcpSubject, unixSubject } from './helpers/subjects.js';

const text = (s: string) => new TextEncoder().encode(s);

async function listen(t: ExecutionContext, s: ConformanceSubject, opts: Record<string, unknown>): Promise<SocketListener> {
  const l = (await s.transport.listen(new URL(s.listenUrl(t)), { ...s.listenOptions, ...opts })) as SocketListener;
  t.teardown(() => l.close());
  return l;
}

async function connect(t: ExecutionContext, s: ConformanceSubject, url: string): Promise<Connection> {
  const c = await s.transport.connect(new URL(url), s.connectOptions);
  t.teardown(() => c.close());
  return c;
}

/** How a connection the listener refused ends for the client: 0 bytes then the end, or a reset. */
async function refused(c: Connection): Promise<boolean> {
  const ending = await drain(c).then(
    (d) => d.bytes,
    (e: { code?: string }) => e.code,
  );
  return ending === 0 || ending === ErrorCode.CONNECTION_FAILED;
}

for (const s of [unixSubject, tcpSubject]) {
  test(`${s.name}: maxConnections: one more is closed on arrival; a slot frees when one closes`, async (t) => {
    const l = await listen(t, s, { maxConnections: 1 });
    const it = l[Symbol.asyncIterator]();
    const c1 = await connect(t, s, l.url);
    const s1 = (await it.next()).value as Connection;
    const c2 = await connect(t, s, l.url);
    t.true(await refused(c2));
    t.like(l.stats(), { accepted: 1, open: 1, rejected: { maxConnections: 1, maxPending: 0, peer: 0, tls: 0 } });
    await c1.close();
    await s1.close();
    const c3 = await connect(t, s, l.url);
    const s3 = (await it.next()).value as Connection;
    await c3.send([text('third')]);
    t.is(new TextDecoder().decode(await readExactly(s3, 5)), 'third');
    t.like(l.stats(), { accepted: 2, open: 1 });
  });

  test(`${s.name}: maxPending: connections nobody takes queue up to the limit, the next is closed`, async (t) => {
    const l = await listen(t, s, { maxPending: 1 });
    const c1 = await connect(t, s, l.url);
    await c1.send([text('first')]);
    const c2 = await connect(t, s, l.url);
    t.true(await refused(c2));
    t.like(l.stats(), { accepted: 1, pending: 1, rejected: { maxPending: 1 } });
    const s1 = (await l[Symbol.asyncIterator]().next()).value as Connection;
    t.is(new TextDecoder().decode(await readExactly(s1, 5)), 'first');
    t.like(l.stats(), { pending: 0, open: 1 });
  });

  test(`${s.name}: highWaterMark lets a sender run ahead by that much, and no further`, async (t) => {
    const chunk = new Uint8Array(64 << 10);
    const hwm = 1 << 20;
    const base = await pair(t, s);
    const ahead = await pair(t, s, { connect: { highWaterMark: hwm } });
    const strict = await fillUntilStalled(base.client, chunk, 256 << 20);
    const loose = await fillUntilStalled(ahead.client, chunk, 256 << 20);
    t.log(`${s.name}: accepted ${strict.accepted} bytes with highWaterMark 0, ${loose.accepted} with ${hwm}`);
    t.truthy(strict.pending);
    t.truthy(loose.pending);
    t.true(loose.accepted >= hwm);
    // The kernel's buffers differ a little between connections (TCP autotuning): a generous slack.
    t.true(loose.accepted <= strict.accepted * 2 + hwm + 2 * chunk.byteLength);
  });
}

test('maxConnections defaults to 1024 on both transports; Infinity lifts it', (t) => {
  t.is(DEFAULT_MAX_CONNECTIONS, 1024);
  t.is(unixOptions(undefined, undefined).maxConnections, 1024);
  t.is(tcpOptions(undefined, undefined, 'listen').maxConnections, 1024);
  t.is(tcpOptions({ maxConnections: 8 }, { maxConnections: Infinity }, 'listen').maxConnections, Infinity);
});

test('invalid limits: ERR_QUIVER_INVALID_ARGUMENT', async (t) => {
  for (const opts of [{ maxConnections: 0 }, { maxPending: -1 }, { maxPending: Infinity }, { highWaterMark: 0.5 }]) {
    await t.throwsAsync(tcpSubject.transport.listen(new URL('tcp://127.0.0.1:0'), opts), { code: ErrorCode.INVALID_ARGUMENT }, JSON.stringify(opts));
  }
});
