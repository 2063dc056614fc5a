/**
 * What the report reads: the JSON each bench writes with `--json` (only the fields used here;
 * the benches are the reference: packages/core/bench/codec.ts, packages/transport-socket/bench/
 * socket.ts and report.ts, packages/transport-shm/bench/shm.ts), and the run that collected them
 * (results.json). JSON has no NaN: a ratio a bench could not compute arrives as null.
 */

/** A ratio or rate as a bench wrote it: null stands for NaN. */
export type Num = number | null;

/** Core's bench harness environment(), plus the run's duration. */
export interface BenchEnvironment {
  node: string;
  cpu?: string;
  cpus?: number;
  loadavg?: number;
  date?: string;
  seconds?: number;
}

export interface CodecSummary {
  rows: number;
  op: 'encode' | 'decode';
  bytes: number;
  quiverOpsPerSec: number;
  arrowOpsPerSec: number;
  flechetteOpsPerSec: number;
  quiverMBps: number;
  arrowMBps: number;
  flechetteMBps: number;
  vsArrow: Num;
  vsFlechette: Num;
  target: number;
  met: boolean;
}

export interface CodecResult {
  benchmark: 'codec';
  environment: BenchEnvironment;
  options: { rounds: number; roundMs: number; warmupMs: number };
  baselines: Record<string, string>;
  summaries: CodecSummary[];
}

export type SocketScheme = 'unix' | 'tcp';
export type SocketImpl = 'raw' | 'quiver' | 'apache-arrow' | 'pyarrow';

export interface SocketCell {
  scheme: SocketScheme;
  rows: number;
  impl: SocketImpl;
  batchBytes: number;
  batchesPerSec: number;
  mbPerSec: number;
  vsRaw: Num;
  vsArrow: Num;
  vsPyarrow: Num;
  cpuBoundBatchesPerSec: Num;
}

export interface SocketLatency {
  scheme: SocketScheme;
  impl: 'raw' | 'quiver';
  bytes: number;
  n: number;
  /** Round-trip times in ns. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  p50VsRaw: Num;
  p99OverP50: Num;
  /** Where the two peers ran: absent when the scheduler chose; else pinned ('one core', 'two cores'). */
  placement?: string;
}

export interface SocketTarget {
  target: string;
  scheme: SocketScheme;
  rows: number | null;
  value: Num;
  cpuBound: Num;
  limit: number;
  met: boolean;
}

export interface SocketResult {
  benchmark: 'socket';
  environment: BenchEnvironment;
  options: { rounds: number; seconds: number; latencyRoundTrips: number; sizes: number[]; schemes: SocketScheme[]; touch?: 'values' | 'columns' };
  baselines: Record<string, string>;
  throughput: SocketCell[];
  latency: SocketLatency[];
  targets: SocketTarget[];
}

export type ShmImpl = 'shm' | 'worker' | 'socket' | 'postMessage' | 'memcpy' | 'loan';

export interface ShmCell {
  impl: ShmImpl;
  rows: number;
  bytes: number;
  batchesPerSec: number;
  bytesPerSec: number;
  vsSocket: Num;
  vsPostMessage: Num;
  ofMemcpy: Num;
}

export interface ShmLatency {
  impl: 'shm' | 'socket';
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface ShmResult {
  benchmark: 'shm';
  environment: BenchEnvironment;
  options: { rounds: number; seconds: number; latencyRoundTrips: number; sizes: number[] };
  throughput: ShmCell[];
  latency: ShmLatency[];
  targets: Array<{ target: string; value: Num; shown: string; met: boolean }>;
}

export type BenchName = 'codec' | 'socket' | 'shm';

/** One bench of the run: how it went. */
export interface BenchRun {
  name: BenchName;
  /** The command line, relative to the repository root. */
  command: string;
  ok: boolean;
  seconds: number;
  /** Why it failed: how it ended and its last stderr line, then the lines before that. */
  error?: string;
}

/** The machine, at the start of the run (load at its start and end). */
export interface Machine {
  cpu: string;
  cores: number;
  /** Bytes. */
  memory: number;
  freeMemory: number;
  /** 1, 5 and 15-minute load averages. */
  loadStart: number[];
  loadEnd: number[];
  /** e.g. "Ubuntu 24.04.1 LTS (Linux 6.8.0, x64)". */
  os: string;
}

export interface Versions {
  node: string;
  v8: string;
  apacheArrow: string;
  flechette: string;
  /** "25.0.1 (Python 3.12.3)", or why it is missing. */
  pyarrow: string;
  /** Quiver's commit: short hash, with "+ uncommitted changes" when the tree was dirty. */
  quiver: string;
}

/** results.json: everything one run of every bench produced. */
export interface Collected {
  /** ISO date of the start of the run. */
  date: string;
  quick: boolean;
  seconds: number;
  machine: Machine;
  versions: Versions;
  runs: BenchRun[];
  codec?: CodecResult;
  socket?: SocketResult;
  shm?: ShmResult;
}

/** A bench's null (NaN) as NaN, so arithmetic and formatting treat it as "no value". */
export const num = (v: Num | undefined): number => (v === null || v === undefined ? NaN : v);
