/**
 * Exact delivery accounting for one subscriber: a bitmap of the sequence numbers received from
 * each publisher, so the run can say how many messages were expected, delivered, missing,
 * duplicated and out of order.
 *
 * @module
 */

/** Sequence numbers at or above this are not ours (bounds the bitmaps: 2^36 bits max). */
const MAX_SEQUENCE = 2 ** 36;

/** What one received message turned out to be. */
export type Receipt = "unique" | "duplicate" | "foreign";

/** The messages one subscriber received, per publisher. */
export class DeliveryTracker {
  #bits: Uint32Array[];
  #next: Float64Array;
  /** Unique messages received from each publisher. */
  readonly uniqueByPublisher: Float64Array;
  /** Every PUBLISH received, duplicates and foreign ones included. */
  received = 0;
  /** Distinct (publisher, sequence) pairs received. */
  unique = 0;
  /** Messages received again. */
  duplicates = 0;
  /** Messages that arrived after a later one from the same publisher. */
  outOfOrder = 0;
  /** Payloads without our header or with an unknown publisher or sequence. */
  foreign = 0;

  /** A tracker for messages from `publishers` publishers. */
  constructor(publishers: number) {
    this.#bits = Array.from({ length: publishers }, () => new Uint32Array(0));
    this.#next = new Float64Array(publishers);
    this.uniqueByPublisher = new Float64Array(publishers);
  }

  /** Count a PUBLISH whose payload could not be read as ours. */
  recordForeign(): void {
    this.received++;
    this.foreign++;
  }

  /** Whether message `sequence` of `publisher` has been received. */
  has(publisher: number, sequence: number): boolean {
    const bits = this.#bits[publisher];
    const word = Math.floor(sequence / 32);
    return bits !== undefined && word < bits.length && (bits[word] & (1 << (sequence & 31))) !== 0;
  }

  /** Count message `sequence` of `publisher`. */
  record(publisher: number, sequence: number): Receipt {
    this.received++;
    if (publisher >= this.#bits.length || sequence >= MAX_SEQUENCE) {
      this.foreign++;
      return "foreign";
    }
    let bits = this.#bits[publisher];
    const word = sequence < 0x8000_0000 ? sequence >>> 5 : Math.floor(sequence / 32);
    if (word >= bits.length) {
      let size = Math.max(1024, bits.length * 2);
      while (size <= word) size *= 2;
      const grown = new Uint32Array(size);
      grown.set(bits);
      this.#bits[publisher] = bits = grown;
    }
    // 2^32 is a multiple of 32, so the low five bits survive ToInt32 for any sequence.
    const mask = 1 << (sequence & 31);
    const w = bits[word];
    if ((w & mask) !== 0) {
      this.duplicates++;
      return "duplicate";
    }
    bits[word] = w | mask;
    this.unique++;
    this.uniqueByPublisher[publisher]++;
    if (sequence + 1 < this.#next[publisher]) this.outOfOrder++;
    else this.#next[publisher] = sequence + 1;
    return "unique";
  }
}
