// `quiver inspect`, run as a real process: the --json keys and values for each form and
// compression, the text report, and the golden files against pyarrow's reading of them.
import test from 'ava';
import { join } from 'node:path';
import { goldenDir, judge, tmpDir } from '@quiver/testkit';
import { BATCHES, errorOf, quiver, ROWS, SAMPLE_SCHEMA, sampleTable, writeSample, type Compression, type Form } from './helpers.js';

const table = sampleTable();
const forms: Form[] = ['stream', 'file', 'feather'];
const compressions: Compression[] = ['none', 'lz4', 'zstd'];

for (const form of forms) {
  for (const compression of compressions) {
    test(`--json: ${form}, ${compression}`, async (t) => {
      const path = join(tmpDir(t), `sample.${form}`);
      await writeSample(path, table, form, compression);
      const r = await quiver('inspect', path, '--json');
      t.is(r.code, 0, r.stderr);
      t.is(r.stderr, '');
      const json = JSON.parse(r.stdout) as Record<string, unknown>;
      t.deepEqual(Object.keys(json), ['format', 'compression', 'schema', 'batches', 'rows']);
      t.deepEqual(json, {
        // Feather V2 is the Arrow file format: a *.feather name is what tells them apart.
        format: form,
        compression,
        schema: SAMPLE_SCHEMA,
        batches: BATCHES,
        rows: ROWS,
      });
    });
  }
}

test('an Arrow file named .feather is reported as feather, a Feather file named otherwise as file', async (t) => {
  const dir = tmpDir(t);
  await writeSample(join(dir, 'a.feather'), table, 'file', 'none');
  await writeSample(join(dir, 'b.arrow'), table, 'feather', 'lz4');
  t.is(JSON.parse((await quiver('inspect', join(dir, 'a.feather'), '--json')).stdout).format, 'feather');
  t.is(JSON.parse((await quiver('inspect', join(dir, 'b.arrow'), '--json')).stdout).format, 'file');
});

test('text report: one line per fact, fields as pyarrow prints them', async (t) => {
  const path = join(tmpDir(t), 'sample.arrow');
  await writeSample(path, table, 'file', 'zstd');
  const r = await quiver('inspect', path);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  t.deepEqual(lines.slice(0, 5), ['format       file', 'compression  zstd', `batches      ${BATCHES}`, `rows         ${ROWS}`, 'dictionaries 1']);
  t.true(lines.includes('  id: int64 not null'));
  t.true(lines.includes('  d: dictionary<values=string, indices=int32>'));
});

test('--json carries field and schema metadata when there is some', async (t) => {
  const path = join(goldenDir('1.0.0-littleendian'), 'generated_custom_metadata.stream');
  const r = await quiver('inspect', '--json', path);
  t.is(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout) as { schema: Array<{ name: string; metadata?: Record<string, string> }>; metadata?: Record<string, string> };
  t.deepEqual(json.schema[0], { name: 'sort_of_pandas', type: 'int8', nullable: true, metadata: { pandas: '{}' } } as never);
  t.deepEqual(json.metadata, { schema_custom_0: '{}', schema_custom_1: '{}' });
  t.false('metadata' in json.schema[3]!);
});

test('golden files (compressed, dictionaries): counts and form agree with pyarrow', async (t) => {
  const names = ['2.0.0-compression/generated_lz4', '2.0.0-compression/generated_zstd', '4.0.0-shareddict/generated_shared_dict'];
  for (const name of names) {
    for (const ext of ['stream', 'arrow_file']) {
      const path = join(goldenDir(), `${name}.${ext}`);
      const [want] = await judge.canonMany([path]);
      const r = await quiver('inspect', '--json', path);
      t.is(r.code, 0, r.stderr);
      const got = JSON.parse(r.stdout) as { format: string; compression: string; schema: Array<{ name: string; nullable: boolean }>; batches: number; rows: number };
      t.deepEqual(
        { format: got.format, batches: got.batches, rows: got.rows, fields: got.schema.map((f) => [f.name, f.nullable]) },
        { format: want!.format, batches: want!.batches, rows: want!.rows, fields: want!.schema.map((f) => [f.name, f.nullable]) },
        path,
      );
      t.is(got.compression, name.endsWith('lz4') ? 'lz4' : name.endsWith('zstd') ? 'zstd' : 'none', path);
    }
  }
});

test('a missing path is an I/O error', async (t) => {
  const r = await quiver('inspect', join(tmpDir(t), 'nope.arrow'));
  t.is(r.code, 1);
  t.is(errorOf(r)?.code, 'ERR_QUIVER_IO');
});
