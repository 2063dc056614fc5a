// The soak, short: one publisher to sixteen subscribers per transport for a few seconds (the
// script soak/soak.ts runs it as long as asked, see docs/RELIABILITY.md). Policy `mixed`: half
// the subscribers block at full speed (unix/tcp: Node and plain pyarrow processes; shm: Node
// processes; worker: threads), the other half are slowed drop-oldest ones. Asserted: under block
// nothing lost, duplicated, reordered or corrupt; under drop-oldest nothing duplicated, reordered
// or corrupt, and the drops counted equal the gaps seen; resident memory flat (the growth between
// the first and the last quarter of the run under a bound). QUIVER_SOAK_SECONDS sets the length.
import test from 'ava';
import { formatReport, runSoak, type SoakTransport } from '../soak/soak.js';

const SECONDS = Number(process.env['QUIVER_SOAK_SECONDS'] ?? 3);
const MiB = 1 << 20;
/**
 * Growth allowed between the first and last quarter of a short run (after a warm-up): heaps and
 * buffers still settling. A process (or thread) that kept what it received would outgrow it.
 * With worker threads the process's RSS also holds sixteen V8 heaps reaching their working size
 * (about 50 MiB each; in a 300 s run the RSS climbed to ~1 GiB, then V8 gave ~500 MiB back): the
 * process gets that much room, and each thread's own heap is held to the same bound as a process.
 */
const bound = (threads: number) => 32 * MiB + threads * 20 * MiB;

for (const transport of ['unix', 'tcp', 'shm', 'worker'] as const satisfies readonly SoakTransport[]) {
  test.serial(`soak ${transport}: 1 publisher, 16 subscribers, ${SECONDS} s: block loses nothing, drop-oldest drops equal gaps, memory flat`, async (t) => {
    // A 1 MiB ring (about 240 batches) so slowed ring subscribers fall a ring behind in seconds.
    const r = await runSoak({ transport, seconds: SECONDS, policy: 'mixed', ringBytes: MiB });
    t.log(`\n${formatReport(r)}`);
    t.true(r.batches > 0);
    t.is(r.subscribers.length, 16);
    if (transport === 'unix' || transport === 'tcp') t.is(r.subscribers.filter((s) => s.kind === 'python').length, 6);
    for (const s of r.subscribers) {
      const what = `${s.name} (${s.policy})`;
      t.is(s.duplicated, 0, what);
      t.is(s.reordered, 0, what);
      t.is(s.corrupt, 0, what);
      if (s.policy === 'block') {
        t.is(s.received, r.batches, what);
        t.is(s.lost, 0, what);
      } else {
        t.is(s.received + s.lost, r.batches, what);
        t.is(s.drops, s.lost, `${what}: counted drops equal its gaps`);
      }
    }
    t.true(r.dropsEqualGaps);
    const threads = transport === 'worker' ? 16 : 0;
    t.true(r.publisher.rss.growth < bound(threads), `publisher RSS grew ${(r.publisher.rss.growth / MiB).toFixed(1)} MiB`);
    for (const s of r.subscribers) {
      if (s.rss) t.true(s.rss.growth < bound(0), `${s.name} RSS grew ${(s.rss.growth / MiB).toFixed(1)} MiB`);
      if (s.heap) t.true(s.heap.growth < bound(0), `${s.name} heap grew ${(s.heap.growth / MiB).toFixed(1)} MiB`);
    }
    if (transport === 'worker') t.is(r.subscribers.filter((s) => s.heap && s.heap.samples > 0).length, 16);
  });
}
