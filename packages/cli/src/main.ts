/**
 * The `quiver` command: argument parsing (node:util parseArgs, strict) and dispatch to the verbs
 * in ./commands. {@link run} takes its streams as arguments so tests can drive it in-process;
 * {@link main} wires it to the process (bin/quiver.js calls it).
 *
 * Exit codes: 0 success; 1 the input, output or connection failed (one line on stderr naming the
 * error code); 2 bad usage (the message and usage on stderr); 128 + the signal's number when
 * SIGINT/SIGTERM cut a network verb's finite job short (see ./net.ts).
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { OutputFormat } from '@quiver/core';
import { catCommand } from './commands/cat.js';
import { COMPRESSIONS, convertCommand, defaultCompression, formatFromExtension, OUTPUT_FORMATS, type CompressionName } from './commands/convert.js';
import { inspectCommand } from './commands/inspect.js';
import { pubCommand } from './commands/pub.js';
import { recvCommand } from './commands/recv.js';
import { sendCommand } from './commands/send.js';
import { subCommand } from './commands/sub.js';
import { errorLine } from './errors.js';
import { ROW_FORMATS, type RowFormat } from './format.js';
import type { Completion } from './net.js';
import { TextOutput } from './output.js';
import { ProgressBar } from './progress.js';
import { createRegistry } from './registry.js';

export { errorLine };

/** The process around a run: streams, terminal facts, and a clock for the progress bar. */
export interface CliIo {
  /** Where results go (rows, reports, NDJSON lines). */
  stdout: Writable;
  /** Where errors, warnings, `listening on` lines and progress bars go. */
  stderr: Writable;
  /** cat prints a table to a terminal, NDJSON otherwise. */
  stdoutIsTTY: boolean;
  /** Progress bars are drawn only on a terminal. */
  stderrIsTTY: boolean;
  /** Terminal width. @default 80 */
  columns?: number;
  /** Milliseconds clock for the progress bar. @default performance.now */
  now?: () => number;
  /** Print stack traces of failures (QUIVER_DEBUG=1). @default false */
  debug?: boolean;
  /**
   * Stops the network verbs cleanly. {@link main} aborts it on SIGINT/SIGTERM with the signal's
   * name as the reason (which sets the exit code of an interrupted job). @default none
   */
  signal?: AbortSignal;
}

/** The text of `quiver --help`. */
export const USAGE = `Usage: quiver <command> [options]

Commands:
  inspect PATH [--json]
      Format (stream, file or feather), compression, schema, batch and row counts.
      Reads only metadata, never the data. A Feather V2 file is an Arrow IPC file
      byte for byte: an Arrow file named *.feather is reported as "feather".
  convert IN OUT [--format stream|file|feather] [--compression none|lz4|zstd] [--level N]
      Any Arrow stream or file to any form. The format defaults from OUT's extension
      (.arrows/.stream: stream, .arrow/.ipc: file, .feather: feather; else stream);
      compression defaults to lz4 for feather, none otherwise.
  cat PATH [--limit N] [--format table|ndjson|csv]
      Rows to stdout: a table on a terminal, NDJSON otherwise. Binary values print
      as hex, 64-bit integers as strings in JSON, nested values as JSON in CSV/table.
  send URL FILE
      Connects to URL and sends the batches of FILE (any Arrow stream or file) as
      one Arrow stream.
  recv URL [--out FILE] [--count N]
      Listens on URL for producers. Writes what arrives to FILE as one stream (the
      first stream's schema), or one NDJSON line per batch to stdout. --count: stop
      after N batches; otherwise run until SIGINT/SIGTERM.
  pub URL FILE [--topic T] [--loop] [--wait-subscribers N]
      Listens on URL; once N subscribers (default 1) joined topic T (default
      "default"), publishes FILE's batches to them and ends their streams.
      --loop: publish FILE again and again until SIGINT/SIGTERM.
  sub URL [--topic T] [--out FILE] [--count N]
      Subscribes to topic T at URL and writes what arrives as recv does. Ends with
      the publisher's stream, or after N batches.

URLs: unix:///path/to.sock, tcp://host:port or shm://name (shared memory: the
listener creates /dev/shm/name; one send per recv). Listeners print "quiver:
listening on URL" on stderr once bound (with the real port for port 0). SIGINT
and SIGTERM stop the network commands cleanly: listeners closed, streams ended,
FILE valid.

Options:
  -h, --help     Show this help.
  --version      Show the version.

Exit status: 0 ok, 1 bad input, I/O or connection failure (ERR_QUIVER_* on
stderr), 2 bad usage, 130/143 a finite network job (send, pub without --loop,
--count) cut short by SIGINT/SIGTERM.
`;

/** A command line that does not follow USAGE. */
export class UsageError extends Error {
  /** Always `'UsageError'`. */
  override name = 'UsageError';
}

const VERBS = {
  inspect: { positionals: ['PATH'], options: { json: { type: 'boolean' } } },
  convert: {
    positionals: ['IN', 'OUT'],
    options: { format: { type: 'string' }, compression: { type: 'string' }, level: { type: 'string' } },
  },
  cat: { positionals: ['PATH'], options: { limit: { type: 'string' }, format: { type: 'string' } } },
  send: { positionals: ['URL', 'FILE'], options: {} },
  recv: { positionals: ['URL'], options: { out: { type: 'string' }, count: { type: 'string' } } },
  pub: {
    positionals: ['URL', 'FILE'],
    options: { topic: { type: 'string' }, loop: { type: 'boolean' }, 'wait-subscribers': { type: 'string' } },
  },
  sub: { positionals: ['URL'], options: { topic: { type: 'string' }, out: { type: 'string' }, count: { type: 'string' } } },
} as const;
type Verb = keyof typeof VERBS;

/** The verbs that use the network, stopped cleanly by SIGINT/SIGTERM (see {@link main}). */
export const NETWORK_VERBS: ReadonlySet<string> = new Set(['send', 'recv', 'pub', 'sub']);

/** The exit status of a job a signal cut short: 128 + its number, as shells report it. */
function interruptedStatus(signal: AbortSignal | undefined): number {
  const reason: unknown = signal?.reason;
  const n = typeof reason === 'string' ? (constants.signals as Record<string, number>)[reason] : undefined;
  return 128 + (n ?? constants.signals.SIGINT);
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`);
  return value as T;
}

function integer(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--${flag} must be an integer ≥ ${min}, not ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs one command line (without `node quiver`). Resolves to the exit code; never rejects. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const stdout = new TextOutput(io.stdout);
  const [verb, ...rest] = argv;
  try {
    if (verb === undefined) throw new UsageError('no command given');
    if (verb === '-h' || verb === '--help' || verb === 'help') {
      await stdout.write(USAGE);
      return 0;
    }
    if (verb === '--version') {
      await stdout.write(`${version()}\n`);
      return 0;
    }
    if (!Object.hasOwn(VERBS, verb)) throw new UsageError(`unknown command ${JSON.stringify(verb)}`);
    const spec = VERBS[verb as Verb];
    let parsed;
    try {
      parsed = parseArgs({
        args: [...rest],
        options: { ...spec.options, help: { type: 'boolean', short: 'h' } },
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const values = parsed.values as Record<string, string | boolean | undefined>;
    if (values['help']) {
      await stdout.write(USAGE);
      return 0;
    }
    const pos = parsed.positionals;
    if (pos.length !== spec.positionals.length) {
      throw new UsageError(`${verb} takes ${spec.positionals.join(' ')}, got ${pos.length} argument${pos.length === 1 ? '' : 's'}`);
    }
    const str = (k: string) => values[k] as string | undefined;
    // A progress bar labelled for the verb, created by the verb once it knows the input's size.
    const bar = (label: string) => (total?: number) =>
      new ProgressBar({ stream: io.stderr, label, columns: io.columns ?? 80, ...(total !== undefined ? { total } : {}), ...(io.now ? { now: io.now } : {}) });
    const net = () => ({ registry: createRegistry(), ...(io.signal ? { signal: io.signal } : {}) });
    const out = str('out');
    const count = integer('count', str('count'), 1);
    let completion: Completion = 'complete';
    switch (verb as Verb) {
      case 'inspect':
        await stdout.write(await inspectCommand(pos[0]!, values['json'] === true));
        break;
      case 'convert': {
        const format: OutputFormat = oneOf('format', str('format'), OUTPUT_FORMATS) ?? formatFromExtension(pos[1]!);
        const compression: CompressionName = oneOf('compression', str('compression'), COMPRESSIONS) ?? defaultCompression(format);
        const level = integer('level', str('level'), -1000);
        if (level !== undefined && compression === 'none') throw new UsageError('--level needs a compression (lz4 or zstd)');
        await convertCommand({
          input: pos[0]!,
          output: pos[1]!,
          format,
          compression,
          ...(level !== undefined ? { level } : {}),
          ...(io.stderrIsTTY ? { progress: bar('convert') } : {}),
        });
        break;
      }
      case 'cat': {
        const format: RowFormat = oneOf('format', str('format'), ROW_FORMATS) ?? (io.stdoutIsTTY ? 'table' : 'ndjson');
        const limit = integer('limit', str('limit'), 0);
        await catCommand({ path: pos[0]!, format, out: stdout, columns: io.columns ?? 120, ...(limit !== undefined ? { limit } : {}) });
        break;
      }
      case 'send':
        completion = await sendCommand({ url: pos[0]!, path: pos[1]!, ...net(), ...(io.stderrIsTTY ? { progress: bar('send') } : {}) });
        break;
      case 'recv':
        completion = await recvCommand({
          url: pos[0]!,
          ...net(),
          stdout,
          stderr: io.stderr,
          ...(out !== undefined ? { out } : {}),
          ...(count !== undefined ? { count } : {}),
          ...(io.stderrIsTTY ? { progress: bar('recv') } : {}),
        });
        break;
      case 'pub':
        completion = await pubCommand({
          url: pos[0]!,
          path: pos[1]!,
          ...net(),
          topic: str('topic') ?? 'default',
          loop: values['loop'] === true,
          waitSubscribers: integer('wait-subscribers', str('wait-subscribers'), 0) ?? 1,
          stderr: io.stderr,
        });
        break;
      case 'sub':
        completion = await subCommand({
          url: pos[0]!,
          ...net(),
          topic: str('topic') ?? 'default',
          stdout,
          ...(out !== undefined ? { out } : {}),
          ...(count !== undefined ? { count } : {}),
          ...(io.stderrIsTTY ? { progress: bar('sub') } : {}),
        });
        break;
    }
    stdout.check();
    return completion === 'interrupted' ? interruptedStatus(io.signal) : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`quiver: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    io.stderr.write(`quiver: ${errorLine(e)}\n`);
    if (io.debug) io.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}

/**
 * Runs `process.argv` against the real process and sets the exit code. For the network verbs,
 * the first SIGINT or SIGTERM asks the verb to stop cleanly; a second one exits at once (a peer
 * that stopped reading could otherwise hold the clean stop up forever).
 */
export async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (!controller.signal.aborted) controller.abort(sig);
    else process.exit(128 + constants.signals[sig]);
  };
  const signals: NodeJS.Signals[] = NETWORK_VERBS.has(argv[0] ?? '') ? ['SIGINT', 'SIGTERM'] : [];
  for (const sig of signals) process.on(sig, onSignal);
  try {
    process.exitCode = await run(argv, {
      stdout: process.stdout,
      stderr: process.stderr,
      stdoutIsTTY: process.stdout.isTTY === true,
      stderrIsTTY: process.stderr.isTTY === true,
      columns: process.stdout.columns || process.stderr.columns || 80, // 0 on a pty of unknown size
      debug: process.env['QUIVER_DEBUG'] === '1',
      signal: controller.signal,
    });
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
  }
}
