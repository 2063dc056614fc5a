/**
 * A process peer of the shm bench (forked by shm.ts; commands over the IPC channel). One runs on
 * each side of every process-to-process measurement: shm publisher/subscriber (publish or loan),
 * the Unix socket baseline (StreamProducer → acceptStreams), and both ping-pongs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { acceptStreams, RecordBatchEncoder, StreamProducer, StreamReader, TransportRegistry } from '@quiver/core';
import { socketTransports, unixUrl } from '@quiver/transport-socket';
import { ShmPublisher, ShmSubscriber } from '../src/index.js';
import { data, loanData, now, ringSize, timeBatches, touch, type Command, type Reply } from './common.js';

const registry = new TransportRegistry(socketTransports());
const send = (r: Reply) => process.send!(r);
const url = (name: string) => `shm://${name}`;

async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

/** Opens a subscriber, retrying while the segment does not exist yet. */
async function openSub(name: string): Promise<ShmSubscriber> {
  const until = Date.now() + 20_000;
  for (;;) {
    try {
      return await ShmSubscriber.open(url(name));
    } catch (e) {
      if (Date.now() > until) throw e;
      await sleep(1);
    }
  }
}

async function shmPub(cmd: Extract<Command, { op: 'shmPub' }>): Promise<object> {
  const d = data(cmd.rows);
  // The loan path gets room for ~32 messages, so that its rate is not that of a ring of 4 slots
  // (publisher and subscriber waking each other for every few records).
  const pub = await ShmPublisher.create(url(cmd.name), { size: ringSize(d.message.byteLength, cmd.loan ? 32 : 4) });
  try {
    send({ id: cmd.id, ready: pub.url });
    await waitFor(() => pub.subscribers().length > 0, 'a subscriber');
    if (!cmd.loan) {
      for (let i = 0; i < cmd.total; i++) await pub.publish(d.batch);
    } else {
      // The schema first, then each batch built in its slot: only the message header is written
      // here; the body stands for data the application produces in place (not counted).
      const l = loanData(cmd.rows);
      const enc = new RecordBatchEncoder(l.batch.schema);
      await pub.send(enc.start());
      const header = l.message.subarray(0, l.headerBytes);
      for (let i = 0; i < cmd.total; i++) {
        const loan = await pub.loan(l.message.byteLength);
        loan.bytes.set(header);
        loan.commit({ kind: 'batch' });
      }
    }
  } finally {
    await pub.close();
  }
  return {};
}

async function shmSub(cmd: Extract<Command, { op: 'shmSub' }>): Promise<object> {
  const sub = await ShmSubscriber.open(url(cmd.name));
  try {
    return await timeBatches(() => sub.next(), cmd.warm, cmd.touch);
  } finally {
    sub.close();
  }
}

async function sockSub(cmd: Extract<Command, { op: 'sockSub' }>): Promise<object> {
  const listener = await registry.listen(unixUrl(cmd.path));
  send({ id: cmd.id, ready: listener.url });
  // recycle: a batch valid until the next, as a ring subscriber's batches are.
  for await (const s of acceptStreams(listener, { recycle: true })) {
    const it = s.reader[Symbol.asyncIterator]();
    const r = await timeBatches(async () => {
      const x = await it.next();
      return x.done ? null : x.value;
    }, cmd.warm, cmd.touch);
    await s.connection.close();
    return r;
  }
  throw new Error('no stream arrived');
}

async function sockPub(cmd: Extract<Command, { op: 'sockPub' }>): Promise<object> {
  const { batch } = data(cmd.rows);
  const p = await StreamProducer.connect(registry, cmd.url, batch.schema);
  for (let i = 0; i < cmd.total; i++) await p.send(batch);
  await p.close();
  return {};
}

// ---- latency: a 1-row batch, decoded and touched, re-encoded back ------------------------------

async function shmEcho(cmd: Extract<Command, { op: 'shmEcho' }>): Promise<object> {
  const d = data(1);
  const pub = await ShmPublisher.create(url(cmd.outName), { size: ringSize(d.message.byteLength) });
  send({ id: cmd.id, ready: pub.url });
  const sub = await openSub(cmd.inName);
  try {
    for (let b = await sub.next(); b !== null; b = await sub.next()) {
      touch(b);
      await pub.publish(b);
    }
  } finally {
    sub.close();
    await pub.close();
  }
  return {};
}

async function shmPing(cmd: Extract<Command, { op: 'shmPing' }>): Promise<object> {
  const { batch } = data(1);
  const pub = await ShmPublisher.create(url(cmd.outName), { size: ringSize(1 << 10) });
  const samples: number[] = [];
  let sub: ShmSubscriber | undefined;
  try {
    sub = await openSub(cmd.inName);
    await waitFor(() => pub.subscribers().length > 0, 'the echo side');
    for (let i = 0; i < cmd.warm + cmd.n; i++) {
      const t0 = now();
      await pub.publish(batch);
      const back = await sub.next();
      if (back === null) throw new Error('the echo stream ended early');
      touch(back);
      if (i >= cmd.warm) samples.push(now() - t0);
    }
  } finally {
    await pub.close();
    sub?.close();
  }
  return { samples };
}

async function sockEcho(cmd: Extract<Command, { op: 'sockEcho' }>): Promise<object> {
  const listener = await registry.listen(unixUrl(cmd.path));
  send({ id: cmd.id, ready: listener.url });
  for await (const s of acceptStreams(listener)) {
    const back = await StreamProducer.over(s.connection, s.reader.schema);
    for await (const b of s.reader) {
      touch(b);
      await back.send(b);
    }
    await back.close().catch(() => {});
    return {};
  }
  return {};
}

async function sockPing(cmd: Extract<Command, { op: 'sockPing' }>): Promise<object> {
  const { batch } = data(1);
  const samples: number[] = [];
  const conn = await registry.connect(cmd.url);
  const p = await StreamProducer.over(conn, batch.schema);
  const reader = await StreamReader.open(conn);
  for (let i = 0; i < cmd.warm + cmd.n; i++) {
    const t0 = now();
    await p.send(batch);
    const back = await reader.next();
    if (back === null) throw new Error('the echo stream ended early');
    touch(back);
    if (i >= cmd.warm) samples.push(now() - t0);
  }
  await p.close();
  return { samples };
}

async function run(cmd: Command): Promise<unknown> {
  switch (cmd.op) {
    case 'load':
      return { bytes: data(cmd.rows).message.byteLength };
    case 'shmPub':
      return shmPub(cmd);
    case 'shmSub':
      return shmSub(cmd);
    case 'sockSub':
      return sockSub(cmd);
    case 'sockPub':
      return sockPub(cmd);
    case 'shmEcho':
      return shmEcho(cmd);
    case 'shmPing':
      return shmPing(cmd);
    case 'sockEcho':
      return sockEcho(cmd);
    case 'sockPing':
      return sockPing(cmd);
    case 'exit':
      process.disconnect();
      return {};
  }
}

process.on('message', (cmd: Command) => {
  run(cmd).then(
    (done) => cmd.op !== 'exit' && send({ id: cmd.id, done }),
    (e: unknown) => send({ id: cmd.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
});
