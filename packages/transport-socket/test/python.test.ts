// Plain Python as a peer: a socket and makefile(), no Quiver on the other side. The bytes we
// receive are exactly the bytes Python wrote, and the other way round (pyarrow-level interop is
// the messaging layer's test).
import test, { type ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { python, tmpDir } from '@quiver/testkit';
import type { Connection, Transport } from '@quiver/core';
import { tcpTransport, unixTransport, unixUrl } from '../src/index.js';
import { drain } from './conformance.js';
import { spawnChild } from './helpers/proc.js';

const script = `
import hashlib, json, socket, sys
kind, addr = sys.argv[1], sys.argv[2]
if kind == 'unix':
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(addr)
else:
    host, port = addr.rsplit(':', 1); s = socket.create_connection((host, int(port)))
w = s.makefile('wb')
h = hashlib.sha256(); n = 0
# Many small writes and a few large ones, deterministic content.
parts = [bytes([i % 251]) * (1 + i % 97) for i in range(5000)] + [bytes(range(256)) * 8192, b'tail']
for p in parts:
    w.write(p); h.update(p); n += len(p)
w.flush(); w.close()
s.shutdown(socket.SHUT_WR)
r = s.makefile('rb'); back = r.read()
print(json.dumps({'sent': [n, h.hexdigest()], 'got': [len(back), hashlib.sha256(back).hexdigest()]}))
`;

async function exchange(t: ExecutionContext, transport: Transport, listenUrl: string, kind: string, addr: (url: string) => string) {
  const l = await transport.listen(new URL(listenUrl));
  t.teardown(() => l.close());
  const accepted = l[Symbol.asyncIterator]().next();
  const child = spawnChild(t, python(), ['-c', script, kind, addr(l.url)]);
  const conn = (await accepted).value as Connection;
  t.teardown(() => conn.close());
  const reply = [randomBytes(3 << 20), randomBytes(17), randomBytes(1 << 20)];
  const replyHash = createHash('sha256');
  for (const b of reply) replyHash.update(b);
  const [got] = await Promise.all([drain(conn), conn.send(reply).then(() => conn.end())]);
  const report = JSON.parse((await child.line())!) as { sent: [number, string]; got: [number, string] };
  t.is(await child.exited, 0);
  t.deepEqual([got.bytes, got.sha256], report.sent);
  t.deepEqual(report.got, [(4 << 20) + 17, replyHash.digest('hex')]);
}

test('a Python socket client on our unix listener: bytes intact both ways', async (t) => {
  const path = join(tmpDir(t), 'py.sock');
  await exchange(t, unixTransport(), unixUrl(path), 'unix', () => path);
});

test('a Python socket client on our tcp listener: bytes intact both ways', async (t) => {
  await exchange(t, tcpTransport(), 'tcp://127.0.0.1:0', 'tcp', (url) => new URL(url).host);
});
