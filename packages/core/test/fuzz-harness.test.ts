// The fuzzing harness itself, on targets with a planted bug each (helpers/fuzz-controls.ts): it
// must see a crash, a synchronous hang, a deadlock, an over-allocation of ArrayBuffers and a
// child killed by its heap limit; reproduce the case from its seed; minimize it; save it; and a
// saved file must replay to the same verdict. Without this, "no findings" would prove nothing.
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpDir } from '@quiver/testkit';
import { CaseServer, runCampaign, type CampaignOptions, type CampaignResult } from '../fuzz/harness.js';
import { limited } from './helpers/limited.js';

const controls = fileURLToPath(new URL('./helpers/fuzz-controls.js', import.meta.url));

const campaign = (opts: Omit<CampaignOptions, 'modules'>): Promise<CampaignResult> =>
  limited(() => runCampaign({ modules: [controls], seed: 11, stopOnFinding: true, ...opts }));

async function replay(target: string, file: string, hangMs = 10_000): Promise<string> {
  const server = new CaseServer([controls], target, { hangMs });
  try {
    return (await limited(() => server.run(new Uint8Array(readFileSync(file))))).kind;
  } finally {
    server.close();
  }
}

test('a crash (a non-Quiver exception) is found, shrunk to its smallest input, saved, and replays as a crash', async (t) => {
  const dir = tmpDir(t);
  const r = await campaign({ target: 'control-crash', cases: 500, saveDir: dir });
  t.is(r.crashes, 1);
  t.is(r.findings.length, 1);
  const f = r.findings[0]!;
  t.like(f, { kind: 'crash', outcome: { kind: 'crash', name: 'TypeError' } });
  t.deepEqual([...f.input], [0xf8], 'the smallest input that crashes');
  t.true(f.file !== undefined && existsSync(f.file));
  t.deepEqual([...readFileSync(f.file!)], [0xf8]);
  t.is(await replay('control-crash', f.file!), 'crash');
  t.true(r.ok > 0 && (r.codes['ERR_QUIVER_INVALID_IPC'] ?? 0) > 0, 'the other cases read or failed with a code');
});

test('without findings the campaign runs exactly the cases asked, over as many children as findings need', async (t) => {
  const r = await campaign({ target: 'control-crash', cases: 300, stopOnFinding: false, shrinkMs: 0 });
  t.is(r.cases, 300);
  t.true(r.crashes >= 1);
  t.true(r.seeds.length === r.crashes || r.seeds.length === r.crashes + 1, 'a child per crash, and one that ran out of cases');
  t.is(r.findings.length, 1, 'the same bug found again is not a new finding');
  t.is(r.ok + Object.values(r.codes).reduce((a, b) => a + b, 0) + r.crashes, 300);
});

test('a synchronous endless loop is a hang; the case is regenerated from its seed and index', async (t) => {
  const dir = tmpDir(t);
  const r = await campaign({ target: 'control-hang', cases: 2000, hangMs: 1500, minimizeMs: 0, saveDir: dir });
  t.is(r.hangs, 1);
  const f = r.findings[0]!;
  t.is(f.kind, 'hang');
  t.true(f.input.includes(0x42), `the regenerated input ${[...f.input]} holds the trigger`);
  t.is(await replay('control-hang', f.file!, 1500), 'hang');
});

test('a deadlock (awaiting what never comes) is a hang, and is minimized through a serving child', async (t) => {
  const r = await campaign({ target: 'control-deadlock', cases: 2000, hangMs: 1000, minimizeMs: 30_000 });
  t.is(r.hangs, 1);
  const f = r.findings[0]!;
  t.like(f, { kind: 'hang' });
  t.deepEqual([...f.input], [0x42], 'the smallest input that deadlocks');
});

test('an allocation over the bound is an over-allocation, whatever the case then threw', async (t) => {
  const r = await campaign({ target: 'control-alloc', cases: 2000, shrinkMs: 5000 });
  t.is(r.overAllocations, 1);
  const f = r.findings[0]!;
  t.like(f, { kind: 'over-allocation', outcome: { kind: 'over-allocation', code: 'ERR_QUIVER_INVALID_IPC' } });
  t.true(f.outcome.peakMiB! >= 128, `${f.outcome.peakMiB} MiB`);
  t.deepEqual([...f.input], [0xf0]);
});

test("a child killed by its heap limit is an over-allocation", async (t) => {
  const dir = tmpDir(t);
  const r = await campaign({ target: 'control-heap', cases: 2000, heapMb: 64, minimizeMs: 0, saveDir: dir });
  t.is(r.overAllocations, 1);
  const f = r.findings[0]!;
  t.like(f, { kind: 'over-allocation', outcome: { name: 'HeapLimit' } });
  t.true(f.input.at(-1)! >= 0xf0);
  t.is(await replay('control-heap', f.file!), 'over-allocation');
});
