// A child process for the cross-process tests:  node child.js <role> <url> [n]
// Roles (each prints lines the test reads; JSON where there is a result):
//   publish <url> <n>     create the segment, print "listening", wait for "go" on stdin, publish
//                         batches 0..n-1 (StreamProducer over the ring), close, exit
//   publish-hang <url> <n> as publish, but print "published" and stay alive instead of closing
//   listen-hang <url>     create the segment, print "listening", stay alive
//   subscribe <url>       read the stream: print {"batches","bad","zeroCopy","end"} and exit
//   subscribe-hang <url>  join, read one batch and keep it (never release), print "holding"
//   read <url>            join ("joined"), read to the end; print {"batches"} or {"error": code}; exit 0
import { createInterface } from 'node:readline';
import { StreamProducer, StreamReader } from '@quiver/core';
import { connectShm, listenShm, type RingWriterConnection } from '../../src/index.js';
import { batch, batchNumber, schema } from './data.js';

const [role, url, arg] = process.argv.slice(2);
if (!role || !url) throw new Error('usage: child.js <role> <url> [n]');
const n = Number(arg ?? 0);
const print = (line: unknown) => process.stdout.write(`${typeof line === 'string' ? line : JSON.stringify(line)}\n`);
const hang = () => setInterval(() => {}, 1 << 30);
/** Waits for a line ("go") on stdin, then lets stdin go (it must not keep the process alive). */
async function go(): Promise<void> {
  const rl = createInterface({ input: process.stdin });
  await rl[Symbol.asyncIterator]().next();
  rl.close();
  process.stdin.destroy();
}

async function publish(conn: RingWriterConnection): Promise<void> {
  const producer = await StreamProducer.over(conn, schema);
  for (let i = 0; i < n; i++) await producer.send(batch(i));
  await producer.close();
}

switch (role) {
  case 'publish': {
    const listener = await listenShm(url, { size: 1 << 16 });
    print('listening');
    await go();
    await publish(listener.connection);
    await listener.close();
    break;
  }
  case 'publish-hang': {
    const listener = await listenShm(url, { size: 1 << 16 });
    print('listening');
    await go();
    const producer = await StreamProducer.over(listener.connection, schema);
    for (let i = 0; i < n; i++) await producer.send(batch(i));
    print('published');
    hang();
    break;
  }
  case 'listen-hang': {
    await listenShm(url, { size: 1 << 16 });
    print('listening');
    hang();
    break;
  }
  case 'subscribe': {
    const conn = await connectShm(url);
    print('joined');
    const reader = await StreamReader.open(conn);
    let batches = 0;
    let bad = 0;
    let zeroCopy = 0;
    for await (const b of reader) {
      if (batchNumber(b) !== batches) bad++;
      if ((b.getChild('x')!.data[0]!.values as Int32Array).buffer === conn.buffer) zeroCopy++;
      batches++;
    }
    print({ batches, bad, zeroCopy, end: reader.end === 'eos' ? 'eos' : String(reader.end) });
    await conn.close();
    break;
  }
  case 'subscribe-hang': {
    const conn = await connectShm(url);
    print('joined');
    const it = conn[Symbol.asyncIterator]();
    // The schema and dictionary chunks are copies; the first batch chunk is held from then on.
    for (let r = await it.next(); !r.done; r = await it.next()) {
      if (r.value.buffer === conn.buffer) break;
    }
    print('holding');
    hang();
    break;
  }
  case 'read': {
    try {
      const conn = await connectShm(url);
      print('joined');
      const reader = await StreamReader.open(conn);
      let batches = 0;
      for await (const b of reader) if (batchNumber(b) >= 0) batches++;
      print({ batches });
    } catch (e) {
      print({ error: (e as { code?: string }).code ?? String(e) });
    }
    process.exit(0);
  }
  default:
    throw new Error(`unknown role ${role}`);
}
