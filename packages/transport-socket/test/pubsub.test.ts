// Publish/subscribe over real sockets: topics, late joiners, fan-out to Node and plain pyarrow
// subscribers, the three slow-subscriber policies with exact counts, statistics, reconnection.
import test from 'ava';
import { once } from 'node:events';
import * as net from 'node:net';
import * as A from 'apache-arrow';
import { encodeHello, ErrorCode, Publisher, subscribe, type Subscription } from '@quiver/core';
import { canonFromArrow } from '@quiver/testkit';
import { pyPeer, registry, sampleBatch, sampleSchema, seqs, unixUrlFor } from './helpers/messaging.js';

/** Waits until `cond()` holds, checking after each turn of the event loop (no timers). */
async function until(cond: () => boolean, turns = 1_000_000): Promise<void> {
  for (let i = 0; i < turns && !cond(); i++) await new Promise((r) => setImmediate(r));
  if (!cond()) throw new Error('condition never held');
}

/** Starts iterating a subscription and returns its iterator once the first batch has arrived. */
async function joined(sub: Subscription): Promise<{ it: AsyncIterator<A.RecordBatch>; first: A.RecordBatch }> {
  const it = sub[Symbol.asyncIterator]();
  const r = await it.next();
  return { it, first: r.value as A.RecordBatch };
}

async function drain(it: AsyncIterator<A.RecordBatch>, first: A.RecordBatch[] = []): Promise<A.RecordBatch[]> {
  const out = [...first];
  for (let r = await it.next(); !r.done; r = await it.next()) out.push(r.value);
  return out;
}

test('topics on one listener; a plain pyarrow subscriber (no hello) gets the default topic', async (t) => {
  const reg = registry();
  const pub = await Publisher.listen(reg, unixUrlFor(t), { helloTimeoutMs: 100 });
  t.teardown(() => pub.close());
  const schema = sampleSchema();
  const def = pub.topic('default', schema);
  const other = pub.topic('trades', schema);
  const trades = subscribe(reg, pub.url, { topic: 'trades' });
  const py = pyPeer(t, ['consume', pub.url]);
  let i = 0;
  const tradesFirst = joined(trades);
  await Promise.all([def.waitForSubscribers(1), other.waitForSubscribers(1)]);
  for (; i < 5; i++) {
    await def.publish(sampleBatch(i, 10));
    await other.publish(sampleBatch(100 + i, 10));
  }
  await pub.close(); // ends every stream with EOS
  const { it, first } = await tradesFirst;
  const tradesGot = await drain(it, [first]);
  t.deepEqual(seqs(tradesGot), Array.from({ length: 50 }, (_, k) => 1000 + k));
  const out = JSON.parse((await py.line())!);
  t.is(await py.exited, 0);
  t.is(out.batches, 5);
  t.deepEqual(out.columns, canonFromArrow(new A.Table([0, 1, 2, 3, 4].map((k) => sampleBatch(k, 10)))));
  const stats = pub.stats();
  t.deepEqual(stats.map((s) => s.topic).sort(), ['default', 'trades']);
  for (const s of stats) t.is(s.batches, 5);
});

test('a late joiner gets the schema and current dictionaries first, then every later batch (fan-out to three)', async (t) => {
  const reg = registry();
  const pub = await Publisher.listen(reg, 'tcp://127.0.0.1:0');
  t.teardown(() => pub.close());
  const topic = pub.topic('default', sampleSchema(), { dictionaryDeltas: true });
  const early = subscribe(reg, pub.url);
  const earlyFirst = joined(early);
  await until(() => pub.stats().length === 1 && pub.stats()[0]!.state === 'active');
  // Batches 0-2 use dictionary [a,b,c]; batch 3 grows it (delta), batch 4+ replace it.
  const grown = ['a', 'b', 'c', 'd'];
  await topic.publish(sampleBatch(0, 10));
  await topic.publish(sampleBatch(1, 10));
  await topic.publish(sampleBatch(2, 10, grown));
  const late = [subscribe(reg, pub.url), subscribe(reg, pub.url)];
  const lateFirst = late.map((s) => joined(s));
  await until(() => pub.stats().filter((s) => s.state === 'active').length === 3);
  await topic.publish(sampleBatch(3, 10, grown));
  await topic.publish(sampleBatch(4, 10, ['x', 'y']));
  await pub.close();
  const e = await earlyFirst;
  const all = await drain(e.it, [e.first]);
  t.deepEqual(seqs(all), Array.from({ length: 50 }, (_, k) => k));
  for (const lf of lateFirst) {
    const l = await lf;
    const got = await drain(l.it, [l.first]);
    t.deepEqual(seqs(got), Array.from({ length: 20 }, (_, k) => 30 + k));
    t.deepEqual([...got[0]!.getChild('label')!].slice(0, 4), ['d', 'a', 'b', 'c']); // batch 3: (3 + row) % 4
    t.deepEqual([...got[1]!.getChild('label')!].slice(0, 2), ['x', 'y']);
  }
});

test('drop-oldest: a stalled subscriber loses batches, and the counted drops equal the gaps exactly', async (t) => {
  const reg = registry();
  const pub = await Publisher.listen(reg, unixUrlFor(t), { policy: 'drop-oldest', queueLength: 4 });
  t.teardown(() => pub.close());
  const topic = pub.topic('default', sampleSchema());
  const slowJoin = joined(subscribe(reg, pub.url));
  await until(() => pub.stats()[0]?.state === 'active');
  // The other subscription blocks instead: it must lose nothing while the slow one drops.
  const fastJoin = joined(subscribe(reg, pub.url, { policy: 'block' }));
  await until(() => pub.stats().filter((s) => s.state === 'active').length === 2);
  await topic.publish(sampleBatch(0, 5_000)); // ~100 KB each: the socket fills within a few
  const s = await slowJoin; // now the slow one stops reading
  const f = await fastJoin;
  const fastGot = drain(f.it, [f.first]);
  for (let i = 1; i < 60; i++) await topic.publish(sampleBatch(i, 5_000));
  const before = pub.stats().find((x) => x.id === 1)!;
  t.true(before.drops > 0, 'the stalled subscriber dropped batches');
  t.true(before.queueDepth <= 4);
  // close() delivers what is queued and the end of stream, so read while it does.
  const slowReading = drain(s.it, [s.first]);
  await pub.close();
  const slowGot = await slowReading;
  const seen = new Set(seqs(slowGot).filter((x) => x % 5000 === 0).map((x) => x / 5000));
  const stats = pub.stats();
  const slowStats = stats.find((x) => x.id === 1)!;
  t.is(60 - seen.size, slowStats.drops, 'every missing batch was counted, and nothing else');
  t.is(slowStats.batches, seen.size);
  t.deepEqual(seqs(await fastGot).length, 60 * 5000);
  t.is(stats.find((x) => x.id === 2)!.drops, 0);
});

test('disconnect: a subscriber that falls behind is disconnected with SLOW_CONSUMER; the others go on', async (t) => {
  const reg = registry();
  const pub = await Publisher.listen(reg, unixUrlFor(t), { queueLength: 2 });
  t.teardown(() => pub.close());
  const topic = pub.topic('default', sampleSchema());
  // The policy is per subscription: the slow one asks for disconnect, the other blocks.
  const slowJoin = joined(subscribe(reg, pub.url, { policy: 'disconnect' }));
  await until(() => pub.stats()[0]?.state === 'active');
  const fastJoin = joined(subscribe(reg, pub.url, { policy: 'block' }));
  await until(() => pub.stats().filter((s) => s.state === 'active').length === 2);
  await topic.publish(sampleBatch(0, 5_000));
  await slowJoin;
  const f = await fastJoin;
  const fastGot = drain(f.it, [f.first]);
  for (let i = 1; i < 60; i++) await topic.publish(sampleBatch(i, 5_000));
  await until(() => pub.stats()[0]!.state === 'closed');
  await pub.close();
  const [slowStats, fastStats] = pub.stats();
  t.is(slowStats!.policy, 'disconnect');
  t.is(fastStats!.policy, 'block');
  t.is(slowStats!.closeReason, ErrorCode.SLOW_CONSUMER);
  t.is(fastStats!.state, 'closed'); // closed by the publisher's close, after its EOS
  t.is(fastStats!.closeReason, undefined);
  t.is(seqs(await fastGot).length, 60 * 5000);
});

test('block (default): publish waits for a stalled subscriber and resumes when it reads', async (t) => {
  const reg = registry();
  const pub = await Publisher.listen(reg, unixUrlFor(t), { queueLength: 2 });
  t.teardown(() => pub.close());
  const topic = pub.topic('default', sampleSchema());
  const sJoin = joined(subscribe(reg, pub.url));
  await until(() => pub.stats()[0]?.state === 'active');
  await topic.publish(sampleBatch(0, 5_000));
  const s = await sJoin;
  let published = 1;
  let blocked: Promise<void> | null = null;
  for (let i = 1; i < 200 && !blocked; i++) {
    const p = topic.publish(sampleBatch(i, 5_000));
    let done = false;
    void p.then(() => (done = true));
    for (let k = 0; k < 100 && !done; k++) await new Promise((r) => setImmediate(r));
    if (done) published++;
    else blocked = p;
  }
  t.truthy(blocked, 'publish blocked behind the stalled subscriber');
  t.true(pub.stats()[0]!.queueDepth <= 2);
  const reading = drain(s.it, [s.first]);
  await blocked;
  published++;
  await pub.close();
  const got = await reading;
  t.is(got.length, published, 'nothing was dropped under block');
  t.is(pub.stats()[0]!.drops, 0);
});

test('block: a publish waiting for a stalled subscriber resolves when that subscriber is reset, and publishing goes on', async (t) => {
  const reg = registry();
  const pub = await Publisher.listen(reg, 'tcp://127.0.0.1:0', { queueLength: 2, helloTimeoutMs: 50 });
  t.teardown(() => pub.close());
  const topic = pub.topic('default', sampleSchema());
  // A plain Arrow subscriber (no hello: the default topic) that never reads, so the publisher's
  // send to it stays pending and its queue fills.
  const { port } = new URL(pub.url);
  const raw = net.connect(Number(port), '127.0.0.1');
  raw.pause();
  t.teardown(() => raw.destroy());
  await until(() => pub.stats()[0]?.state === 'active');
  let blocked: Promise<void> | null = null;
  for (let i = 0; i < 2000 && !blocked; i++) {
    const p = topic.publish(sampleBatch(i, 5_000));
    let done = false;
    void p.then(
      () => (done = true),
      () => (done = true),
    );
    for (let k = 0; k < 100 && !done; k++) await new Promise((r) => setImmediate(r));
    if (!done) blocked = p;
  }
  t.truthy(blocked, 'publish blocked behind the stalled subscriber');
  t.is(pub.stats()[0]!.queueDepth, 2);
  // A reset fails the publisher's pending send at once, with no byte read: the subscriber is
  // closed while the publish waits for room in its queue. That publish must resolve (the batch
  // is no longer for anyone), not reject with ERR_QUIVER_CLOSED and stop the publishing loop.
  raw.resetAndDestroy();
  await t.notThrowsAsync(blocked!);
  await t.notThrowsAsync(topic.publish(sampleBatch(9999, 10)));
  const [s] = pub.stats();
  t.is(s!.state, 'closed');
  t.is(s!.closeReason, ErrorCode.CONNECTION_FAILED);
});

test('a hello that arrives after helloTimeoutMs, once the subscriber was put on the default topic, closes it with ERR_QUIVER_PROTOCOL', async (t) => {
  const reg = registry();
  const pub = await Publisher.listen(reg, 'tcp://127.0.0.1:0', { helloTimeoutMs: 20 });
  t.teardown(() => pub.close());
  pub.topic('default', sampleSchema());
  pub.topic('trades', sampleSchema());
  const raw = net.connect(Number(new URL(pub.url).port), '127.0.0.1');
  t.teardown(() => raw.destroy());
  const closed = once(raw, 'close');
  raw.resume(); // (the default topic's schema arrives and is ignored)
  await until(() => pub.stats()[0]?.state === 'active');
  t.is(pub.stats()[0]!.topic, 'default');
  raw.write(encodeHello({ topic: 'trades' }));
  await closed; // the publisher closed it
  const [s] = pub.stats();
  t.is(s!.state, 'closed');
  t.is(s!.closeReason, ErrorCode.PROTOCOL);
});

test('reconnect: a subscriber survives a publisher restart on the same address', async (t) => {
  const reg = registry();
  const url = unixUrlFor(t);
  let pub = await Publisher.listen(reg, url);
  let topic = pub.topic('default', sampleSchema());
  const sub = subscribe(reg, url, { reconnect: { initialDelayMs: 5, maxDelayMs: 50 } });
  t.teardown(() => sub.close());
  const it = sub[Symbol.asyncIterator]();
  const firstP = it.next();
  await until(() => pub.stats()[0]?.state === 'active');
  await topic.publish(sampleBatch(0, 10));
  t.deepEqual(seqs([(await firstP).value as A.RecordBatch]), Array.from({ length: 10 }, (_, k) => k));
  await pub.close();
  pub = await Publisher.listen(reg, url);
  t.teardown(() => pub.close());
  topic = pub.topic('default', sampleSchema());
  const nextP = it.next();
  await until(() => pub.stats()[0]?.state === 'active');
  await topic.publish(sampleBatch(7, 10));
  t.deepEqual(seqs([(await nextP).value as A.RecordBatch]), Array.from({ length: 10 }, (_, k) => 70 + k));
  t.is(sub.streams, 2);
});
