/**
 * Quiver's only bytes that are not Arrow: the hello a Quiver subscriber sends to a publisher to
 * name its topic. It travels subscriber → publisher only; the publisher → subscriber direction is
 * always a plain Arrow IPC stream. A peer that sends no hello (plain pyarrow) gets the default
 * topic.
 *
 *   "QVR1" | uint32 little-endian length | msgpack { topic: string, policy?: string, queueLength?: number }
 *
 * `policy` and `queueLength` let each subscription choose how it is treated when it falls behind;
 * absent, the publisher's defaults apply.
 */
import { pack, unpack } from 'msgpackr';
import { ErrorCode, QuiverError } from '../errors.js';

const MAGIC = [0x51, 0x56, 0x52, 0x31]; // "QVR1"
/** Largest hello accepted: a topic name and a few options, never more. */
export const MAX_HELLO_BYTES = 4096;

export type HelloPolicy = 'block' | 'drop-oldest' | 'disconnect';

/** What a subscriber asks of a publisher. */
export interface Hello {
  /** The topic to receive (1 to 256 characters). */
  topic: string;
  /** How to treat this subscriber when it falls behind. @default the publisher's */
  policy?: HelloPolicy;
  /** Its queue length at the publisher, in messages. @default the publisher's */
  queueLength?: number;
}

/** The hello's bytes: `"QVR1"`, a little-endian uint32 length, then the msgpack map. */
export function encodeHello(h: Hello): Uint8Array {
  const body = pack({ ...h }) as Uint8Array;
  const out = new Uint8Array(8 + body.byteLength);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, body.byteLength, true);
  out.set(body, 8);
  return out;
}

/**
 * Parses a hello from the first bytes a subscriber sent. Returns null while incomplete, the hello
 * when complete (with how many bytes it took); throws ERR_QUIVER_PROTOCOL for anything else.
 */
export function decodeHello(bytes: Uint8Array): { hello: Hello; length: number } | null {
  for (let i = 0; i < Math.min(4, bytes.byteLength); i++) {
    if (bytes[i] !== MAGIC[i]) throw new QuiverError(ErrorCode.PROTOCOL, 'a subscriber sent bytes that are not a Quiver hello');
  }
  if (bytes.byteLength < 8) return null;
  const len = new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(4, true);
  if (len > MAX_HELLO_BYTES) throw new QuiverError(ErrorCode.PROTOCOL, `a hello of ${len} bytes exceeds ${MAX_HELLO_BYTES}`);
  if (bytes.byteLength < 8 + len) return null;
  let v: unknown;
  try {
    v = unpack(bytes.subarray(8, 8 + len));
  } catch (cause) {
    throw new QuiverError(ErrorCode.PROTOCOL, 'a hello that is not valid msgpack', { cause });
  }
  const o = (v ?? {}) as { topic?: unknown; policy?: unknown; queueLength?: unknown };
  if (typeof o.topic !== 'string' || o.topic.length === 0 || o.topic.length > 256) {
    throw new QuiverError(ErrorCode.PROTOCOL, 'a hello must name a topic (1 to 256 characters)');
  }
  const hello: Hello = { topic: o.topic };
  if (o.policy !== undefined) {
    if (o.policy !== 'block' && o.policy !== 'drop-oldest' && o.policy !== 'disconnect') throw new QuiverError(ErrorCode.PROTOCOL, `unknown policy ${String(o.policy)}`);
    hello.policy = o.policy;
  }
  if (o.queueLength !== undefined) {
    if (!Number.isInteger(o.queueLength) || (o.queueLength as number) < 1) throw new QuiverError(ErrorCode.PROTOCOL, 'queueLength must be a positive integer');
    hello.queueLength = o.queueLength as number;
  }
  return { hello, length: 8 + len };
}
