/**
 * What the socket bench's coordinator (socket.ts) and its peer processes (peer.ts, and
 * pyarrow_peer.py, which speaks the same messages as JSON lines) say to each other, and the
 * consumer's "touch every column" checksum. Every command carries an `id`; a peer answers with
 * `{ id, ready }` when it listens (consumers, echo servers) and `{ id, done }` when finished, or
 * `{ id, error }`.
 */
import type * as A from 'apache-arrow';
import { touch, toucher, type TouchMode } from '@quiver/core/bench/data';

/** What a consumer does with each batch (shared with the other benchmarks). */
export { touch, toucher, type TouchMode };

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
  /** How each batch is touched (raw touches nothing). */
  touch: TouchMode;
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
  /** The sum of the touch over every batch (pyarrow touching values: the exact int64 sum, as a string). */
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

