// Fuzzing in CI: the ring's fuzz targets (fuzz/targets.ts: a damaged ring read by its subscribers,
// and the publishing connection's splitter) run a bounded number of cases under core's harness
// (a child with a 256 MiB heap and a watchdog); every case must read or fail with a coded
// QuiverError, without a hang or an over-allocation. Then the saved findings
// (test/regressions/<target>/*.bin: the bugs the fuzzer found, fixed) replay the same way.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { regressionFiles, replayRegressions, runCampaign } from '@quiver/core/fuzz/harness';
import { targets } from '../fuzz/targets.js';

const MODULE = fileURLToPath(new URL('../fuzz/targets.js', import.meta.url));
const CASES = Number(process.env['QUIVER_FUZZ_CASES'] ?? 3000);
const SEED = Number(process.env['QUIVER_FUZZ_SEED'] ?? 0x51564552);

for (const target of targets) {
  test.serial(`fuzz ${target.name}: every case reads or fails with a coded error (${target.description})`, async (t) => {
    const r = await runCampaign({ modules: [MODULE], target: target.name, cases: CASES, seed: SEED, stopOnFinding: true, minimizeMs: 0, shrinkMs: 5000 });
    const codes = Object.entries(r.codes).map(([c, n]) => `${c.replace('ERR_QUIVER_', '')} ${n}`);
    t.log(`${r.cases} cases in ${(r.ms / 1000).toFixed(1)} s, seed ${r.seeds[0]}: ${r.ok} read; ${codes.join(', ')}`);
    t.deepEqual(
      r.findings.map((f) => `${f.kind} at seed ${f.seed} case ${f.index}: ${f.signature}; input (base64) ${Buffer.from(f.input).toString('base64').slice(0, 2000)}`),
      [],
    );
    t.is(r.cases, CASES);
    t.true(r.ok > 0 && r.ok < r.cases, `${r.ok} of ${r.cases} read`);
  });

  test.serial(`fuzz ${target.name}: its regression files replay without a crash, a hang or an over-allocation`, async (t) => {
    const results = await replayRegressions([MODULE], target.name);
    t.is(results.length, regressionFiles(target.regressions).length);
    t.true(results.length > 0, 'the bugs found so far are kept');
    t.deepEqual(
      results.filter((r) => r.outcome.kind !== 'ok' && r.outcome.kind !== 'coded').map((r) => `${r.file}: ${r.outcome.kind} ${r.outcome.name ?? ''} ${r.outcome.message ?? ''}`),
      [],
    );
  });
}
