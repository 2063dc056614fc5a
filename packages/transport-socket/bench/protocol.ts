/**
 * What the socket bench's coordinator (socket.ts) and its peer processes (peer.ts, and
 * pyarrow_peer.py, which speaks the same messages as JSON lines) say to each other, and the
 * consumer's "touch every column" checksum. Every command carries an `id`; a peer answers with
 * `{ id, ready }` when it listens (consumers, echo servers) and `{ id, done }` when finished, or
 * `{ id, error }`.
 */
import type * as A from 'apache-arrow';

/** How the batches cross the socket. */
export type Impl = 'raw' | 'quiver' | 'apache-arrow' | 'pyarrow';
export type Scheme = 'unix' | 'tcp';

/** Runs one throughput cell's consumer: listens, reads `warm + count` batches, reports. */
export interface ConsumeCmd {
  op: 'consume';
  id: number;
  impl: Impl;
  scheme: Scheme;
  /** Unix socket path (unix) or unused (tcp binds 127.0.0.1:0). */
  path: string;
  rows: number;
  /** Batches before the clock starts (not counted), then `count` timed batches. */
  warm: number;
  count: number;
  /** raw: the bytes of one batch message, to know where the warm-up ends and the run does. */
  batchBytes: number;
}

/** Runs one throughput cell's producer: connects, sends `total` batches, ends. */
export interface ProduceCmd {
  op: 'produce';
  id: number;
  impl: Impl;
  /** `unix:///path` or `tcp://host:port` (pyarrow: the socket path). */
  url: string;
  rows: number;
  total: number;
}

/** The echo side of the latency ping-pong: listens, sends back every 1-row batch it gets. */
export interface EchoCmd {
  op: 'echo';
  id: number;
  impl: 'raw' | 'quiver';
  scheme: Scheme;
  path: string;
  /** raw: bytes of one message; echoed once all of it has arrived. */
  batchBytes: number;
}

/** The timing side of the ping-pong: `warm` untimed round trips, then `n` timed ones. */
export interface PingCmd {
  op: 'ping';
  id: number;
  impl: 'raw' | 'quiver';
  url: string;
  warm: number;
  n: number;
}

/** Loads the bench table of `rows` rows (Python: from the IPC stream file `file`). */
export interface LoadCmd {
  op: 'load';
  id: number;
  rows: number;
  file?: string;
}

export type Command = ConsumeCmd | ProduceCmd | EchoCmd | PingCmd | LoadCmd | { op: 'exit'; id: number };

export interface Consumed {
  batches: number;
  rows: number;
  /** Nanoseconds from the end of the warm-up to the last timed batch, and what arrived in them. */
  ns: number;
  timedBatches: number;
  /** raw: bytes received in the timed interval. */
  timedBytes: number;
  /** CPU time (user + system) the consumer process spent in the timed interval, in ns. */
  cpuNs: number;
  /** The sum of {@link touch} over every batch (pyarrow: the exact int64 sum, as a string). */
  checksum: number | string;
  /** How the stream ended, where the reader says so. */
  end?: string;
}

export interface Produced {
  /** CPU time (user + system) the producer process spent sending all `total` batches, in ns. */
  cpuNs: number;
}

export interface Pinged {
  /** Round-trip times in ns, in order. */
  samples: number[];
}

export interface Loaded {
  /** Bytes of one record batch message as this implementation writes it. */
  batchBytes: number;
  /** pyarrow: its version. */
  version?: string;
}

export type Reply =
  | { id: number; ready: string }
  | { id: number; done: Consumed | Produced | Pinged | Loaded | Record<string, never> }
  | { id: number; error: string };

/**
 * What a consumer does with each batch, so no implementation can skip work by being lazy: every
 * value of the int64 and float64 columns is read (summed), and the utf8 column's offsets and null
 * count give the total string length. Returns a checksum, identical for identical batches.
 * The int64 values are summed as doubles from their 32-bit halves: reading them as BigInt would
 * make the benchmark measure BigInt allocation, not the transport.
 */
export function touch(batch: A.RecordBatch): number {
  let sum = 0;
  for (let c = 0; c < batch.numCols; c++) {
    const data = batch.getChildAt(c)!.data[0]!;
    const values = data.values as ArrayLike<number | bigint> & ArrayBufferView;
    const n = data.length;
    if (values instanceof BigInt64Array) {
      const w = new Int32Array(values.buffer, values.byteOffset + data.offset * 8, n * 2);
      for (let i = 0; i < 2 * n; i += 2) sum += (w[i]! >>> 0) + w[i + 1]! * 4294967296;
    } else if (values instanceof Float64Array) {
      for (let i = data.offset; i < data.offset + n; i++) sum += values[i]!;
    } else {
      const offsets = data.valueOffsets as Int32Array;
      sum += offsets[data.offset + n]! - offsets[data.offset]! + data.nullCount;
    }
  }
  return sum;
}
