/**
 * Python to Node: a plain-pyarrow script (examples/python/produce.py, no Quiver code) streams
 * batches over a Unix socket into this Node service, which aggregates them per sensor.
 * Checks the totals against what the script sent and exits non-zero if they differ.
 *
 *   node examples/dist/src/python-to-node.js [python]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acceptStreams, TransportRegistry } from '@quiver/core';
import { socketTransports } from '@quiver/transport-socket';

const python = process.argv[2] ?? process.env.QUIVER_PYTHON ?? 'python3';
const script = fileURLToPath(new URL('../../python/produce.py', import.meta.url));
const BATCHES = 20;
const ROWS = 5_000;

const dir = await mkdtemp(join(tmpdir(), 'quiver-py2node-'));
try {
  const registry = new TransportRegistry(socketTransports());
  const listener = await registry.listen(`unix://${join(dir, 'in.sock')}`);
  const producer = spawn(python, [script, join(dir, 'in.sock'), String(BATCHES), String(ROWS)], { stdio: 'inherit' });
  const exited = new Promise<number | null>((r) => producer.on('exit', r));

  const totals = new Map<string, number>();
  let rows = 0;
  for await (const stream of acceptStreams(listener)) {
    console.log(`stream from ${stream.peer.address}: ${stream.reader.schema.fields.map((f) => `${f.name}: ${f.type}`).join(', ')}`);
    for await (const batch of stream.reader) {
      const sensor = batch.getChild('sensor')!;
      const value = batch.getChild('value')!;
      for (let i = 0; i < batch.numRows; i++) {
        const k = sensor.get(i) as string;
        totals.set(k, (totals.get(k) ?? 0) + (value.get(i) as number));
      }
      rows += batch.numRows;
    }
    console.log(`stream ended: ${String(stream.reader.end)}`);
    break; // one producer in this example
  }
  await listener.close();
  if ((await exited) !== 0) throw new Error('the Python producer failed');

  const n = BATCHES * ROWS;
  const all = [...totals.values()].reduce((a, b) => a + b, 0);
  console.log(Object.fromEntries(totals));
  if (rows !== n) throw new Error(`got ${rows} rows, expected ${n}`);
  if (all !== (n * (n - 1)) / 2) throw new Error(`sum ${all}, expected ${(n * (n - 1)) / 2}`);
  if (totals.size !== 4) throw new Error(`expected 4 sensors, got ${totals.size}`);
  console.log('OK python-to-node');
} finally {
  await rm(dir, { recursive: true, force: true });
}
