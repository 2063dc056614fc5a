// A soak subscriber thread. workerData: { sab, policy, slowMs, sampleMs }. Joins the channel,
// posts 'joined', reads to the end (sleeping slowMs after each batch), posts its SeqReport with
// `heap`: its own V8 heap in use, sampled every sampleMs as [Date.now(), bytes] (threads share
// their process's RSS; the heap is what is theirs).
import { parentPort, workerData } from 'node:worker_threads';
import { ShmSubscriber } from '../src/index.js';
import { SeqBook } from './common.js';

const { sab, policy, slowMs, sampleMs } = workerData as { sab: SharedArrayBuffer; policy: 'block' | 'drop-oldest'; slowMs: number; sampleMs: number };
const book = new SeqBook();
const heap: Array<[number, number]> = [];
const sampler = setInterval(() => heap.push([Date.now(), process.memoryUsage().heapUsed]), sampleMs);
const sub = await ShmSubscriber.overChannel(sab, { policy });
parentPort!.postMessage('joined');
for (let b = await sub.next(); b; b = await sub.next()) {
  book.add(b);
  sub.hold().release(); // nothing held while slow (a held batch pins the ring: see subscriber.ts)
  if (slowMs > 0) await new Promise((r) => setTimeout(r, slowMs));
}
book.report.drops = sub.drops;
sub.close();
clearInterval(sampler);
parentPort!.postMessage({ ...book.report, heap });
