// Fault injection on unix: and tcp:, the matrix of docs/RELIABILITY.md. For every fault the
// surviving side must get a coded QuiverError or a clean end (awaited under a generous watchdog
// that fails the test if it fires: the assertion is on the event, not on the time), the other
// peers of the same listener or publisher must go on, and nothing may leak: no descriptor of this
// process (the survivor), no socket file, no connection the listener still counts.
//
// Kill points come from a seeded random source: QUIVER_FAULT_SEED=<n> replays a run (the seed is
// in each test's log).
//
//   producer SIGKILLed      at a message boundary or in the middle of a message (seeded cuts),
//                           and from outside at an arbitrary point of a continuous stream
//   consumer SIGKILLed      a subscriber while it reads, one stalled in the middle of a message,
//                           and the listening consumer of a pipeline
//   socket closed mid-frame by the producer (close or end), and by the publisher's side
//   split writes            a stream written byte by byte; a message written in every 2-way split
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as A from 'apache-arrow';
import {
  acceptStreams, ErrorCode, Publisher, RecordBatchEncoder, StreamProducer, subscribe, type Connection, type IncomingStream, type QuiverError,
} from '@quiver/core';
import { faultSeed, fdsSettled, openFds, SeededRandom, tmpDir, within } from '@quiver/testkit';
import type { SocketListener } from '../src/index.js';
import { turns } from './conformance.js';
import { pyPeer, registry, sampleBatch, sampleSchema, seqs } from './helpers/messaging.js';
import { spawnChild, type Child } from './helpers/proc.js';

const SCHEMES = ['unix', 'tcp'] as const;
type Scheme = (typeof SCHEMES)[number];
const peerScript = fileURLToPath(new URL('./helpers/fault-peer.js', import.meta.url));
const SEED = faultSeed();


const codeOf = (e: unknown): string => (e as QuiverError)?.code ?? `not coded: ${String(e)}`;
const faultPeer = (t: ExecutionContext, args: string[]): Child => spawnChild(t, process.execPath, [peerScript, ...args]);
/** Where to listen, and for unix: the (fresh) directory of the socket file. */
function where(t: ExecutionContext, scheme: Scheme): { url: string; dir?: string } {
  if (scheme === 'tcp') return { url: 'tcp://127.0.0.1:0' };
  const dir = tmpDir(t);
  return { url: `unix://${dir}/f.sock`, dir };
}
const listenUrl = (t: ExecutionContext, scheme: Scheme): string => where(t, scheme).url;
const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const gather = (ms: Array<{ buffers: Uint8Array[] }>) => ms.flatMap((m) => m.buffers);
const concat = (bs: Uint8Array[]) => new Uint8Array(Buffer.concat(bs));

/** How a stream ended: the rows' seq values, and 'eos', 'closed' (no EOS) or an error code. */
async function outcome(s: IncomingStream): Promise<{ seqs: number[]; end: string }> {
  const got: A.RecordBatch[] = [];
  try {
    for await (const b of s.reader) got.push(b);
    return { seqs: seqs(got), end: s.reader.end === 'eos' ? 'eos' : 'closed' };
  } catch (e) {
    return { seqs: seqs(got), end: codeOf(e) };
  }
}

/** Descriptors open before the test; after it, every one it opened must be closed again. */
async function noLeaks(t: ExecutionContext, before: Map<number, string>, dir?: string): Promise<void> {
  t.deepEqual(await fdsSettled(before), [], 'descriptors left open');
  if (dir) t.deepEqual(readdirSync(dir), [], 'files left in the socket directory');
}

test.before('warm up: the first child process and socket open descriptors Node keeps for good', async (t) => {
  const reg = registry();
  const l = await reg.listen('tcp://127.0.0.1:0');
  const c = await reg.connect(l.url);
  await c.close();
  await l.close();
  const child = spawn(process.execPath, [peerScript, 'noop', 'x'], { stdio: 'ignore' });
  t.deepEqual(await once(child, 'exit'), [0, null]);
});

for (const scheme of SCHEMES) {
  test.serial(`${scheme}: a producer SIGKILLed at seeded points (boundaries and mid-message): whole batches, then a clean end or TRUNCATED; a producer beside it finishes`, async (t) => {
    const rng = new SeededRandom(SEED + 1);
    t.log(`seed ${rng.seed}`);
    const before = openFds();
    const { url, dir } = where(t, scheme);
    const reg = registry();
    const listener = (await reg.listen(url)) as SocketListener;
    const streams = acceptStreams(listener);
    t.teardown(() => streams.return(undefined));
    // The bystander: connects first, so its stream is the first one accepted.
    const good = await StreamProducer.connect(reg, listener.url, sampleSchema());
    t.teardown(() => good.close().catch(() => {}));
    const goodStream = (await within(streams.next(), 'the bystander stream')).value as IncomingStream;
    const goodOutcome = outcome(goodStream);
    let goodSent = 0;
    const cases: Array<{ batches: number; rows: number; cut: number; length: number }> = [];
    for (let i = 0; i < 8; i++) {
      const batches = rng.int(0, 4);
      const rows = [1, 10, 100, 3000, 12_000][rng.int(0, 4)]!;
      // The next message's length (sampleBatch's messages depend only on rows and the dictionary).
      const enc = new RecordBatchEncoder(sampleSchema(), 'stream');
      enc.start();
      for (let b = 0; b < batches; b++) enc.write(sampleBatch(b, rows));
      const length = concat(gather(enc.write(sampleBatch(batches, rows)))).byteLength;
      // Every other case cuts at a boundary or in the 8-byte prefix; the rest anywhere.
      const cut = i % 4 === 0 ? 0 : i % 4 === 1 ? rng.int(1, 8) : rng.int(1, length - 1);
      cases.push({ batches, rows, cut, length });
    }
    const results: unknown[] = [];
    for (const c of cases) {
      const child = faultPeer(t, ['produce-cut', listener.url, String(c.batches), String(c.rows), String(c.cut)]);
      const s = (await within(streams.next(), 'the producer stream')).value as IncomingStream;
      const o = await within(outcome(s), `the end of a stream cut at ${c.cut}`);
      t.is(await child.line(), 'cut');
      t.is(await child.exited, 'SIGKILL');
      results.push({ ...c, end: o.end });
      t.deepEqual(o.seqs, range(0, c.batches * c.rows), `case ${JSON.stringify(c)}`);
      t.is(o.end, c.cut === 0 ? 'closed' : ErrorCode.TRUNCATED, `case ${JSON.stringify(c)}`);
      await good.send(sampleBatch(goodSent++, 50)); // the bystander goes on between the kills
    }
    t.log(JSON.stringify(results));
    await good.close();
    const g = await within(goodOutcome, 'the bystander end');
    t.deepEqual(g, { seqs: range(0, goodSent * 50), end: 'eos' });
    await streams.return(undefined);
    t.is(listener.stats().open, 0);
    await noLeaks(t, before, dir);
  });

  test.serial(`${scheme}: a producer SIGKILLed from outside at seeded moments of a continuous stream: an in-order prefix, then an end or a coded error`, async (t) => {
    const rng = new SeededRandom(SEED + 2);
    t.log(`seed ${rng.seed}`);
    const before = openFds();
    const reg = registry();
    const listener = (await reg.listen(listenUrl(t, scheme))) as SocketListener;
    const streams = acceptStreams(listener);
    t.teardown(() => streams.return(undefined));
    const ends: string[] = [];
    for (let i = 0; i < 4; i++) {
      const rows = [10, 2000, 20_000][rng.int(0, 2)]!;
      const killAfter = rng.int(0, 30);
      const child = faultPeer(t, ['produce-forever', listener.url, String(rows)]);
      const s = (await within(streams.next(), 'the producer stream')).value as IncomingStream;
      const got: number[] = [];
      let end: string;
      try {
        for await (const b of s.reader) {
          got.push(...seqs([b]));
          // Killed while it writes the next batches (it is always writing: the socket is never empty).
          if (got.length === killAfter * rows) child.proc.kill('SIGKILL');
        }
        end = s.reader.end === 'eos' ? 'eos' : 'closed';
      } catch (e) {
        end = codeOf(e);
      }
      if (killAfter === 0) child.proc.kill('SIGKILL');
      await within(child.exited, 'the child exit');
      ends.push(end);
      t.true(got.length >= killAfter * rows && got.length % rows === 0, `${got.length} rows of ${rows}`);
      t.deepEqual(got, range(0, got.length), 'an in-order prefix, nothing duplicated or lost in it');
      t.true(['closed', ErrorCode.TRUNCATED, ErrorCode.CONNECTION_FAILED].includes(end), end);
    }
    t.log(`ends: ${ends.join(', ')}`);
    await streams.return(undefined);
    t.is(listener.stats().open, 0);
    await noLeaks(t, before);
  });

  test.serial(`${scheme}: a subscriber SIGKILLed while reading, and one stalled mid-message then killed: publish goes on, the others (Node and pyarrow) get every batch`, async (t) => {
    const rng = new SeededRandom(SEED + 3);
    t.log(`seed ${rng.seed}`);
    const before = openFds();
    const reg = registry();
    const pub = await Publisher.listen(reg, listenUrl(t, scheme), { helloTimeoutMs: 100, queueLength: 4 });
    t.teardown(() => pub.close());
    const topic = pub.topic('default', sampleSchema());
    const rows = 2000; // ~40 KB a batch
    const killAt = rng.int(1, 20);
    const stallAt = rng.int(1, 200_000);
    t.log(`reader killed after ${killAt} batches; the stalled one stops after ${stallAt} bytes`);
    const survivors = [faultPeer(t, ['subscribe', pub.url]), faultPeer(t, ['subscribe', pub.url])];
    const py = pyPeer(t, ['consume', pub.url]);
    const victim = faultPeer(t, ['subscribe', pub.url]);
    const stalled = faultPeer(t, ['subscribe-stall', pub.url, String(stallAt)]);
    await within(topic.waitForSubscribers(5), 'five subscribers');
    // Publishing runs on while the victims die, and for `after` batches once both are gone, so
    // writes meet their deaths (kernel buffers, several MiB on TCP loopback, would otherwise take
    // the rest). Under the block policy a dead subscriber not taken out would stop it for good.
    let total = 0;
    let stop = false;
    const publishing = (async () => {
      while (!stop) await topic.publish(sampleBatch(total++, rows));
    })();
    // The stalled one first: while it lives, the block policy holds publishing back once its
    // socket and queue are full, and the victim would wait for batches that cannot come.
    t.is(await within(stalled.line(), 'the stall'), 'stalled');
    stalled.proc.kill('SIGKILL');
    for (let i = 0; i < killAt; i++) t.is(await within(victim.line(), 'a batch of the victim'), `b ${i * rows}`);
    victim.proc.kill('SIGKILL');
    await within(Promise.all([victim.exited, stalled.exited]), 'the victims exit');
    const after = total + 20;
    await within(
      (async () => {
        while (total < after) await turns(1);
      })(),
      'twenty more publishes',
    );
    stop = true;
    await within(publishing, 'every publish');
    await within(pub.close(), 'the publisher close');
    for (const s of survivors) {
      const lines = await within(s.rest(), 'a survivor end');
      t.deepEqual(lines, [...range(0, total).map((i) => `b ${i * rows}`), 'end eos']);
      t.is(await s.exited, 0);
    }
    const out = JSON.parse((await within(py.line(), 'the pyarrow end'))!) as { batches: number; rows: number };
    t.deepEqual([out.batches, out.rows], [total, total * rows]);
    t.is(await py.exited, 0);
    const stats = pub.stats();
    const dead = stats.filter((s) => s.closeReason !== undefined);
    t.is(dead.length, 2, JSON.stringify(stats));
    for (const s of dead) t.is(s.closeReason, ErrorCode.CONNECTION_FAILED);
    t.true(stats.every((s) => s.state === 'closed'));
    await noLeaks(t, before);
  });

  test.serial(`${scheme}: the consumer process (the listener) SIGKILLed mid-stream: send rejects with CONNECTION_FAILED, close releases everything`, async (t) => {
    const rng = new SeededRandom(SEED + 4);
    t.log(`seed ${rng.seed}`);
    const before = openFds();
    const dir = scheme === 'unix' ? tmpDir(t) : undefined;
    const url = dir ? `unix://${dir}/c.sock` : `tcp://127.0.0.1:${await freePort()}`;
    const consumer = faultPeer(t, ['listen', url]);
    t.is(await consumer.line(), 'listening');
    const producer = await StreamProducer.connect(registry(), url, sampleSchema());
    t.teardown(() => producer.close().catch(() => {}));
    const killAt = rng.int(0, 10);
    const rows = 5000;
    let failure: unknown;
    const sending = (async () => {
      try {
        for (let i = 0; ; i++) await producer.send(sampleBatch(i, rows));
      } catch (e) {
        failure = e;
      }
    })();
    const t0 = Date.now();
    for (let i = 0; i < killAt; i++) t.is(await consumer.line(), `b ${i * rows}`);
    const t1 = Date.now();
    consumer.proc.kill('SIGKILL');
    await within(sending, 'the failed send');
    t.log(`read ${t1 - t0} ms; failed ${Date.now() - t1} ms after the kill`);
    t.is(codeOf(failure), ErrorCode.CONNECTION_FAILED);
    // close() cannot send the end-of-stream marker any more: it says so (the same coded error)
    // or resolves, and releases the connection either way.
    const closing = await within(producer.close().then(() => 'closed', codeOf), 'the producer close');
    t.true(['closed', ErrorCode.CONNECTION_FAILED].includes(closing), closing);
    await within(consumer.exited, 'the consumer exit'); // all its sockets closed (the kernel closes them one by one)
    if (dir) {
      // A SIGKILLed listener leaves its socket file: stale, and replaced by the next listen.
      t.deepEqual(readdirSync(dir), ['c.sock']);
      const again = await registry().listen(url);
      await again.close();
      t.deepEqual(readdirSync(dir), []);
    }
    await noLeaks(t, before);
  });

  test.serial(`${scheme}: a socket closed or ended mid-frame (seeded cuts, by the producer and by the publisher's side): TRUNCATED, or a clean end at a boundary`, async (t) => {
    const rng = new SeededRandom(SEED + 5);
    t.log(`seed ${rng.seed}`);
    const before = openFds();
    const reg = registry();
    // The whole stream, and where its messages start and end.
    const enc = new RecordBatchEncoder(sampleSchema(), 'stream');
    const messages = [enc.start(), ...range(0, 3).map((i) => enc.write(sampleBatch(i, 40))), enc.finish()].map((ms) => concat(gather(ms)));
    const bytes = concat(messages);
    const boundaries = [0];
    for (const m of messages) boundaries.push(boundaries.at(-1)! + m.byteLength);
    const cuts = [...new Set([...boundaries.slice(1, -1), ...range(0, 24).map(() => rng.int(1, bytes.byteLength - 1))])].sort((a, b) => a - b);
    // Rows a cut leaves whole: the batches whose messages end at or before it.
    const rowsBefore = (cut: number) => 40 * Math.max(0, boundaries.filter((b, i) => i >= 2 && i <= 4 && b <= cut).length);

    const listener = (await reg.listen(listenUrl(t, scheme))) as SocketListener;
    const streams = acceptStreams(listener);
    t.teardown(() => streams.return(undefined));
    for (const [k, cut] of cuts.entries()) {
      const conn = await reg.connect(listener.url);
      await conn.send([bytes.subarray(0, cut)]);
      if (k % 2 === 0) await conn.close();
      else await conn.end(); // half-close: the consumer sees the end, not a reset
      if (cut < boundaries[1]!) {
        await conn.close(); // no schema: acceptStreams drops the connection unseen
        continue;
      }
      const o = await within(outcome((await streams.next()).value as IncomingStream), `the stream cut at ${cut}`);
      t.deepEqual(o.seqs, range(0, rowsBefore(cut)), `cut at ${cut}`);
      t.is(o.end, boundaries.includes(cut) ? 'closed' : ErrorCode.TRUNCATED, `cut at ${cut}`);
      await conn.close();
    }
    await streams.return(undefined);

    // The publisher's side: a raw listener sends the same stream cut, then closes.
    const raw = await reg.listen(listenUrl(t, scheme));
    t.teardown(() => raw.close());
    for (const cut of cuts.filter((_, i) => i % 3 === 0)) {
      const sub = subscribe(reg, raw.url);
      const it = sub[Symbol.asyncIterator]();
      const first = it.next();
      const server = (await raw[Symbol.asyncIterator]().next()).value as Connection;
      await server.send([bytes.subarray(0, cut)]);
      await server.end();
      const got: A.RecordBatch[] = [];
      let end = 'clean';
      try {
        for (let r = await within(first, 'the first batch'); !r.done; r = await within(it.next(), 'a batch')) got.push(r.value);
      } catch (e) {
        end = codeOf(e);
      }
      t.deepEqual(seqs(got), range(0, rowsBefore(cut)), `publisher cut at ${cut}`);
      // Before the schema is whole there is no stream to end cleanly: TRUNCATED there too.
      t.is(end, boundaries.includes(cut) && cut > 0 ? 'clean' : ErrorCode.TRUNCATED, `publisher cut at ${cut}`);
      await server.close();
      await sub.close();
    }
    await raw.close();
    t.is(listener.stats().open, 0);
    await noLeaks(t, before);
  });

  test.serial(`${scheme}: writes split at every boundary: a stream byte by byte, and a message in every 2-way split, decode exactly`, async (t) => {
    const before = openFds();
    const reg = registry();
    const listener = await reg.listen(listenUrl(t, scheme));
    const streams = acceptStreams(listener);
    t.teardown(() => streams.return(undefined));
    const enc = new RecordBatchEncoder(sampleSchema(), 'stream');
    const head = concat(gather(enc.start()));
    const first = concat(gather(enc.write(sampleBatch(0, 30)))); // with the dictionary
    const batch = concat(gather(enc.write(sampleBatch(0, 30)))); // the batch message alone
    const eos = concat(gather(enc.finish()));

    // One byte per send; each awaited (in the kernel) and a turn of the event loop given, so the
    // reader mostly sees one byte per read.
    const bytewise = await reg.connect(listener.url);
    const stream = concat([head, first, batch, batch, eos]);
    // Read while sending: one-byte writes fill a socket buffer fast (the kernel counts each one's
    // overhead), and an unread socket stops the sender.
    const arrived = streams.next().then((r) => outcome(r.value as IncomingStream));
    for (let i = 0; i < stream.byteLength; i++) {
      await within(bytewise.send([stream.subarray(i, i + 1)]), `byte ${i}`);
      if (i % 16 === 0) await turns(1);
    }
    await bytewise.end();
    const o = await within(arrived, 'the byte-by-byte end');
    t.deepEqual(o, { seqs: [...range(0, 30), ...range(0, 30), ...range(0, 30)], end: 'eos' });
    await bytewise.close();

    // The batch message once per split point k: [0, k) then [k, n).
    const split = await reg.connect(listener.url);
    const next = streams.next().then((r) => outcome(r.value as IncomingStream));
    await split.send([head, first]);
    for (let k = 1; k < batch.byteLength; k++) {
      await within(split.send([batch.subarray(0, k)]), `split ${k}`);
      await turns(2);
      await within(split.send([batch.subarray(k)]), `split ${k}`);
    }
    await split.send([eos]);
    await split.end();
    const s = await within(next, 'the split end');
    t.is(s.end, 'eos');
    t.is(s.seqs.length, 30 * batch.byteLength);
    t.deepEqual(s.seqs.slice(-30), range(0, 30));
    t.true(s.seqs.every((v, i) => v === i % 30));
    t.log(`${stream.byteLength} one-byte sends; ${batch.byteLength - 1} split points of a ${batch.byteLength}-byte message`);
    await split.close();
    await streams.return(undefined);
    await noLeaks(t, before);
  });
}

for (const scheme of SCHEMES) {
  test.serial(`${scheme}: a producer whose sends never wait still lets its event loop turn (at most 64 sends in a row)`, async (t) => {
    const before = openFds();
    const reg = registry();
    const listener = await reg.listen(listenUrl(t, scheme));
    t.teardown(() => listener.close());
    const accepted = listener[Symbol.asyncIterator]().next();
    const client = await reg.connect(listener.url);
    const server = (await accepted).value as Connection;
    let received = 0;
    const draining = (async () => {
      for await (const chunk of server) received += chunk.byteLength;
    })();
    // A turn of the event loop asked for before a tight send loop: it must come within 64 sends,
    // even though the kernel takes every send at once (the peer keeps reading).
    let turned = false;
    setImmediate(() => (turned = true));
    let inARow = 0;
    const piece = new Uint8Array(1024).fill(7);
    for (let i = 0; i < 2000; i++) {
      await client.send([piece]);
      if (!turned) inARow++;
    }
    t.true(turned);
    t.true(inARow < 64, `${inARow} sends before the event loop turned`);
    await client.end();
    await within(draining, 'the drain');
    t.is(received, 2000 * 1024);
    await client.close();
    await server.close();
    await listener.close();
    await noLeaks(t, before);
  });
}

/** A TCP port nobody listens on now (the consumer child listens on it). */
async function freePort(): Promise<number> {
  const l = await registry().listen('tcp://127.0.0.1:0');
  const port = Number(new URL(l.url).port);
  await l.close();
  return port;
}
