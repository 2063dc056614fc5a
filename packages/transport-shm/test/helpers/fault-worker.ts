// A worker thread of the worker: fault tests (faults.test.ts). workerData: { sab, url, role, n, cut }.
//   subscribe       join, post {joined}, read the stream, post {batches, bad, end}
//   subscribe-hold  join, post {joined}, read n batches (the last one's record stays held: the
//                   next read never comes), post {holding}, then idle until terminated
//   publish-cut     become the publisher, publish batches 0..n-1, hand the connection the first
//                   `cut` bytes of the next message (a record half written), post {cut}, idle
//   publish-loan    the same with ShmPublisher and a loan holding `cut` bytes of the next message
//   publish-forever publish until terminated, posting {published: i} every 16 batches
//   drain-drop-oldest read records as fast as possible (drop-oldest, each released at once),
//                   post {got, drops} at the end, or {error}
import { parentPort, workerData } from 'node:worker_threads';
import { StreamProducer, StreamReader, type QuiverError } from '@quiver/core';
import { ShmPublisher, workerTransport } from '../../src/index.js';
import { batch, batchNumber, messagesOfBatch, schema } from './data.js';

const { sab, url, role, n, cut } = workerData as { sab: SharedArrayBuffer; url: string; role: string; n: number; cut: number };
const transport = workerTransport();
transport.attach(sab);
const post = (m: unknown) => parentPort!.postMessage(m);
const idle = () => setInterval(() => {}, 1 << 30);

switch (role) {
  case 'subscribe': {
    const conn = await transport.connect(new URL(url));
    post({ joined: true });
    let batches = 0;
    let bad = 0;
    let end = 'closed';
    try {
      const reader = await StreamReader.open(conn);
      for await (const b of reader) {
        if (batchNumber(b) !== batches) bad++;
        batches++;
      }
      end = reader.end === 'eos' ? 'eos' : 'closed';
    } catch (e) {
      end = (e as QuiverError).code ?? String(e);
    }
    await conn.close();
    post({ batches, bad, end });
    break;
  }
  case 'subscribe-hold': {
    const conn = await transport.connect(new URL(url));
    post({ joined: true });
    const reader = await StreamReader.open(conn);
    for (let i = 0; i < n; i++) await reader.next();
    post({ holding: n });
    idle();
    break;
  }
  case 'publish-cut': {
    const listener = await transport.listen(new URL(url));
    const producer = await StreamProducer.over(listener.connection, schema);
    for (let i = 0; i < n; i++) await producer.send(batch(i));
    if (cut > 0) await listener.connection.send([messagesOfBatch(n).subarray(0, cut)]);
    post({ cut });
    idle();
    break;
  }
  case 'publish-loan': {
    const pub = await ShmPublisher.overChannel(sab);
    for (let i = 0; i < n; i++) await pub.publish(batch(i));
    const next = messagesOfBatch(n);
    const loan = await pub.loan(next.byteLength);
    loan.bytes.set(next.subarray(0, cut));
    post({ cut });
    idle();
    break;
  }
  case 'publish-forever': {
    const pub = await ShmPublisher.overChannel(sab);
    for (let i = 0; ; i++) {
      await pub.publish(batch(i));
      if (i % 16 === 0) post({ published: i });
    }
  }
  case 'drain-drop-oldest': {
    // Reads as fast as it can with policy drop-oldest, releasing each record at once (so it
    // never holds anything and the writer skips it freely).
    const conn = await transport.connect(new URL(url), { policy: 'drop-oldest' });
    post({ joined: true });
    const r = conn.reader;
    let got = 0;
    try {
      for (let rec = await r.next(); rec; rec = await r.next()) {
        got++;
        rec.release();
      }
      post({ got, drops: r.drops });
    } catch (e) {
      post({ error: (e as QuiverError).code ?? String(e), message: (e as Error).message });
    }
    await conn.close();
    break;
  }
  default:
    throw new Error(`unknown role ${role}`);
}
