// The Message flatbuffer of a record batch: frameMessage writes one without custom metadata
// directly (format/message.ts writeRecordBatchMessage); the Builder writes every other message.
// Both must decode to the same message, over every shape of header; pyarrow judges the bytes of
// real streams in conformance.test.ts and compression.test.ts.
import test from 'ava';
import { decodeMessage, encodeMessage, frameMessage, MetadataVersion, type Message, type RecordBatchHeader } from '../src/index.js';
import { seededRandom } from './helpers/unit-helpers.js';

/** The flatbuffer of a framed message (after the 8-byte prefix, before the padding). */
function flatbuffer(m: Message): Uint8Array {
  const framed = frameMessage(m, []);
  return framed.buffers[1]!;
}

function header(random: () => number): RecordBatchHeader {
  const big = () => (random() < 0.2 ? Number.MAX_SAFE_INTEGER - Math.floor(random() * 1000) : Math.floor(random() * 2 ** (random() * 40)));
  const nodes = Array.from({ length: Math.floor(random() * 6) }, () => {
    const length = big();
    return { length, nullCount: Math.floor(random() * length) };
  });
  const buffers = Array.from({ length: Math.floor(random() * 12) }, () => ({ offset: big(), length: big() }));
  const compression = random() < 0.5 ? null : random() < 0.5 ? 'lz4' : 'zstd';
  const variadicBufferCounts = random() < 0.6 ? [] : Array.from({ length: 1 + Math.floor(random() * 3) }, () => Math.floor(random() * 5));
  return { length: big(), nodes, buffers, compression, variadicBufferCounts };
}

test('a record batch message written directly decodes as the one the Builder writes, for every shape of header', (t) => {
  const random = seededRandom(11);
  for (let k = 0; k < 500; k++) {
    const m: Message = { version: MetadataVersion.V5, header: { type: 'recordBatch', batch: header(random) }, bodyLength: 8 * Math.floor(random() * 1e6), metadata: new Map() };
    const direct = flatbuffer(m);
    t.deepEqual(decodeMessage(direct), m, `case ${k}`);
    t.deepEqual(decodeMessage(direct), decodeMessage(encodeMessage(m)), `case ${k}`);
    // Arrow C++'s verifier checks alignment from the flatbuffer's start: the framing keeps that start 8-aligned.
    t.is(direct.byteOffset % 8, 0);
  }
});

test('a record batch message after another larger one carries none of its bytes (the scratch is cleared)', (t) => {
  const random = seededRandom(12);
  const large: Message = { version: MetadataVersion.V5, header: { type: 'recordBatch', batch: { ...header(random), compression: 'zstd', variadicBufferCounts: [3, 4] } }, bodyLength: 64, metadata: new Map() };
  const small: Message = { version: MetadataVersion.V5, header: { type: 'recordBatch', batch: { length: 0, nodes: [], buffers: [], compression: null, variadicBufferCounts: [] } }, bodyLength: 0, metadata: new Map() };
  const alone = Array.from(flatbuffer(small));
  flatbuffer(large);
  t.deepEqual(Array.from(flatbuffer(small)), alone);
  t.deepEqual(decodeMessage(flatbuffer(small)), small);
});

test('record batches with custom metadata, and dictionary batches, still go through the Builder and read back', (t) => {
  const random = seededRandom(13);
  const withMeta: Message = { version: MetadataVersion.V5, header: { type: 'recordBatch', batch: header(random) }, bodyLength: 8, metadata: new Map([['k', 'v']]) };
  t.deepEqual(decodeMessage(flatbuffer(withMeta)), withMeta);
  const dict: Message = { version: MetadataVersion.V5, header: { type: 'dictionaryBatch', id: 7, isDelta: true, batch: header(random) }, bodyLength: 16, metadata: new Map() };
  t.deepEqual(decodeMessage(flatbuffer(dict)), dict);
});

/** The flatbuffer of a small record batch message, and a copy of it placed at `at` of `memory`. */
function placed(memory: Uint8Array, at: number): Uint8Array {
  const m: Message = { version: MetadataVersion.V5, header: { type: 'recordBatch', batch: { length: 3, nodes: [{ length: 3, nullCount: 0 }], buffers: [{ offset: 0, length: 0 }, { offset: 0, length: 12 }], compression: null, variadicBufferCounts: [] } }, bodyLength: 16, metadata: new Map() };
  const fb = flatbuffer(m);
  memory.set(fb, at);
  return memory.subarray(at, at + fb.byteLength);
}

for (const [what, size] of [['a small buffer (its view is shared by the messages in it)', 4096], ['a large buffer', 3 << 20]] as const) {
  test(`a flatbuffer in ${what} never reads the bytes around it`, (t) => {
    const memory = new Uint8Array(size);
    // Two copies side by side, so that an offset leaving the first lands on the second's tables.
    const first = placed(memory, 1024);
    const second = placed(memory, 1024 + first.byteLength);
    t.deepEqual(decodeMessage(first), decodeMessage(second));
    const view = new DataView(first.buffer, first.byteOffset, first.byteLength);
    const root = view.getUint32(0, true);
    // The root offset moved forward by one flatbuffer: onto the second copy's Message table.
    view.setUint32(0, root + first.byteLength, true);
    t.throws(() => decodeMessage(first), { code: 'ERR_QUIVER_INVALID_IPC', message: new RegExp(`outside its ${first.byteLength} bytes`) });
    view.setUint32(0, root, true);
    // The second's vtable offset moved back by one flatbuffer: onto the first copy's vtable.
    const sv = new DataView(second.buffer, second.byteOffset, second.byteLength);
    sv.setInt32(root, sv.getInt32(root, true) + first.byteLength, true);
    t.throws(() => decodeMessage(second), { code: 'ERR_QUIVER_INVALID_IPC', message: /outside its/ });
    t.notThrows(() => decodeMessage(first));
  });
}
