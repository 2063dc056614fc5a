/**
 * The stamp of a run: the machine (CPU, cores, memory, load, OS) and the versions measured
 * (Node, apache-arrow, flechette, pyarrow, Quiver's commit). Every probe degrades to a note
 * instead of failing the run: a report without pyarrow's version is still a report.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, freemem, loadavg, release, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import type { Machine, Versions } from './results.js';

/** The 1, 5 and 15-minute load averages, to two decimals. */
export function load(): number[] {
  return loadavg().map((l) => Number(l.toFixed(2)));
}

function osName(): string {
  let pretty = '';
  try {
    pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    // not Linux, or a minimal container: the kernel line below still says something
  }
  const kernel = `${osType()} ${release()}, ${arch()}`;
  return pretty ? `${pretty} (${kernel})` : kernel;
}

/** The machine now; `loadEnd` is filled in when the run ends. */
export function machine(): Machine {
  const l = load();
  return { cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: availableParallelism(), memory: totalmem(), freeMemory: freemem(), loadStart: l, loadEnd: l, os: osName() };
}

function run(cmd: string, args: string[], cwd: string): string | null {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

function packageVersion(root: string, pkgDir: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/**
 * The versions under test. The baselines are read from what core installed (its node_modules),
 * not from the pins the benches print; pyarrow from the interpreter the benches use.
 */
export function versions(root: string, python: string | null): Versions {
  let pyarrow = 'no Python interpreter';
  if (python) {
    const out = run(python, ['-c', 'import sys, pyarrow; print(pyarrow.__version__, sys.version.split()[0])'], root);
    pyarrow = out ? `${out.split(' ')[0]} (Python ${out.split(' ')[1]})` : `not importable by ${python}`;
  }
  const commit = run('git', ['rev-parse', '--short=10', 'HEAD'], root);
  const dirty = run('git', ['status', '--porcelain', '--untracked-files=no'], root);
  return {
    node: process.version,
    v8: process.versions.v8,
    apacheArrow: packageVersion(root, 'packages/core/node_modules/apache-arrow'),
    flechette: packageVersion(root, 'packages/core/node_modules/@uwdata/flechette'),
    pyarrow,
    quiver: commit ? `${commit}${dirty ? ' + uncommitted changes' : ''}` : 'unknown (not a git checkout)',
  };
}
