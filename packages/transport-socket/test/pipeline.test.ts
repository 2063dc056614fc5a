// Pipelines over real sockets: producers connect and stream, a consumer listens. Both sides are
// exercised with plain pyarrow as the peer, so the wire is shown to be a standard Arrow stream.
import test from 'ava';
import * as A from 'apache-arrow';
import { acceptStreams, ErrorCode, QuiverError, StreamProducer, type IncomingStream } from '@quiver/core';
import { canonFromArrow, judge } from '@quiver/testkit';
import { registry, pyPeer, sampleBatch, sampleSchema, seqs, unixUrlFor } from './helpers/messaging.js';
import { fileURLToPath } from 'node:url';
import { spawnChild } from './helpers/proc.js';

async function collect(s: IncomingStream): Promise<A.RecordBatch[]> {
  const out: A.RecordBatch[] = [];
  for await (const b of s.reader) out.push(b);
  return out;
}

for (const scheme of ['unix', 'tcp'] as const) {
  test(`${scheme}: a Quiver producer streams batches to a Quiver consumer, ending with EOS`, async (t) => {
    const reg = registry();
    const listener = await reg.listen(scheme === 'unix' ? unixUrlFor(t) : 'tcp://127.0.0.1:0');
    t.teardown(() => listener.close());
    const streams = acceptStreams(listener);
    const producer = await StreamProducer.connect(reg, listener.url, sampleSchema(), { compression: 'lz4' });
    for (let i = 0; i < 20; i++) await producer.send(sampleBatch(i));
    await producer.close();
    const { value: s } = await streams.next();
    const got = await collect(s!);
    t.is(s!.reader.end, 'eos');
    t.deepEqual(seqs(got), Array.from({ length: 2000 }, (_, i) => i));
    t.deepEqual(got[5]!.getChild('label')!.toArray().slice(0, 3), ['c', 'a', 'b']);
    await streams.return(undefined);
  });
}

test('several pyarrow producers at once (plain pa.ipc.new_stream on a socket), each stream with its schema and peer', async (t) => {
  const reg = registry();
  const listener = await reg.listen(unixUrlFor(t));
  const streams = acceptStreams(listener);
  t.teardown(() => streams.return(undefined));
  const cases = [
    ['basic', 'none'],
    ['basic', 'lz4'],
    ['dict_delta', 'zstd'],
  ] as const;
  const peers = cases.map(([c, z]) => pyPeer(t, ['produce', listener.url, '--case', c, '--compression', z]));
  const received: Array<{ names: string[]; rows: number; canon: unknown; peer: string }> = [];
  for (let i = 0; i < cases.length; i++) {
    const { value: s } = await streams.next();
    const batches = await collect(s!);
    t.is(s!.reader.end, 'eos');
    const table = new A.Table(s!.reader.schema, batches);
    received.push({ names: table.schema.fields.map((f) => f.name), rows: table.numRows, canon: canonFromArrow(table), peer: s!.peer.address });
  }
  for (const p of peers) t.is(await p.exited, 0);
  // What each producer sent, as pyarrow itself reads it from a file written the same way.
  const byShape = new Map(received.map((r) => [`${r.names.join(',')}:${r.rows}`, r]));
  t.true(byShape.has('i64,f64,utf8:3000'), [...byShape.keys()].join(' | '));
  t.true(byShape.has('dict,n:14'));
  const dict = byShape.get('dict,n:14')!;
  t.deepEqual((dict.canon as unknown[][])[0], ['alpha', 'beta', null, 'beta', 'alpha', 'gamma', 'delta', 'alpha', null, 'omega', 'psi', 'psi', null, 'chi']);
  const basics = received.filter((r) => r.names[0] === 'i64');
  t.is(basics.length, 2);
  t.deepEqual(basics[0]!.canon, basics[1]!.canon); // lz4 and uncompressed carry the same data
});

for (const compression of ['lz4', 'zstd'] as const) {
test(`a Quiver producer to a plain pyarrow consumer (pa.ipc.open_stream on a socket), with dictionaries and ${compression}`, async (t) => {
  const reg = registry();
  const listener = await reg.listen(unixUrlFor(t));
  t.teardown(() => listener.close());
  const consumer = pyPeer(t, ['consume', listener.url]);
  const { value: conn } = await listener[Symbol.asyncIterator]().next();
  const producer = await StreamProducer.over(conn!, sampleSchema(), { compression });
  const sent = [0, 1, 2, 3].map((i) => sampleBatch(i, 50));
  for (const b of sent) await producer.send(b);
  await producer.close();
  const out = JSON.parse((await consumer.line())!);
  t.is(await consumer.exited, 0);
  t.is(out.batches, 4);
  t.is(out.rows, 200);
  t.deepEqual(out.columns, canonFromArrow(new A.Table(sent)));
  t.deepEqual((out.schema as Array<{ type: string }>).map((f) => f.type), ['int64', 'double', 'dictionary<values=string, indices=int32, ordered=0>']);
});
}

test('end of stream, peer close and peer crash are told apart', async (t) => {
  const reg = registry();
  const listener = await reg.listen(unixUrlFor(t));
  const streams = acceptStreams(listener);
  t.teardown(() => streams.return(undefined));
  const child = fileURLToPath(new URL('./helpers/producer-child.js', import.meta.url));
  const outcomes: Record<string, unknown> = {};
  for (const mode of ['eos', 'close', 'crash']) {
    const proc = spawnChild(t, process.execPath, [child, listener.url, mode]);
    const { value: s } = await streams.next();
    if (mode === 'crash') {
      t.is(await proc.line(), 'half');
      proc.proc.kill('SIGKILL');
    }
    let rows = 0;
    let error: unknown;
    try {
      for await (const b of s!.reader) rows += b.numRows;
    } catch (e) {
      error = e;
    }
    outcomes[mode] = { rows, end: s!.reader.end instanceof Error ? (s!.reader.end as QuiverError).code : s!.reader.end, threw: (error as QuiverError | undefined)?.code };
  }
  t.deepEqual(outcomes, {
    eos: { rows: 3000, end: 'eos', threw: undefined },
    close: { rows: 3000, end: 'closed', threw: undefined },
    crash: { rows: 3000, end: ErrorCode.TRUNCATED, threw: ErrorCode.TRUNCATED },
  });
});

test('a message over the per-connection limit closes that connection with MESSAGE_TOO_LARGE; others go on', async (t) => {
  const reg = registry();
  const listener = await reg.listen(unixUrlFor(t));
  const streams = acceptStreams(listener, { maxMessageBytes: 64 * 1024 });
  t.teardown(() => streams.return(undefined));
  const big = await StreamProducer.connect(reg, listener.url, sampleSchema());
  const small = await StreamProducer.connect(reg, listener.url, sampleSchema());
  const a = (await streams.next()).value!;
  const b = (await streams.next()).value!;
  // Read both streams while sending (a reader that is not reading would stall the sender).
  const reading = Promise.all(
    [a, b].map(async (s) => {
      try {
        return { rows: (await collect(s)).reduce((n, x) => n + x.numRows, 0) };
      } catch (e) {
        return { code: (e as QuiverError).code };
      }
    }),
  );
  // One producer sends a ~400 KB message, the other two small ones.
  await big.send(sampleBatch(0, 20_000)).catch(() => {}); // the consumer may close mid-send
  await small.send(sampleBatch(0, 10));
  await small.send(sampleBatch(1, 10));
  await small.close();
  const results = await reading;
  t.deepEqual(results.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))), [{ code: ErrorCode.MESSAGE_TOO_LARGE }, { rows: 20 }]);
  await big.close().catch(() => {});
});

test('backpressure: with a stalled consumer the producer waits and holds a bounded amount', async (t) => {
  const reg = registry();
  const listener = await reg.listen(unixUrlFor(t));
  const streams = acceptStreams(listener);
  t.teardown(() => streams.return(undefined));
  const producer = await StreamProducer.connect(reg, listener.url, sampleSchema());
  const s = (await streams.next()).value!; // schema read; now nobody reads the batches
  const batch = sampleBatch(0, 10_000); // ~200 KB per message
  let accepted = 0;
  let pending = producer.send(batch).then(() => accepted++);
  // Keep sending while sends resolve; stop at the first that stays pending while the consumer
  // is stalled. If sends never blocked, the loop would run all 2000 (400 MB) and fail below.
  for (let i = 0; i < 2000; i++) {
    const settled = await Promise.race([pending.then(() => true), new Promise<boolean>((r) => setImmediate(() => r(false)))]);
    if (!settled) {
      // Give the event loop many more turns: the send must still be pending (kernel buffers full).
      let stillPending = true;
      for (let k = 0; k < 200 && stillPending; k++) stillPending = !(await Promise.race([pending.then(() => true), new Promise<boolean>((r) => setImmediate(() => r(false)))]));
      if (stillPending) break;
    }
    pending = producer.send(batch).then(() => accepted++);
  }
  const bytesAccepted = accepted * 200_000;
  t.true(accepted < 200, `accepted ${accepted} batches (${bytesAccepted} bytes) without a reader`);
  const heapBefore = process.memoryUsage().arrayBuffers;
  // Now read everything: the pending send completes and the producer can finish.
  const reading = collect(s);
  await pending;
  await producer.close();
  const got = await reading;
  t.is(got.length, accepted);
  t.true(process.memoryUsage().arrayBuffers - heapBefore < 64 * 1024 * 1024);
});

test('malformed input from one peer closes only that peer; a good stream alongside it is intact', async (t) => {
  const reg = registry();
  const listener = await reg.listen(unixUrlFor(t));
  const streams = acceptStreams(listener);
  t.teardown(() => streams.return(undefined));
  const bad = await reg.connect(listener.url);
  // A continuation marker and a length, then bytes that are not a flatbuffer Message.
  const garbage = new Uint8Array(64).fill(0xab);
  new DataView(garbage.buffer).setUint32(0, 0xffffffff, true);
  new DataView(garbage.buffer).setInt32(4, 56, true);
  await bad.send([garbage]);
  const good = await StreamProducer.connect(reg, listener.url, sampleSchema());
  for (let i = 0; i < 5; i++) await good.send(sampleBatch(i));
  await good.close();
  // Only the good stream surfaces (the bad one never produced a schema) and it is complete.
  const { value: s } = await streams.next();
  t.deepEqual(seqs(await collect(s!)), Array.from({ length: 500 }, (_, i) => i));
  // The bad connection was closed by the consumer: our side sees its end (or a reset).
  let ended = true;
  try {
    for await (const _ of bad) void _;
  } catch (e) {
    ended = (e as QuiverError).code === ErrorCode.CONNECTION_FAILED;
  }
  t.true(ended);
  await bad.close();
});

test('a producer told to reconnect survives a consumer restart on the same address', async (t) => {
  const reg = registry();
  const url = unixUrlFor(t);
  let listener = await reg.listen(url);
  let streams = acceptStreams(listener);
  const producer = await StreamProducer.connect(reg, url, sampleSchema(), { reconnect: { initialDelayMs: 5, maxDelayMs: 50 } });
  t.teardown(() => producer.close());
  await producer.send(sampleBatch(0));
  const first = (await streams.next()).value!;
  t.deepEqual(seqs([(await first.reader.next())!]), Array.from({ length: 100 }, (_, i) => i));
  // The consumer goes away: its listener and the connection close.
  await streams.return(undefined);
  await first.connection.close();
  listener = await reg.listen(url);
  streams = acceptStreams(listener);
  t.teardown(() => streams.return(undefined));
  // Sends now fail on the dead connection until one reconnects; the batch that failed is resent.
  for (let i = 1; i <= 3; i++) await producer.send(sampleBatch(i));
  await producer.close();
  const second = (await streams.next()).value!;
  const got = await collect(second);
  t.is(second.reader.end, 'eos');
  // Whatever was accepted by the dead connection's kernel buffer is lost with it; what arrives
  // on the new stream is a suffix of what was sent, in order, starting with a fresh schema.
  const s = seqs(got);
  t.true(s.length >= 100 && s.length <= 300, `${s.length} rows`);
  t.deepEqual(s, Array.from({ length: s.length }, (_, i) => 400 - s.length + i));
});
