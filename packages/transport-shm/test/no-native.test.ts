// Without the native addon (QUIVER_DISABLE_NATIVE=1, in a child process): importing works, the
// registry says shm: is unavailable, listen/connect reject ERR_QUIVER_NATIVE_UNAVAILABLE, and
// worker: still works.
import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ErrorCode } from '@quiver/core';

const pkgDir = fileURLToPath(new URL('../../', import.meta.url));
const indexUrl = new URL('../src/index.js', import.meta.url).href;

const script = `
const m = await import(${JSON.stringify(indexUrl)});
const core = await import('@quiver/core');
const registry = new core.TransportRegistry([m.shmTransport(), m.workerTransport()]);
const code = async (f) => { try { await f(); return 'ok'; } catch (e) { return e.code; } };
const out = {
  capabilities: registry.capabilities(),
  availability: m.shmTransport().availability(),
  listen: await code(() => registry.listen('shm://qshm-never')),
  direct: await code(() => m.listenShm('shm://qshm-never')),
  connect: await code(() => m.shmTransport().connect(new URL('shm://qshm-never'))),
  cleanup: await code(() => m.cleanupStaleSegments()),
};
const t = m.workerTransport();
const ch = t.createChannel({ size: 4096 });
const listener = await t.listen(new URL(ch.url));
const conn = await t.connect(new URL(ch.url));
await listener.connection.send([core.EOS]);
await listener.connection.end();
const chunks = [];
for await (const c of conn) chunks.push(c.byteLength);
out.worker = chunks;
console.log(JSON.stringify(out));
`;

test('QUIVER_DISABLE_NATIVE=1: import works, shm: is unavailable with a coded reason, worker: works', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: pkgDir,
    env: { ...process.env, QUIVER_DISABLE_NATIVE: '1' },
  });
  const out = JSON.parse(stdout) as Record<string, unknown>;
  const caps = out.capabilities as Array<{ scheme: string; available: boolean; reason?: string }>;
  t.deepEqual(caps.map((c) => [c.scheme, c.available]), [
    ['shm', false],
    ['worker', true],
  ]);
  t.regex(caps[0]!.reason!, /QUIVER_DISABLE_NATIVE/);
  t.like(out.availability as object, { available: false, code: ErrorCode.NATIVE_UNAVAILABLE });
  t.is(out.listen, ErrorCode.NATIVE_UNAVAILABLE);
  t.is(out.direct, ErrorCode.NATIVE_UNAVAILABLE);
  t.is(out.connect, ErrorCode.NATIVE_UNAVAILABLE);
  t.is(out.cleanup, ErrorCode.NATIVE_UNAVAILABLE);
  t.deepEqual(out.worker, [8]);
});
