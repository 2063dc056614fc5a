// A worker thread for the worker: transport tests. workerData: { sab, url, role, n }.
//   subscribe: join, post {joined}, read the stream, post {batches, bad, zeroCopy, end}
//   publish:   become the publisher, publish batches 0..n-1, close, post {done}
import { parentPort, workerData } from 'node:worker_threads';
import { StreamProducer, StreamReader } from '@quiver/core';
import { workerTransport } from '../../src/index.js';
import { batch, batchNumber, schema } from './data.js';

const { sab, url, role, n } = workerData as { sab: SharedArrayBuffer; url: string; role: string; n: number };
const transport = workerTransport();
transport.attach(sab);

if (role === 'subscribe') {
  const conn = await transport.connect(new URL(url));
  parentPort!.postMessage({ joined: true });
  const reader = await StreamReader.open(conn);
  let batches = 0;
  let bad = 0;
  let zeroCopy = 0;
  for await (const b of reader) {
    if (batchNumber(b) !== batches) bad++;
    if ((b.getChild('x')!.data[0]!.values as Int32Array).buffer === sab) zeroCopy++;
    batches++;
  }
  await conn.close();
  parentPort!.postMessage({ batches, bad, zeroCopy, end: String(reader.end) });
} else if (role === 'publish') {
  const listener = await transport.listen(new URL(url));
  const producer = await StreamProducer.over(listener.connection, schema);
  for (let i = 0; i < n; i++) await producer.send(batch(i));
  await producer.close();
  await listener.close();
  parentPort!.postMessage({ done: true });
}
