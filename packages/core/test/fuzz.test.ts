// Fuzzing in CI: each of core's fuzz targets (fuzz/targets.ts: stream, file, Feather, framer,
// hello) runs a bounded number of fast-check cases in a child process with a 256 MiB heap and a
// watchdog (fuzz/harness.ts); every case must read or fail with a coded QuiverError, without a
// hang or an over-allocation. Then every saved finding (test/regressions/<target>/*.bin) is
// replayed the same way. QUIVER_FUZZ_CASES and QUIVER_FUZZ_SEED change the budget and the seed;
// `node packages/core/dist/fuzz/run.js --seconds N` fuzzes for longer and saves what it finds.
import test from 'ava';
import { CORE_TARGETS, regressionFiles, replayRegressions, runCampaign, type CampaignResult } from '../fuzz/harness.js';
import { targets } from '../fuzz/targets.js';
import { limited } from './helpers/limited.js';

const CASES = Number(process.env['QUIVER_FUZZ_CASES'] ?? 4000);
const SEED = Number(process.env['QUIVER_FUZZ_SEED'] ?? 0x51564552);

export function figures(r: CampaignResult): string {
  const codes = Object.entries(r.codes)
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c.replace('ERR_QUIVER_', '')} ${n}`)
    .join(', ');
  return `${r.cases} cases in ${(r.ms / 1000).toFixed(1)} s, seed ${r.seeds[0]}: ${r.ok} read; ${codes}; crashes ${r.crashes}, hangs ${r.hangs}, over-allocations ${r.overAllocations}`;
}

for (const target of targets) {
  test(`fuzz ${target.name}: every case reads or fails with a coded error (${target.description})`, async (t) => {
    const r = await limited(() => runCampaign({ modules: [CORE_TARGETS], target: target.name, cases: CASES, seed: SEED, stopOnFinding: true, minimizeMs: 0, shrinkMs: 5000 }));
    t.log(figures(r));
    t.deepEqual(
      r.findings.map((f) => `${f.kind} at seed ${f.seed} case ${f.index}: ${f.signature}; input (base64) ${Buffer.from(f.input).toString('base64').slice(0, 2000)}`),
      [],
    );
    t.is(r.cases, CASES);
    // A fuzzer whose inputs all read, or all fail, would prove little.
    t.true(r.ok > 0, 'some inputs read');
    t.true(r.ok < r.cases, 'some inputs fail');
  });

  test(`fuzz ${target.name}: its regression files replay without a crash, a hang or an over-allocation`, async (t) => {
    const results = await limited(() => replayRegressions([CORE_TARGETS], target.name));
    t.is(results.length, regressionFiles(target.regressions).length);
    t.deepEqual(
      results.filter((r) => r.outcome.kind !== 'ok' && r.outcome.kind !== 'coded').map((r) => `${r.file}: ${r.outcome.kind} ${r.outcome.name ?? ''} ${r.outcome.message ?? ''}`),
      [],
    );
    t.log(`${results.length} regression files`);
  });
}
