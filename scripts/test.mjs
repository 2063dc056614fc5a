#!/usr/bin/env node
// Runs every package's compiled ava tests in one run. pyarrow from .venv is the judge the tests
// call (QUIVER_PYTHON); the golden files come from ../shared beside the checkout.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, QUIVER_PYTHON: process.env.QUIVER_PYTHON ?? join(root, '.venv/bin/python') };
const args = process.argv.slice(2);
const ava = spawnSync(join(root, 'node_modules/.bin/ava'), args, { stdio: 'inherit', cwd: root, env });
// The Python side of the judge has its own tests; run them too unless ava was given a selection.
let py = { status: 0 };
if (args.length === 0) {
  py = spawnSync(env.QUIVER_PYTHON, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'packages/testkit/python'], { stdio: 'inherit', cwd: root, env });
}
process.exit(ava.status || py.status || 0);
