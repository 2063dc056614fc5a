// A producer process for the end-of-stream tests: sends 3 batches, then by mode ends with EOS,
// closes without EOS, or sends half a message and waits to be killed.
import * as A from 'apache-arrow';
import { RecordBatchEncoder, TransportRegistry } from '@quiver/core';
import { socketTransports } from '../../src/index.js';

const [url, mode] = process.argv.slice(2);
const conn = await new TransportRegistry(socketTransports()).connect(url!);
const batch = new A.RecordBatch({ x: A.makeData({ type: new A.Int32(), data: new Int32Array(1000).fill(7) }) });
const enc = new RecordBatchEncoder(batch.schema, 'stream');
for (let i = 0; i < 3; i++) await conn.send(enc.write(batch).flatMap((m) => m.buffers));
if (mode === 'eos') {
  await conn.send(enc.finish().flatMap((m) => m.buffers));
  await conn.end();
  await conn.close();
} else if (mode === 'close') {
  await conn.end();
  await conn.close();
} else {
  const parts = enc.write(batch).flatMap((m) => m.buffers);
  await conn.send(parts.slice(0, 2)); // prefix and metadata: the body never comes
  console.log('half');
  setInterval(() => {}, 1 << 30);
}
