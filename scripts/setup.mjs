#!/usr/bin/env node
// One idempotent step that makes a fresh clone usable: install the workspace with pnpm (fetched by
// npx, since corepack is not assumed), compile every package, and create .venv with pyarrow, the
// independent judge the tests use. Each step is skipped quickly when already done, so `npm test`
// and `npm run demo` can both call it first.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildOnly = process.argv.includes('--build-only');
const quiet = { stdio: ['ignore', 'inherit', 'inherit'], cwd: root };

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { ...quiet, ...opts });
  if (r.status !== 0) {
    console.error(`setup: '${cmd} ${args.join(' ')}' failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
  return r;
}

const pnpm = ['-y', 'pnpm@10'];
if (!buildOnly) {
  // --frozen-lockfile: the lockfile is the contract; a fresh machine gets exactly what CI tested.
  run('npx', [...pnpm, 'install', '--frozen-lockfile', '--reporter=append-only'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
run(join(root, 'node_modules/.bin/tsc'), ['-b']);

if (!buildOnly) {
  const py = join(root, '.venv/bin/python');
  const hasPyarrow = () =>
    existsSync(py) && spawnSync(py, ['-c', 'import pyarrow, pytest'], { stdio: 'ignore' }).status === 0;
  if (!hasPyarrow()) {
    console.error('setup: creating .venv with pyarrow (the tests judge our bytes with it)');
    if (!existsSync(py)) run('python3', ['-m', 'venv', join(root, '.venv')]);
    // --retries 0: the local mirror answers at once; retries only add a minute of waiting.
    run(py, ['-m', 'pip', 'install', '-q', '--retries', '0', 'pyarrow', 'numpy', 'pytest'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
}
