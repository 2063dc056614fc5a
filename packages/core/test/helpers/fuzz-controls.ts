/**
 * Fuzz targets that misbehave on purpose, for the harness's own tests: each has one bug of one
 * kind, triggered by a byte pattern the fuzzer finds within a few hundred cases (the last byte,
 * so that fast-check, which shrinks an array by dropping its first elements, can reach a
 * one-byte input), so the tests can check that the harness sees it, reproduces the case and
 * minimizes it.
 */
import fc from 'fast-check';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invalid } from '../../src/index.js';
import type { FuzzTarget, Probe } from '../../fuzz/harness.js';

const inputs = () => fc.uint8Array({ minLength: 1, maxLength: 24 });
const regressions = join(tmpdir(), 'quiver-fuzz-controls-unused');

/** Fails the way a reader should: a coded error, or reads. */
function wellBehaved(bytes: Uint8Array): void {
  if (bytes[0]! % 3 === 0) throw invalid('a coded failure');
}

const keep: Uint8Array[] = [];

export const targets: FuzzTarget[] = [
  {
    name: 'control-crash',
    description: 'a TypeError when the last byte is 0xf8 or more',
    regressions,
    inputs,
    async run(bytes) {
      if (bytes.at(-1)! >= 0xf8) throw new TypeError('a plain TypeError');
      wellBehaved(bytes);
    },
  },
  {
    name: 'control-hang',
    description: 'a synchronous endless loop when a byte is 0x42',
    regressions,
    inputs,
    async run(bytes) {
      // eslint-disable-next-line no-empty
      if (bytes.includes(0x42)) for (;;) {}
      wellBehaved(bytes);
    },
  },
  {
    name: 'control-deadlock',
    description: 'awaits what never happens when the last byte is 0x42..0x4f',
    regressions,
    inputs,
    async run(bytes) {
      if (bytes.at(-1)! >= 0x42 && bytes.at(-1)! < 0x50) await new Promise(() => {});
      wellBehaved(bytes);
    },
  },
  {
    name: 'control-alloc',
    description: 'allocates 128 MiB (and fails with a coded error) when the last byte is 0xf0 or more',
    regressions,
    inputs,
    async run(bytes, probe: Probe) {
      if (bytes.at(-1)! >= 0xf0) {
        const big = new Uint8Array(128 * 2 ** 20).fill(1);
        probe.sample();
        throw invalid(`claimed ${big.byteLength} bytes`);
      }
      wellBehaved(bytes);
    },
  },
  {
    name: 'control-heap',
    description: 'fills the JS heap (the child dies at its heap limit) when the last byte is 0xf0 or more',
    regressions,
    inputs,
    async run(bytes) {
      if (bytes.at(-1)! >= 0xf0) for (;;) keep.push(new Uint8Array(16)), keep.push({ a: keep.length } as never);
      wellBehaved(bytes);
    },
  },
];
