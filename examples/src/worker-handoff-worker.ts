/** The worker side of worker-handoff.ts: reads batches in place from its ring and sums them. */
import { parentPort, workerData } from 'node:worker_threads';
import { StreamReader } from '@quiver/core';
import { workerTransport } from '@quiver/transport-shm';

const { sab, url } = workerData as { sab: SharedArrayBuffer; url: string };
const transport = workerTransport();
transport.attach(sab);
const conn = await transport.connect(new URL(url));
parentPort!.postMessage({ joined: true });
const reader = await StreamReader.open(conn);
let batches = 0;
let sum = 0;
let zeroCopy = true;
for await (const batch of reader) {
  // Use the batch before asking for the next one: moving on releases its slot in the ring.
  const values = batch.getChild('v')!.data[0]!.values as Float64Array;
  zeroCopy &&= values.buffer === sab;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  batches++;
}
await conn.close();
parentPort!.postMessage({ batches, sum, zeroCopy });
