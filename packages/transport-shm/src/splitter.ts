/**
 * Turns the bytes a publisher's connection is given into ring records, one per Arrow IPC
 * message. Core's messaging layer calls `send` with gather lists that hold any number of whole
 * messages (a dictionary and the batch using it, or one message), and nothing in the contract
 * stops a caller from cutting a message across sends; so the splitter parses the framing itself:
 * the prefix (continuation marker and metadata length, or the legacy 4-byte form), the metadata
 * flatbuffer (copied aside to read the body length and what the message is), then the body,
 * copied once, straight from the caller's buffers into the record's slot, which is reserved as
 * soon as its size is known. A record is published when its last byte has arrived.
 */
import { decodeMessage, ErrorCode, invalid, QuiverError } from '@quiver/core';
import { metaOf, type RecordMeta } from './ring/classify.js';
import { RECORD_HEADER } from './ring/layout.js';
import type { Loan, RingWriter } from './ring/writer.js';

const CONTINUATION = 0xffffffff;
const EOS = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

export class MessageSplitter {
  private readonly prefix = new Uint8Array(8);
  private readonly prefixView = new DataView(this.prefix.buffer);
  private prefixHave = 0;
  private meta: Uint8Array | null = null;
  private metaHave = 0;
  private loan: Loan | null = null;
  private loanAt = 0;
  private bodyLeft = 0;
  private recordMeta: RecordMeta | null = null;

  constructor(private readonly writer: RingWriter) {}

  /** Whether the bytes so far end exactly at a message boundary. */
  get atBoundary(): boolean {
    return this.prefixHave === 0 && this.meta === null && this.loan === null;
  }

  /** Consumes `buffers`, publishing each message as it completes (waiting for room). */
  async push(buffers: readonly Uint8Array[]): Promise<void> {
    for (const buf of buffers) {
      let at = 0;
      while (at < buf.byteLength) {
        if (this.loan) at += this.body(buf, at);
        else if (this.meta) at += await this.metadata(buf, at);
        else at += await this.framing(buf, at);
      }
    }
  }

  private async framing(buf: Uint8Array, at: number): Promise<number> {
    // 4 bytes first; 4 more when they are the continuation marker.
    const need = this.prefixHave < 4 ? 4 : 8;
    const n = Math.min(need - this.prefixHave, buf.byteLength - at);
    this.prefix.set(buf.subarray(at, at + n), this.prefixHave);
    this.prefixHave += n;
    if (this.prefixHave < need) return n;
    const first = this.prefixView.getUint32(0, true);
    if (this.prefixHave === 4 && first === CONTINUATION) return n;
    const length = this.prefixHave === 8 ? this.prefixView.getInt32(4, true) : first | 0;
    this.prefixHave = 0;
    if (length === 0) {
      await this.writer.write({ kind: 'eos' }, [EOS]);
      return n;
    }
    if (length < 0) throw invalid(`message metadata length ${length} is negative`);
    if (length + 8 > this.writer.ring.maxRecord - RECORD_HEADER) {
      throw new QuiverError(ErrorCode.MESSAGE_TOO_LARGE, `message metadata of ${length} bytes does not fit the ring`);
    }
    this.meta = new Uint8Array(length);
    this.metaHave = 0;
    return n;
  }

  private async metadata(buf: Uint8Array, at: number): Promise<number> {
    const meta = this.meta!;
    const n = Math.min(meta.byteLength - this.metaHave, buf.byteLength - at);
    meta.set(buf.subarray(at, at + n), this.metaHave);
    this.metaHave += n;
    if (this.metaHave < meta.byteLength) return n;
    const message = decodeMessage(meta);
    const total = 8 + meta.byteLength + message.bodyLength;
    // Records always carry the continuation form, whichever prefix the sender used.
    const loan = await this.writer.loan(total);
    new DataView(loan.bytes.buffer, loan.bytes.byteOffset, 8).setUint32(0, CONTINUATION, true);
    new DataView(loan.bytes.buffer, loan.bytes.byteOffset, 8).setInt32(4, meta.byteLength, true);
    loan.bytes.set(meta, 8);
    this.meta = null;
    this.loan = loan;
    this.loanAt = 8 + meta.byteLength;
    this.bodyLeft = message.bodyLength;
    this.recordMeta = metaOf(message);
    if (this.bodyLeft === 0) this.publish();
    return n;
  }

  private body(buf: Uint8Array, at: number): number {
    const n = Math.min(this.bodyLeft, buf.byteLength - at);
    this.loan!.bytes.set(buf.subarray(at, at + n), this.loanAt);
    this.loanAt += n;
    this.bodyLeft -= n;
    if (this.bodyLeft === 0) this.publish();
    return n;
  }

  private publish(): void {
    const loan = this.loan!;
    this.loan = null;
    loan.commit(this.recordMeta!);
  }

  /** Drops a message cut short (its slot is given back unpublished). */
  discard(): void {
    this.loan?.abort();
    this.loan = null;
    this.meta = null;
    this.prefixHave = 0;
  }
}
