// The child processes of the fault tests (faults.test.ts):  node fault-peer.js <role> <url> ...
//
//   produce-cut <url> <batches> <rows> <cut>
//       connects, sends the schema and batches 0..batches-1 (sampleBatch(i, rows)), then the first
//       <cut> bytes of the next batch's message (0: nothing, a message boundary); once those are in
//       the kernel it prints "cut" and SIGKILLs itself, so exactly those bytes were sent.
//   produce-forever <url> <rows>
//       sends batches 0, 1, 2... until it is killed (from outside, at any point of a write).
//   subscribe <url>
//       core's subscribe(); prints "b <first seq>" per batch, then "end <eos|closed|CODE>".
//   subscribe-stall <url> <bytes>
//       a raw connection sends the hello, reads at least <bytes> bytes (the middle of a message),
//       prints "stalled" and reads no more, until killed.
//   noop <url>
//       exits at once (the tests' warm-up).
//   listen <url>
//       acceptStreams on <url>: prints "listening", then "b <first seq>" per batch of the first
//       stream, until killed.
import { acceptStreams, encodeHello, RecordBatchEncoder, subscribe, TransportRegistry, type QuiverError } from '@quiver/core';
import { socketTransports } from '../../src/index.js';
import { sampleBatch } from './messaging.js';

const [role, url, ...rest] = process.argv.slice(2);
if (!role || !url) throw new Error('usage: fault-peer.js <role> <url> ...');
const registry = new TransportRegistry(socketTransports());
const print = (line: string) => process.stdout.write(`${line}\n`);
const hang = () => setInterval(() => {}, 1 << 30);
const firstSeq = (b: { getChild(n: string): { get(i: number): unknown } | null }) => String(b.getChild('seq')!.get(0));
const gather = (ms: Array<{ buffers: Uint8Array[] }>) => ms.flatMap((m) => m.buffers);

switch (role) {
  case 'produce-cut': {
    const [batches, rows, cut] = rest.map(Number) as [number, number, number];
    const conn = await registry.connect(url);
    const enc = new RecordBatchEncoder(sampleBatch(0).schema, 'stream');
    await conn.send(gather(enc.start()));
    for (let i = 0; i < batches; i++) await conn.send(gather(enc.write(sampleBatch(i, rows))));
    const next = gather(enc.write(sampleBatch(batches, rows)));
    const whole = Buffer.concat(next);
    // highWaterMark 0: send resolves once every byte is in the kernel, so the cut is exact.
    if (cut > 0) await conn.send([whole.subarray(0, cut)]);
    print('cut');
    process.kill(process.pid, 'SIGKILL');
    hang();
    break;
  }
  case 'produce-forever': {
    const rows = Number(rest[0]);
    const conn = await registry.connect(url);
    const enc = new RecordBatchEncoder(sampleBatch(0).schema, 'stream');
    await conn.send(gather(enc.start()));
    for (let i = 0; ; i++) await conn.send(gather(enc.write(sampleBatch(i, rows))));
  }
  case 'subscribe': {
    let end = 'closed';
    try {
      const sub = subscribe(registry, url);
      for await (const b of sub) print(`b ${firstSeq(b)}`);
      end = 'eos';
    } catch (e) {
      end = (e as QuiverError).code ?? String(e);
    }
    print(`end ${end}`);
    break;
  }
  case 'subscribe-stall': {
    const want = Number(rest[0]);
    const conn = await registry.connect(url);
    await conn.send([encodeHello({ topic: 'default' })]);
    let got = 0;
    for await (const chunk of conn) {
      got += chunk.byteLength;
      if (got >= want) break; // a break stops reading; the connection stays open
    }
    print('stalled');
    hang();
    break;
  }
  case 'listen': {
    const listener = await registry.listen(url);
    print('listening');
    for await (const s of acceptStreams(listener)) {
      for await (const b of s.reader) print(`b ${firstSeq(b)}`);
    }
    break;
  }
  case 'noop':
    break;
  default:
    throw new Error(`unknown role ${role}`);
}
