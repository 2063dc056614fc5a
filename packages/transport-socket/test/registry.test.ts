// The socket transports on core's TransportRegistry.
import test from 'ava';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, TransportRegistry } from '@quiver/core';
import { tmpDir } from '@quiver/testkit';
import { registerSocketTransports, socketTransports, tcpTransport, unixUrl } from '../src/index.js';
import { readExactly } from './conformance.js';

test('socketTransports(): unix: and tcp:, both available', (t) => {
  const registry = new TransportRegistry(socketTransports());
  t.deepEqual(registry.capabilities(), [
    { scheme: 'unix', available: true },
    { scheme: 'tcp', available: true },
  ]);
  t.deepEqual(registry.resolve('unix:///tmp/x.sock').transport.schemes, ['unix']);
  t.deepEqual(registry.resolve('tcp://127.0.0.1:1').transport.schemes, ['tcp']);
});

test('an unknown scheme is ERR_QUIVER_INVALID_ARGUMENT', async (t) => {
  const registry = new TransportRegistry(socketTransports());
  t.throws(() => registry.resolve('shm://segment'), { code: ErrorCode.INVALID_ARGUMENT });
  await t.throwsAsync(async () => registry.connect('udp://127.0.0.1:1'), { code: ErrorCode.INVALID_ARGUMENT });
});

test('registerSocketTransports registers both or neither', (t) => {
  const fresh = registerSocketTransports(new TransportRegistry());
  t.deepEqual(fresh.capabilities().map((c) => c.scheme), ['unix', 'tcp']);
  const partial = new TransportRegistry([tcpTransport()]);
  t.throws(() => registerSocketTransports(partial), { code: ErrorCode.INVALID_ARGUMENT });
  t.deepEqual(partial.capabilities().map((c) => c.scheme), ['tcp']);
});

test('URLs and options go through the registry: listen, connect, exchange', async (t) => {
  const registry = new TransportRegistry(socketTransports({ unix: { mode: 0o640 } }));
  const path = join(tmpDir(t), 'r.sock');
  const l = await registry.listen(unixUrl(path));
  t.teardown(() => l.close());
  t.is(statSync(path).mode & 0o777, 0o640);
  const override = await registry.listen(unixUrl(join(tmpDir(t), 'o.sock')), { mode: 0o600 });
  t.teardown(() => override.close());
  const accepted = l[Symbol.asyncIterator]().next();
  const c = await registry.connect(l.url);
  t.teardown(() => c.close());
  const s = (await accepted).value!;
  t.teardown(() => s.close());
  await c.send([new TextEncoder().encode('via registry')]);
  t.is(new TextDecoder().decode(await readExactly(s, 12)), 'via registry');
  const tl = await registry.listen('tcp://127.0.0.1:0');
  t.teardown(() => tl.close());
  t.regex(tl.url, /^tcp:\/\/127\.0\.0\.1:\d+$/);
});
