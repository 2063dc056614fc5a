// The child processes of the shm fault tests (faults.test.ts):  node fault-child.js <role> <url> ...
//
//   publish-cut <url> <batches> <cut>
//       creates the segment, prints "listening", waits for "go" on stdin, publishes batches
//       0..batches-1 through a StreamProducer over the ring, then hands the connection the first
//       <cut> bytes of the next message (a record half written in its slot) and SIGKILLs itself
//       after printing "cut".
//   publish-loan <url> <batches> <fill>
//       as publish-cut, but with ShmPublisher: after the batches it takes a loan for the next
//       message, writes <fill> of its bytes into the ring, prints "cut" and SIGKILLs itself.
//   publish-forever <url>
//       creates the segment, prints "listening", waits for "go", publishes until killed.
//   subscribe <url> [policy]
//       joins, prints "joined", reads the stream: prints "b <n>" per batch (n its number, -1 if
//       it is not intact), then "end <eos|closed|CODE>".
//   full <small> <big>
//       (run with a 1 MiB tmpfs as /dev/shm) a segment of <big> bytes is refused, one of <small>
//       works end to end, and, while it lives, another <big> is refused without harming it;
//       prints one JSON line.
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { StreamProducer, StreamReader, type QuiverError } from '@quiver/core';
import { connectShm, listenShm, ShmPublisher, ShmSubscriber } from '../../src/index.js';
import { batch, batchNumber, messagesOfBatch, schema } from './data.js';

const [role, url, ...rest] = process.argv.slice(2);
if (!role || !url) throw new Error('usage: fault-child.js <role> <url> ...');
const print = (line: string) => process.stdout.write(`${line}\n`);
const hang = () => setInterval(() => {}, 1 << 30);
const codeOf = (e: unknown) => (e as QuiverError).code ?? String(e);
const die = () => {
  process.kill(process.pid, 'SIGKILL');
  hang();
};
async function go(): Promise<void> {
  const rl = createInterface({ input: process.stdin });
  await rl[Symbol.asyncIterator]().next();
  rl.close();
  process.stdin.destroy();
}
switch (role) {
  case 'publish-cut': {
    const [batches, cut] = rest.map(Number) as [number, number];
    const listener = await listenShm(url, { size: 1 << 14 });
    print('listening');
    await go();
    const producer = await StreamProducer.over(listener.connection, schema);
    for (let i = 0; i < batches; i++) await producer.send(batch(i));
    if (cut > 0) await listener.connection.send([messagesOfBatch(batches).subarray(0, cut)]);
    print('cut');
    die();
    break;
  }
  case 'publish-loan': {
    const [batches, fill] = rest.map(Number) as [number, number];
    const pub = await ShmPublisher.create(url, { size: 1 << 14 });
    print('listening');
    await go();
    for (let i = 0; i < batches; i++) await pub.publish(batch(i));
    const next = messagesOfBatch(batches);
    const loan = await pub.loan(next.byteLength);
    loan.bytes.set(next.subarray(0, fill));
    print('cut');
    die();
    break;
  }
  case 'publish-forever': {
    const pub = await ShmPublisher.create(url, { size: 1 << 14 });
    print('listening');
    await go();
    for (let i = 0; ; i++) await pub.publish(batch(i));
  }
  case 'subscribe': {
    const policy = rest[0] as 'block' | 'drop-oldest' | undefined;
    const conn = await connectShm(url, policy ? { policy } : {});
    print('joined');
    let end = 'closed';
    try {
      const reader = await StreamReader.open(conn);
      for await (const b of reader) print(`b ${batchNumber(b)}`);
      end = reader.end === 'eos' ? 'eos' : 'closed';
    } catch (e) {
      end = codeOf(e);
    }
    print(`end ${end}`);
    await conn.close();
    break;
  }
  case 'full': {
    const [small, big] = rest.map(Number) as [number, number];
    const out: Record<string, unknown> = {};
    const attempt = async (name: string, size: number) => {
      try {
        const p = await ShmPublisher.create(`shm://${name}`, { size });
        return p;
      } catch (e) {
        out[name] = codeOf(e);
        return null;
      }
    };
    await attempt('too-big', big);
    out['afterRefusal'] = readdirSync('/dev/shm');
    const pub = await attempt('fits', small);
    if (pub) {
      const sub = await ShmSubscriber.open('shm://fits');
      let read = 0;
      const reading = (async () => {
        for (let b = await sub.next(); b; b = await sub.next()) if (batchNumber(b) === read) read++;
      })();
      for (let i = 0; i < 50; i++) await pub.publish(batch(i));
      // The ring lives and has pages reserved: another big one is refused and harms nothing.
      await attempt('too-big-2', big);
      for (let i = 50; i < 100; i++) await pub.publish(batch(i));
      await pub.close();
      await reading;
      sub.close();
      out['read'] = read;
    }
    out['left'] = readdirSync('/dev/shm');
    print(JSON.stringify(out));
    break;
  }
  default:
    throw new Error(`unknown role ${role}`);
}
