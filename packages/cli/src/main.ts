/**
 * The `quiver` command: argument parsing (node:util parseArgs, strict) and dispatch to the verbs
 * in ./commands. {@link run} takes its streams as arguments so tests can drive it in-process;
 * {@link main} wires it to the process (bin/quiver.js calls it).
 *
 * Exit codes: 0 success; 1 the input or output failed (one line on stderr naming the error
 * code); 2 bad usage (the message and usage on stderr).
 */
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { OutputFormat } from '@quiver/core';
import { catCommand } from './commands/cat.js';
import { COMPRESSIONS, convertCommand, defaultCompression, formatFromExtension, OUTPUT_FORMATS, type CompressionName } from './commands/convert.js';
import { inspectCommand } from './commands/inspect.js';
import { ROW_FORMATS, type RowFormat } from './format.js';
import { TextOutput } from './output.js';
import { ProgressBar } from './progress.js';

/** The process around a run: streams, terminal facts, and a clock for the progress bar. */
export interface CliIo {
  stdout: Writable;
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
}

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

Options:
  -h, --help     Show this help.
  --version      Show the version.

Exit status: 0 ok, 1 bad input or I/O failure (ERR_QUIVER_* on stderr), 2 bad usage.
`;

/** A command line that does not follow USAGE. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const VERBS = {
  inspect: { positionals: 1, options: { json: { type: 'boolean' } } },
  convert: {
    positionals: 2,
    options: { format: { type: 'string' }, compression: { type: 'string' }, level: { type: 'string' } },
  },
  cat: { positionals: 1, options: { limit: { type: 'string' }, format: { type: 'string' } } },
} as const;
type Verb = keyof typeof VERBS;

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

/** The one stderr line for a failure: `ERR_QUIVER_…: message`. */
export function errorLine(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown; name?: unknown } | null;
  const message = String(err?.message ?? e).replace(/\s*\n\s*/g, ' ');
  const code = typeof err?.code === 'string' ? err.code : undefined;
  if (code?.startsWith('ERR_QUIVER_')) return `${code}: ${message}`;
  // System errors (ENOENT, EACCES, EISDIR, ENOSPC, ...) carry an errno and a syscall.
  if (code && (e as NodeJS.ErrnoException).syscall !== undefined) return `ERR_QUIVER_IO: ${message}`;
  return `ERR_QUIVER_INTERNAL: ${String(err?.name ?? 'Error')}: ${message}`;
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
    if (pos.length !== spec.positionals) {
      throw new UsageError(`${verb} takes ${spec.positionals === 1 ? 'one path' : 'two paths (IN OUT)'}, got ${pos.length}`);
    }
    const str = (k: string) => values[k] as string | undefined;
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
          ...(io.stderrIsTTY
            ? {
                progress: (total: number) =>
                  new ProgressBar({ stream: io.stderr, label: 'convert', total, columns: io.columns ?? 80, ...(io.now ? { now: io.now } : {}) }),
              }
            : {}),
        });
        break;
      }
      case 'cat': {
        const format: RowFormat = oneOf('format', str('format'), ROW_FORMATS) ?? (io.stdoutIsTTY ? 'table' : 'ndjson');
        const limit = integer('limit', str('limit'), 0);
        await catCommand({ path: pos[0]!, format, out: stdout, columns: io.columns ?? 120, ...(limit !== undefined ? { limit } : {}) });
        break;
      }
    }
    stdout.check();
    return 0;
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

/** Runs `process.argv` against the real process and sets the exit code. */
export async function main(): Promise<void> {
  process.exitCode = await run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    columns: process.stdout.columns || process.stderr.columns || 80, // 0 on a pty of unknown size
    debug: process.env['QUIVER_DEBUG'] === '1',
  });
}
