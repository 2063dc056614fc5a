// A soak subscriber process:  node subscriber.js <url> <policy> <slowMs>
// unix:/tcp: through core's subscribe() (the policy goes in its hello); shm: with ShmSubscriber.
// Reads to the end of the stream, sleeping <slowMs> after each batch (a slow consumer), and prints
// one JSON line: its SeqReport (with the ring's drop count on shm).
import { subscribe, TransportRegistry } from '@quiver/core';
import { socketTransports } from '@quiver/transport-socket';
import { ShmSubscriber } from '../src/index.js';
import { SeqBook } from './common.js';

const [url, policy, slow] = process.argv.slice(2) as [string, 'block' | 'drop-oldest', string];
const slowMs = Number(slow);
const book = new SeqBook();
const pause = () => new Promise((r) => setTimeout(r, slowMs));

if (url.startsWith('shm:')) {
  const sub = await ShmSubscriber.open(url, { policy });
  process.stdout.write('joined\n');
  for (let b = await sub.next(); b; b = await sub.next()) {
    book.add(b);
    // Done with the batch before the slow part: a batch still held pins the ring, and the
    // publisher would wait for it whatever the policy (see docs/RELIABILITY.md).
    sub.hold().release();
    if (slowMs > 0) await pause();
  }
  book.report.drops = sub.drops;
  sub.close();
} else {
  for await (const b of subscribe(new TransportRegistry(socketTransports()), url, { policy })) {
    book.add(b);
    if (slowMs > 0) await pause();
  }
}
process.stdout.write(`${JSON.stringify(book.report)}\n`);
