/**
 * The fuzzer's command line: runs targets for as long as asked and prints, per target, the cases
 * run and the findings (crashes, hangs, over-allocations). New findings are minimized and saved
 * as regression files in the target's directory (the tests replay them).
 *
 *   node packages/core/dist/fuzz/run.js [--seconds N | --cases N] [--target a,b] [--module path]...
 *        [--seed S] [--no-save] [--hang-ms MS] [--heap-mb MB] [--bound-mib MB] [--minimize-ms MS]
 *   node packages/core/dist/fuzz/run.js --replay [--target ...]   replays the regression files
 *   node packages/core/dist/fuzz/run.js --list                     lists the targets
 *
 * `--seconds` is the whole run's time, shared evenly by the targets (run one after another);
 * `--cases` is per target. Exit code 1 when anything was found (or a regression fails).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CORE_TARGETS, replayRegressions, runCampaign, type CampaignResult, type TargetModule } from './harness.js';
import { pathToFileURL } from 'node:url';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    cases: { type: 'string' },
    target: { type: 'string' },
    module: { type: 'string', multiple: true },
    seed: { type: 'string' },
    'no-save': { type: 'boolean' },
    'hang-ms': { type: 'string' },
    'heap-mb': { type: 'string' },
    'bound-mib': { type: 'string' },
    'minimize-ms': { type: 'string' },
    replay: { type: 'boolean' },
    list: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  console.log((await import('node:fs')).readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]);
  process.exit(0);
}

const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
const modules = [CORE_TARGETS, ...(values.module ?? []).map((m) => resolve(m))];
const all: Array<{ name: string; description: string; regressions: string }> = [];
for (const m of modules) all.push(...((await import(pathToFileURL(m).href)) as TargetModule).targets);
const names = values.target ? values.target.split(',') : all.map((t) => t.name);
for (const n of names) if (!all.some((t) => t.name === n)) throw new Error(`no target '${n}' (known: ${all.map((t) => t.name).join(', ')})`);
const byName = new Map(all.map((t) => [t.name, t]));

if (values.list) {
  for (const t of all) console.log(`${t.name.padEnd(12)} ${t.description}`);
  process.exit(0);
}

const limits = { hangMs: num(values['hang-ms']), heapMb: num(values['heap-mb']), boundMiB: num(values['bound-mib']) };
const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

if (values.replay) {
  let bad = 0;
  for (const name of names) {
    const results = await replayRegressions(modules, name, defined(limits));
    const failing = results.filter((r) => r.outcome.kind !== 'ok' && r.outcome.kind !== 'coded');
    bad += failing.length;
    console.log(`${name.padEnd(12)} ${results.length} regression files, ${failing.length} failing`);
    for (const f of failing) console.log(`  ${f.file}: ${f.outcome.kind} ${f.outcome.name ?? ''} ${f.outcome.message ?? ''}`);
  }
  process.exit(bad > 0 ? 1 : 0);
}

const seconds = num(values.seconds);
const cases = num(values.cases);
if (seconds === undefined && cases === undefined) throw new Error('give --seconds N or --cases N');
const seed = num(values.seed);
const results: CampaignResult[] = [];
for (const name of names) {
  const r = await runCampaign(
    defined({
      ...limits,
      modules,
      target: name,
      cases,
      seconds: seconds === undefined ? undefined : seconds / names.length,
      seed,
      minimizeMs: num(values['minimize-ms']),
      saveDir: values['no-save'] ? null : byName.get(name)!.regressions,
    }),
  );
  results.push(r);
  const top = Object.entries(r.codes)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([c, n]) => `${c.replace('ERR_QUIVER_', '')} ${n}`)
    .join(', ');
  console.log(`${name}: ${r.cases} cases in ${(r.ms / 1000).toFixed(1)} s (${r.ok} read; coded: ${top || 'none'}); seeds ${r.seeds[0]}..${r.seeds.at(-1)}`);
  for (const f of r.findings) console.log(`  FINDING ${f.kind}: ${f.signature}\n    ${f.outcome.message ?? ''}\n    ${f.file ?? '(not saved)'}`);
}

const row = (cells: Array<string | number>) => cells.map((c, i) => String(c).padStart(i === 0 ? 0 : 10).padEnd(i === 0 ? 12 : 0)).join(' ');
console.log('\n' + row(['target', 'cases', 'cases/s', 'crashes', 'hangs', 'over-alloc', 'distinct']));
for (const r of results) {
  console.log(row([r.target, r.cases, Math.round(r.cases / Math.max(0.001, r.ms / 1000)), r.crashes, r.hangs, r.overAllocations, r.findings.length]));
}
process.exit(results.some((r) => r.findings.length > 0) ? 1 : 0);
