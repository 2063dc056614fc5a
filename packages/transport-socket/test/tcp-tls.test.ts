// tcp: addresses and URLs, and TLS: certificates required, missing, untrusted, misnamed.
import test from 'ava';
import { ErrorCode, type Connection, type TransportOptions } from '@quiver/core';
import { tcpTransport, type SocketListener } from '../src/index.js';
import { drain, pair, readExactly } from './conformance.js';
import { clientTls, fixture, serverTls, tcpSubject, tlsSubject } from './helpers/subjects.js';

const tcp = tcpTransport();
const text = (s: string) => new TextEncoder().encode(s);

test('localhost and a missing port: listens on 127.0.0.1 and a port the system picks', async (t) => {
  for (const url of ['tcp://localhost:0', 'tcp://localhost', 'tcp://127.0.0.1']) {
    const l = await tcp.listen(new URL(url));
    t.teardown(() => l.close());
    const m = /^tcp:\/\/127\.0\.0\.1:(\d+)$/.exec(l.url);
    t.truthy(m, l.url);
    t.true(Number(m![1]) > 0);
    const accepted = l[Symbol.asyncIterator]().next();
    const c = await tcp.connect(new URL(`tcp://localhost:${m![1]}`));
    t.teardown(() => c.close());
    const s = (await accepted).value as Connection;
    t.teardown(() => s.close());
    t.regex(s.peer.address, /^127\.0\.0\.1:\d+$/);
    t.is(c.peer.address, `127.0.0.1:${m![1]}`);
  }
});

test('IPv6 loopback, in brackets', async (t) => {
  let l;
  try {
    l = await tcp.listen(new URL('tcp://[::1]:0'));
  } catch (e) {
    return void t.pass(`no IPv6 loopback here (${(e as { code?: string }).code})`);
  }
  t.teardown(() => l.close());
  t.regex(l.url, /^tcp:\/\/\[::1\]:\d+$/);
  const accepted = l[Symbol.asyncIterator]().next();
  const c = await tcp.connect(new URL(l.url));
  t.teardown(() => c.close());
  const s = (await accepted).value as Connection;
  t.teardown(() => s.close());
  t.regex(s.peer.address, /^\[::1\]:\d+$/);
  await c.send([text('v6')]);
  t.is(new TextDecoder().decode(await readExactly(s, 2)), 'v6');
});

test('a port in use: ERR_QUIVER_ADDRESS_IN_USE', async (t) => {
  const l = await tcp.listen(new URL('tcp://127.0.0.1:0'));
  t.teardown(() => l.close());
  await t.throwsAsync(tcp.listen(new URL(l.url)), { code: ErrorCode.ADDRESS_IN_USE });
});

test('bad tcp: URLs and options: ERR_QUIVER_INVALID_ARGUMENT', async (t) => {
  for (const bad of ['tcp://127.0.0.1:1/path', 'tcp://127.0.0.1:1?x=1', 'tcp://u:p@127.0.0.1:1', 'tcp://127.0.0.1', 'tcp://127.0.0.1:0']) {
    await t.throwsAsync(tcp.connect(new URL(bad)), { code: ErrorCode.INVALID_ARGUMENT }, bad);
  }
  const opts: TransportOptions[] = [
    { noDelay: 'yes' },
    { tls: 'on' },
    { tls: { cert: fixture('server.pem') } },
    { tls: { key: 42, cert: fixture('server.pem') } },
    { tls: { requestCert: 'yes', key: 'k', cert: 'c' } },
    { tls: {} }, // a listener needs key and cert
  ];
  for (const o of opts) await t.throwsAsync(tcp.listen(new URL('tcp://127.0.0.1:0'), o), { code: ErrorCode.INVALID_ARGUMENT }, JSON.stringify(o));
  t.throws(() => tcpTransport({ noDelay: 1 as unknown as boolean }), { code: ErrorCode.INVALID_ARGUMENT });
});

test('noDelay false still carries bytes', async (t) => {
  const { client, server } = await pair(t, tcpSubject, { connect: { noDelay: false }, listen: { noDelay: false } });
  await client.send([text('nagle')]);
  t.is(new TextDecoder().decode(await readExactly(server, 5)), 'nagle');
});

/** How a TLS connection attempt ends for the client: 'open' or an error code. */
async function clientOutcome(tls: TransportOptions['tls'], url: string): Promise<string> {
  let c: Connection;
  try {
    c = await tcp.connect(new URL(url), { tls });
  } catch (e) {
    return String((e as { code?: string }).code);
  }
  try {
    // TLS 1.3: the client's handshake completes before the server checks its certificate; the
    // server's verdict arrives as an alert on the first read.
    const d = await drain(c);
    return `ended after ${d.bytes} bytes`;
  } catch (e) {
    return String((e as { code?: string }).code);
  } finally {
    await c.close();
  }
}

test('TLS with requestCert: a client without a certificate, or with one the CA did not sign, is rejected', async (t) => {
  const l = (await tcp.listen(new URL('tcp://127.0.0.1:0'), { tls: serverTls })) as SocketListener;
  t.teardown(() => l.close());
  const it = l[Symbol.asyncIterator]();
  const first = it.next();
  const none = await clientOutcome({ ca: fixture('ca.pem') }, l.url);
  const rogue = await clientOutcome({ ca: fixture('ca.pem'), key: fixture('rogue.key'), cert: fixture('rogue.pem') }, l.url);
  t.log({ none, rogue });
  // No certificate: OpenSSL fails the handshake and the client gets the alert (TLS 1.3 reports
  // it on the first read, after the client's side of the handshake completed).
  t.is(none, ErrorCode.CONNECTION_FAILED);
  // A certificate the CA did not sign: Node's server verifies after the handshake and closes the
  // socket without an alert, so the client may only see its stream end, empty.
  t.true([ErrorCode.CONNECTION_FAILED, ErrorCode.PEER_REJECTED, 'ended after 0 bytes'].includes(rogue), rogue);
  // A good client gets through, and is the first connection the listener yields.
  const good = await tcp.connect(new URL(l.url), { tls: clientTls });
  t.teardown(() => good.close());
  await good.send([text('ok')]);
  const r = await first;
  t.false(r.done);
  const conn = r.value as Connection;
  t.teardown(() => conn.close());
  t.is(new TextDecoder().decode(await readExactly(conn, 2)), 'ok');
  await l.close();
  t.true((await it.next()).done);
  t.like(l.stats(), { accepted: 1 });
  t.true(l.stats().rejected.tls >= 1);
});

test('TLS: a server the client does not trust, or whose name does not match, is ERR_QUIVER_PEER_REJECTED', async (t) => {
  const l = await tcp.listen(new URL('tcp://127.0.0.1:0'), { tls: { key: fixture('server.key'), cert: fixture('server.pem') } });
  t.teardown(() => l.close());
  void (async () => {
    for await (const c of l) void c.close();
  })();
  const port = new URL(l.url).port;
  await t.throwsAsync(tcp.connect(new URL(l.url), { tls: {} }), { code: ErrorCode.PEER_REJECTED });
  await t.throwsAsync(tcp.connect(new URL(l.url), { tls: { ca: fixture('ca.pem'), servername: 'elsewhere.example' } }), { code: ErrorCode.PEER_REJECTED });
  await t.throwsAsync(tcp.connect(new URL(l.url), { tls: { ca: fixture('rogue.pem') } }), { code: ErrorCode.PEER_REJECTED });
  // Trusted and named right: by IP SAN, and by name through servername.
  for (const tls of [{ ca: fixture('ca.pem') }, { ca: fixture('ca.pem'), servername: 'localhost' }]) {
    const c = await tcp.connect(new URL(`tcp://127.0.0.1:${port}`), { tls });
    await c.close();
  }
  t.pass();
});

test('TLS without requestCert: a client without a certificate is served', async (t) => {
  const s = { ...tlsSubject, listenOptions: { tls: { key: fixture('server.key'), cert: fixture('server.pem') } }, connectOptions: { tls: { ca: fixture('ca.pem') } } };
  const { client, server } = await pair(t, s);
  await client.send([text('anon')]);
  t.is(new TextDecoder().decode(await readExactly(server, 4)), 'anon');
});
