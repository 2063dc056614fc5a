// readInto, the socket connections' direct-read path (Node's `onread`): present on plain sockets,
// both ends, absent over TLS; bytes land where the sink asks, in order; a sink that stops stops
// the socket being read (backpressure); the end of input and iteration still work around it.
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import * as A from 'apache-arrow';
import { StreamProducer, StreamReader, type Connection, type ReadSink } from '@quiver/core';
import { fillUntilStalled, pair, readExactly, type ConformanceSubject } from './conformance.js';
import { tcpSubject, tlsSubject, unixSubject } from './helpers/subjects.js';

/** A sink that keeps every byte, reading into one buffer of its own when `direct`. */
function collector(limit = Infinity, direct = true) {
  const hash = createHash('sha256');
  const state = { bytes: 0, inPlace: 0, limit };
  let region: Uint8Array | null = null;
  const sink: ReadSink = {
    readBuffer() {
      if (!direct) return null;
      region = new Uint8Array(256 << 10);
      return region;
    },
    write(chunk) {
      if (region && chunk.buffer === region.buffer && chunk.byteOffset === region.byteOffset) state.inPlace += chunk.byteLength;
      hash.update(chunk);
      state.bytes += chunk.byteLength;
      return state.bytes < state.limit;
    },
  };
  return { sink, state, digest: () => hash.digest('hex') };
}

for (const s of [unixSubject, tcpSubject] as ConformanceSubject[]) {
  test(`${s.name}: both ends have readInto; reads land in the sink's memory, in order`, async (t) => {
    const { client, server } = await pair(t, s);
    t.is(typeof client.readInto, 'function');
    t.is(typeof server.readInto, 'function');
    const data = randomBytes(3 << 20);
    const sending = (async () => {
      for (let at = 0; at < data.byteLength; at += 100_000) await client.send([data.subarray(at, at + 100_000)]);
      await client.end();
    })();
    const c = collector();
    while (await server.readInto!(c.sink));
    await sending;
    t.is(c.state.bytes, data.byteLength);
    t.is(c.digest(), createHash('sha256').update(data).digest('hex'));
    t.true(c.state.inPlace > data.byteLength / 2, `bytes read in place: ${c.state.inPlace}`);
  });

  test(`${s.name}: a sink that stops stops the reading (the sender stalls), and reading resumes`, async (t) => {
    const { client, server } = await pair(t, s);
    const c = collector(1 << 20);
    const first = server.readInto!(c.sink);
    const chunk = new Uint8Array(64 << 10).fill(0xcd);
    const { accepted, pending } = await fillUntilStalled(client, chunk, 512 << 20);
    t.true(await first);
    t.truthy(pending, 'sends never stalled with the sink stopped');
    c.state.limit = Infinity;
    const rest = (async () => {
      while (await server.readInto!(c.sink));
    })();
    await pending;
    await client.end();
    await rest;
    t.is(c.state.bytes, accepted + chunk.byteLength);
  });

  test(`${s.name}: after a message read in place, the next one's header comes in a small read`, async (t) => {
    // A sink shaped like the framer: between messages it has no memory to offer (the header
    // decides the body's size), then reads each 1 MiB "body" into memory of its own.
    const { client, server } = await pair(t, s);
    const data = randomBytes(6 << 20);
    const sending = client.send([data]).then(() => client.end());
    const hash = createHash('sha256');
    let bytes = 0;
    let limit = 0;
    let firstRead: number | null = null;
    const firstReads: number[] = [];
    const sink: ReadSink = {
      readBuffer: () => (bytes % (1 << 20) === 0 ? null : new Uint8Array(Math.min(256 << 10, limit - bytes))),
      write(chunk) {
        if (firstRead === null) firstReads.push((firstRead = chunk.byteLength));
        hash.update(chunk);
        bytes += chunk.byteLength;
        return bytes < limit;
      },
    };
    while (limit < data.byteLength) {
      // Each message: take the bytes up to its end, whatever size the reads come in.
      limit = Math.min(limit + (1 << 20), data.byteLength);
      firstRead = null;
      while (bytes < limit && (await server.readInto!(sink)));
    }
    await sending;
    t.is(bytes, data.byteLength);
    t.is(hash.digest('hex'), createHash('sha256').update(data).digest('hex'));
    // The first message's first read was a full one (nothing was read in place before it); every
    // later message's was at most 8 KiB, though the sender kept the socket's buffer full.
    t.is(firstReads.length, 6);
    for (const n of firstReads.slice(1)) t.true(n <= 8 << 10, `first reads: ${firstReads.join(', ')}`);
  });

  test(`${s.name}: bytes taken by iteration, then readInto: nothing lost or reordered`, async (t) => {
    const { client, server } = await pair(t, s);
    const data = randomBytes(1 << 20);
    await client.send([data.subarray(0, 5)]);
    t.deepEqual(Buffer.from(await readExactly(server, 5)), data.subarray(0, 5));
    const sending = client.send([data.subarray(5)]).then(() => client.end());
    const c = collector(Infinity, false);
    while (await server.readInto!(c.sink));
    await sending;
    t.is(c.state.bytes + 5, data.byteLength);
    t.is(c.digest(), createHash('sha256').update(data.subarray(5)).digest('hex'));
  });

  test(`${s.name}: large and small record batches through StreamReader arrive intact`, async (t) => {
    const { client, server } = await pair(t, s);
    const batches: A.RecordBatch[] = [];
    for (const rows of [10, 200_000, 3, 70_000, 1]) {
      const x = Float64Array.from({ length: rows }, (_, i) => i * 1.5 + rows);
      batches.push(...A.tableFromArrays({ x, y: Int32Array.from(x, (v) => v | 0) }).batches);
    }
    const sending = (async () => {
      const p = await StreamProducer.over(client, batches[0]!.schema);
      for (const b of batches) await p.send(b);
      await p.close();
    })();
    const reader = await StreamReader.open(server as Connection);
    const got: A.RecordBatch[] = [];
    for await (const b of reader) got.push(b);
    await sending;
    t.deepEqual(got.map((b) => b.numRows), batches.map((b) => b.numRows));
    for (let i = 0; i < got.length; i++) {
      t.deepEqual([...got[i]!.getChild('x')!], [...batches[i]!.getChild('x')!]);
      t.deepEqual([...got[i]!.getChild('y')!], [...batches[i]!.getChild('y')!]);
    }
  });
}

test('tcp+tls: no readInto (TLS sockets keep the iteration path)', async (t) => {
  const { client, server } = await pair(t, tlsSubject);
  t.is(client.readInto, undefined);
  t.is(server.readInto, undefined);
});
