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
import { batchBytes } from './data.js';
import { Checks, defaultPython, isMain, runExample, type ExampleOptions, type Figure } from './example.js';

const BATCHES = 20;
const ROWS = 5_000;

export interface PythonToNodeOptions extends ExampleOptions {
  /** Python with pyarrow. @default defaultPython() */
  python?: string;
}

export async function pythonToNode(opts: PythonToNodeOptions = {}): Promise<Figure[]> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const checks = new Checks(log);
  const script = fileURLToPath(new URL('../../python/produce.py', import.meta.url));
  const dir = await mkdtemp(join(tmpdir(), 'quiver-py2node-'));
  try {
    const registry = new TransportRegistry(socketTransports());
    const listener = await registry.listen(`unix://${join(dir, 'in.sock')}`);
    const producer = spawn(opts.python ?? defaultPython(), [script, join(dir, 'in.sock'), String(BATCHES), String(ROWS)], { stdio: ['ignore', 'inherit', 'inherit'] });
    let connected = false;
    // The exit code, or why it could not start (no such interpreter).
    const exited = new Promise<number | string | null>((r) => {
      producer.on('exit', r);
      producer.on('error', (e) => r(e.message));
    });
    // A producer that ends without ever connecting must not leave us listening for it.
    void exited.then(() => (connected ? undefined : listener.close()));

    const totals = new Map<string, number>();
    let rows = 0;
    let batches = 0;
    let bytes = 0;
    let t0 = 0;
    try {
      for await (const stream of acceptStreams(listener)) {
        connected = true;
        t0 = performance.now(); // timed from the connection: Python's start-up is not the transport's
        log(`stream from ${stream.peer.address}: ${stream.reader.schema.fields.map((f) => `${f.name}: ${f.type}`).join(', ')}`);
        for await (const batch of stream.reader) {
          const sensor = batch.getChild('sensor')!;
          const value = batch.getChild('value')!;
          for (let i = 0; i < batch.numRows; i++) {
            const k = sensor.get(i) as string;
            totals.set(k, (totals.get(k) ?? 0) + (value.get(i) as number));
          }
          rows += batch.numRows;
          batches++;
          bytes += batchBytes(batch);
        }
        log(`stream ended: ${String(stream.reader.end)}`);
        break; // one producer in this example
      }
    } catch (e) {
      producer.kill(); // reading failed: the producer's output has nowhere to go
      throw e;
    } finally {
      await listener.close();
    }
    const ms = performance.now() - t0;
    checks.equal('the Python producer exit code', await exited, 0);

    const n = BATCHES * ROWS;
    const all = [...totals.values()].reduce((a, b) => a + b, 0);
    log(JSON.stringify(Object.fromEntries(totals)));
    checks.equal('rows received', rows, n);
    checks.equal('sum of value over every sensor', all, (n * (n - 1)) / 2);
    checks.equal('sensors', totals.size, 4);
    return [{ scenario: 'python -> node', transport: 'unix://', what: 'pyarrow producer to a Node service', batches, bytes, ms, checks: checks.take(), note: 'zstd stream; Python makes the data as it goes' }];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const python = process.argv[2];
  await runExample('python-to-node', (o) => pythonToNode({ ...o, ...(python ? { python } : {}) }));
}
