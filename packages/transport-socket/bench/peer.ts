/**
 * A peer process of the socket bench (forked by socket.ts, commands over the IPC channel; see
 * protocol.ts). The same process serves as producer or consumer, ping or echo side, for every
 * implementation; one runs on each side of the socket, so every measurement crosses processes.
 *
 * Implementations, producer → consumer:
 *  - quiver: StreamProducer.connect + send per batch (one gather write each) → acceptStreams,
 *    reading each stream's batches with for-await, with `recycle: true` (each batch is touched,
 *    then dropped, so its body's memory serves a later batch: what a streaming consumer sets).
 *  - raw: the bytes of one Quiver batch message as one pre-built Buffer, socket.write'n `total`
 *    times (awaiting 'drain' when write() says so) → a 'data' handler counting bytes. The ceiling:
 *    node:net with nothing on top.
 *  - apache-arrow: RecordBatchStreamWriter piped to the socket → RecordBatchReader.from(socket).
 *    Its writer has no backpressure (write() queues without bound), so the producer yields to the
 *    event loop after each batch and waits for 'drain' when the socket asks: the best a user can
 *    do, and it keeps the queue (and the measurement) honest.
 */
import { once } from 'node:events';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import * as A from 'apache-arrow';
import { acceptStreams, RecordBatchEncoder, StreamProducer, StreamReader, TransportRegistry } from '@quiver/core';
import { makeTable } from '@quiver/core/bench/data';
import { socketTransports, unixUrl } from '../src/index.js';
import { touch, toucher, type Command, type ConsumeCmd, type Consumed, type EchoCmd, type PingCmd, type ProduceCmd, type Produced, type Reply } from './protocol.js';

const registry = new TransportRegistry(socketTransports());
const now = (): number => Number(process.hrtime.bigint());
/** CPU time of this process (user + system), in ns. */
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1e3;
};

/** The bench table of each size and its batch encoded once by Quiver (the raw payload). */
const tables = new Map<number, { batch: A.RecordBatch; bytes: Buffer }>();

function data(rows: number): { batch: A.RecordBatch; bytes: Buffer } {
  let d = tables.get(rows);
  if (!d) {
    const batch = makeTable(rows).batches[0]!;
    const enc = new RecordBatchEncoder(batch.schema);
    enc.start();
    d = { batch, bytes: Buffer.concat(enc.write(batch).flatMap((m) => m.buffers)) };
    tables.set(rows, d);
  }
  return d;
}

function send(reply: Reply): void {
  process.send!(reply);
}

// ---- sockets without Quiver (raw and apache-arrow) -------------------------------------------

async function rawListen(scheme: ConsumeCmd['scheme'], path: string, onSocket: (s: Socket) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(onSocket);
  server.listen(scheme === 'unix' ? { path } : { host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const a = server.address();
  const url = typeof a === 'object' && a !== null ? `tcp://127.0.0.1:${a.port}` : unixUrl(path);
  return { server, url };
}

async function rawConnect(url: string): Promise<Socket> {
  const u = new URL(url);
  const s = u.protocol === 'unix:' ? netConnect({ path: decodeURIComponent(u.pathname) }) : netConnect({ host: u.hostname, port: Number(u.port) });
  s.setNoDelay(true); // as the tcp: transport's default
  await once(s, 'connect');
  return s;
}

// ---- throughput --------------------------------------------------------------------------------

/** Consumes one stream of batches with for-await; the clock runs from batch `warm` to the last. */
async function timeBatches(batches: AsyncIterable<A.RecordBatch>, warm: number, touchBatch: (b: A.RecordBatch) => number): Promise<Consumed> {
  let n = 0;
  let rows = 0;
  let checksum = 0;
  let t0 = now();
  let c0 = cpu();
  for await (const b of batches) {
    checksum += touchBatch(b);
    rows += b.numRows;
    if (++n === warm) {
      t0 = now();
      c0 = cpu();
    }
  }
  return { batches: n, rows, ns: now() - t0, cpuNs: cpu() - c0, timedBatches: n - warm, timedBytes: 0, checksum };
}

async function consume(cmd: ConsumeCmd): Promise<Consumed> {
  if (cmd.impl === 'quiver') {
    const listener = await registry.listen(cmd.scheme === 'unix' ? unixUrl(cmd.path) : 'tcp://127.0.0.1:0');
    send({ id: cmd.id, ready: listener.url });
    // acceptStreams closes the listener when we leave the loop.
    for await (const s of acceptStreams(listener, { recycle: true })) {
      const r = await timeBatches(s.reader, cmd.warm, toucher(cmd.touch));
      const end = s.reader.end;
      await s.connection.close();
      return { ...r, end: end instanceof Error ? `error: ${end.message}` : String(end) };
    }
    throw new Error('no stream arrived');
  }
  let accepted!: (s: Socket) => void;
  const conn = new Promise<Socket>((resolve) => (accepted = resolve));
  const { server, url } = await rawListen(cmd.scheme, cmd.path, (s) => accepted(s));
  send({ id: cmd.id, ready: url });
  const socket = await conn;
  server.close();
  try {
    if (cmd.impl === 'apache-arrow') {
      const reader = await A.RecordBatchReader.from(socket);
      return await timeBatches(reader, cmd.warm, toucher(cmd.touch));
    }
    return await drainRaw(socket, cmd);
  } finally {
    socket.destroy();
  }
}

/** Counts bytes without parsing; the clock runs from the end of `warm` batches' bytes. */
function drainRaw(socket: Socket, cmd: ConsumeCmd): Promise<Consumed> {
  const warmBytes = cmd.warm * cmd.batchBytes;
  const total = (cmd.warm + cmd.count) * cmd.batchBytes;
  let got = 0;
  let t0 = now();
  let c0 = cpu();
  let at0 = 0;
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      const before = got;
      got += chunk.byteLength;
      if (before < warmBytes && got >= warmBytes) {
        t0 = now();
        c0 = cpu();
        at0 = got;
      }
      if (got >= total) {
        const ns = now() - t0;
        resolve({ batches: got / cmd.batchBytes, rows: 0, ns, cpuNs: cpu() - c0, timedBatches: (got - at0) / cmd.batchBytes, timedBytes: got - at0, checksum: got });
      }
    });
    socket.on('error', reject);
    socket.on('end', () => (got < total ? reject(new Error(`raw stream ended at ${got} of ${total} bytes`)) : undefined));
  });
}

async function produce(cmd: ProduceCmd): Promise<Produced> {
  const { batch, bytes } = data(cmd.rows);
  const c0 = cpu();
  if (cmd.impl === 'quiver') {
    const p = await StreamProducer.connect(registry, cmd.url, batch.schema);
    for (let i = 0; i < cmd.total; i++) await p.send(batch);
    const cpuNs = cpu() - c0;
    await p.close();
    return { cpuNs };
  }
  const s = await rawConnect(cmd.url);
  if (cmd.impl === 'apache-arrow') {
    const writer = new A.RecordBatchStreamWriter();
    writer.pipe(s); // ends the socket when the writer closes
    for (let i = 0; i < cmd.total; i++) {
      writer.write(batch);
      await yieldToLoop(); // let the pipe move the bytes this write queued
      if (s.writableNeedDrain) await once(s, 'drain');
    }
    await writer.close();
  } else {
    for (let i = 0; i < cmd.total; i++) if (!s.write(bytes)) await once(s, 'drain');
    s.end();
  }
  if (!s.writableFinished) await once(s, 'finish');
  const cpuNs = cpu() - c0;
  // The consumer closes once it has read everything; wait for that rather than reset it.
  if (!s.closed) await once(s, 'close');
  return { cpuNs };
}

// ---- latency -----------------------------------------------------------------------------------

async function echo(cmd: EchoCmd): Promise<void> {
  if (cmd.impl === 'quiver') {
    const listener = await registry.listen(cmd.scheme === 'unix' ? unixUrl(cmd.path) : 'tcp://127.0.0.1:0');
    send({ id: cmd.id, ready: listener.url });
    for await (const s of acceptStreams(listener)) {
      // The reply goes back as a stream of its own on the same connection.
      const back = await StreamProducer.over(s.connection, s.reader.schema);
      for await (const b of s.reader) {
        touch(b);
        await back.send(b);
      }
      // The pinging side closes as soon as its stream ended; losing that race is not a failure.
      await back.close().catch(() => {});
      return;
    }
    return;
  }
  let accepted!: (s: Socket) => void;
  const conn = new Promise<Socket>((resolve) => (accepted = resolve));
  const { server, url } = await rawListen(cmd.scheme, cmd.path, (s) => accepted(s));
  send({ id: cmd.id, ready: url });
  const socket = await conn;
  server.close();
  socket.setNoDelay(true);
  const size = cmd.batchBytes;
  let got = 0;
  socket.on('data', (chunk: Buffer) => {
    got += chunk.byteLength;
    // A whole message arrived: send it back, as the Quiver echo does once it has decoded one.
    while (got >= size) {
      got -= size;
      socket.write(chunk.byteLength === size ? chunk : Buffer.alloc(size));
    }
  });
  await once(socket, 'end');
  socket.end();
  await once(socket, 'close');
}

async function ping(cmd: PingCmd): Promise<{ samples: number[] }> {
  const { batch, bytes } = data(1);
  const samples: number[] = [];
  if (cmd.impl === 'quiver') {
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
  const s = await rawConnect(cmd.url);
  let got = 0;
  let arrived: () => void = () => {};
  s.on('data', (chunk: Buffer) => {
    got += chunk.byteLength;
    if (got >= bytes.byteLength) {
      got -= bytes.byteLength;
      arrived();
    }
  });
  for (let i = 0; i < cmd.warm + cmd.n; i++) {
    const t0 = now();
    const back = new Promise<void>((resolve) => (arrived = resolve));
    s.write(bytes);
    await back;
    if (i >= cmd.warm) samples.push(now() - t0);
  }
  s.end();
  await once(s, 'close');
  return { samples };
}

// ---- command loop ------------------------------------------------------------------------------

async function run(cmd: Command): Promise<object> {
  switch (cmd.op) {
    case 'load':
      return { batchBytes: data(cmd.rows).bytes.byteLength };
    case 'consume':
      return consume(cmd);
    case 'produce':
      return produce(cmd);
    case 'echo':
      return echo(cmd).then(() => ({}));
    case 'ping':
      return ping(cmd);
    case 'exit':
      process.disconnect();
      return {};
  }
}

process.on('message', (cmd: Command) => {
  run(cmd).then(
    (done) => cmd.op !== 'exit' && send({ id: cmd.id, done } as Reply),
    (e: unknown) => send({ id: cmd.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
});
