#!/usr/bin/env node
// Runs every package's compiled ava tests in one run. pyarrow from .venv is the judge the tests
// call (QUIVER_PYTHON); the golden files come from ../shared beside the checkout.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, QUIVER_PYTHON: process.env.QUIVER_PYTHON ?? join(root, '.venv/bin/python') };
const r = spawnSync(join(root, 'node_modules/.bin/ava'), process.argv.slice(2), { stdio: 'inherit', cwd: root, env });
process.exit(r.status ?? 1);
