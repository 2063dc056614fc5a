#!/usr/bin/env node
// Builds the optional addon (build/Release/quiver_native.node) with node-gyp, offline.
//
// Run as this package's `install` script, so `pnpm install` builds it. The addon is optional:
// whatever goes wrong here (no compiler, no Python, no Node headers, not Linux), this script prints
// ONE warning line and exits 0, and @quiver/native then reports `isNativeAvailable === false`.
//
// Which node-gyp: the one bundled with the npm that ships next to this `node`
// (<prefix>/lib/node_modules/npm/node_modules/node-gyp), found from process.execPath. It is on every
// Node install, needs no registry access, and is what `npm_config_node_gyp` points to under npm.
// We do not take node-gyp as a devDependency: it would pull ~100 packages into every install just
// to find a tool the machine already has. Order tried: $npm_config_node_gyp, the npm-bundled copy,
// a resolvable `node-gyp` package, then `node-gyp` on PATH (pnpm puts its own bundled copy there).
//
// Which headers: node-gyp downloads headers unless told where they are, and this machine is offline.
// If npm_config_nodedir is not set, we pass --nodedir=<prefix> when <prefix>/include/node/node_api.h
// exists beside this `node` (true for distro and official tarball installs).
//
// Flags: --force rebuilds even if the addon is newer than its sources; --verbose streams node-gyp's
// output (otherwise it goes to build/quiver-native-build.log).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(pkgDir, 'build', 'Release', 'quiver_native.node');
const mapAddon = join(pkgDir, 'build', 'Release', 'quiver_map.node');
const logFile = join(pkgDir, 'build', 'quiver-native-build.log');
const force = process.argv.includes('--force');
const verbose = process.argv.includes('--verbose') || process.env.QUIVER_NATIVE_BUILD_VERBOSE === '1';

function warn(msg) {
  console.warn(`@quiver/native: ${msg}; continuing without the native addon (pure-JS fallbacks will be used)`);
  process.exit(0);
}

function newestSourceMtime() {
  const files = [join(pkgDir, 'binding.gyp'), fileURLToPath(import.meta.url)];
  for (const f of readdirSync(join(pkgDir, 'src'))) {
    if (/\.(cc|h)$/.test(f)) files.push(join(pkgDir, 'src', f));
  }
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  const prefix = dirname(dirname(process.execPath));
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  // Windows-style layout (npm beside node.exe); harmless elsewhere.
  candidates.push(join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    candidates.push(createRequire(join(pkgDir, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package: fine
  }
  for (const c of candidates) {
    if (c && existsSync(c)) return { cmd: process.execPath, args: [c] };
  }
  return { cmd: 'node-gyp', args: [] }; // last resort: PATH (pnpm and npm put a shim there)
}

function main() {
  if (process.platform !== 'linux') {
    warn(`the addon supports Linux only (this is ${process.platform})`);
  }
  const stamp = join(pkgDir, 'build', 'node-version.txt');
  const sameNode = existsSync(stamp) && readFileSync(stamp, 'utf8') === process.version;
  if (!force && existsSync(addon) && existsSync(mapAddon) && sameNode) {
    try {
      // Up to date. quiver_native is Node-API (ABI-stable); quiver_map uses V8's API, so a
      // different Node version rebuilds (the stamp).
      if (Math.min(statSync(addon).mtimeMs, statSync(mapAddon).mtimeMs) >= newestSourceMtime()) return;
    } catch {
      // fall through and rebuild
    }
  }

  const gyp = findNodeGyp();
  const args = [...gyp.args, 'rebuild'];
  const env = { ...process.env };
  if (!env.npm_config_nodedir) {
    const prefix = dirname(dirname(process.execPath));
    if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
  }
  // Two shared cores: do not ask make for parallel jobs.
  const r = spawnSync(gyp.cmd, args, {
    cwd: pkgDir,
    env,
    stdio: verbose ? 'inherit' : 'pipe',
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (!verbose) {
    try {
      mkdirSync(dirname(logFile), { recursive: true });
      writeFileSync(logFile, `$ ${gyp.cmd} ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}\n`);
    } catch {
      // logging is best effort
    }
  }
  if (r.error) warn(`could not run node-gyp (${r.error.message})`);
  if (r.status !== 0 || !existsSync(addon) || !existsSync(mapAddon)) {
    warn(`node-gyp rebuild failed (exit ${r.status ?? r.signal})${verbose ? '' : `, see ${logFile}`}`);
  } else {
    writeFileSync(stamp, process.version);
  }
}

try {
  main();
} catch (err) {
  warn(`build script error (${err instanceof Error ? err.message : String(err)})`);
}
