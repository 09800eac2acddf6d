/**
 * The Deno KV store's index, kept in memory: which segment holds the live value of each key,
 * how big each record is, and how many live records each segment still holds (a segment with
 * none is garbage once it is the oldest). Records are numbered slots: the `Map` holds small
 * integers and the segment numbers and sizes live in typed arrays, so a million records cost
 * tens of megabytes, not hundreds.
 *
 * @module
 */

/** One segment, as the index sees it. */
export interface SegmentInfo {
  /** How many chunk keys it has: `["chunk", n, 0]` up to `["chunk", n, chunks - 1]`. */
  chunks: number;
  /** Bytes of its chunks. */
  bytes: number;
  /** Records whose live value is in it. */
  puts: number;
}

const FIRST_CAPACITY = 1024;

/** Where every live record is, and what each segment still holds. */
export class KvIndex {
  /** Segments by number, oldest first (they are added in order). */
  readonly segments: Map<number, SegmentInfo> = new Map();
  /** Bytes of live keys and values. */
  liveBytes = 0;
  /** Bytes of all segments' chunks. */
  storedBytes = 0;
  readonly #slots = new Map<string, number>();
  #segmentOf = new Float64Array(FIRST_CAPACITY);
  #sizeOf = new Float64Array(FIRST_CAPACITY);
  readonly #free: number[] = [];
  #used = 0;

  /** Live records. */
  get records(): number {
    return this.#slots.size;
  }

  /** The segment holding `key`'s live value, if it has one. */
  segmentOf(key: string): number | undefined {
    const slot = this.#slots.get(key);
    return slot === undefined ? undefined : this.#segmentOf[slot];
  }

  /** Add a segment (newer than any before it). */
  addSegment(segNo: number, info: SegmentInfo): void {
    this.segments.set(segNo, info);
    this.storedBytes += info.bytes;
  }

  /** Forget segment `segNo`, which must hold no live record. */
  dropSegment(segNo: number): void {
    const info = this.segments.get(segNo);
    if (info === undefined) return;
    if (info.puts !== 0) throw new Error(`segment ${segNo} still holds ${info.puts} records`);
    this.segments.delete(segNo);
    this.storedBytes -= info.bytes;
  }

  /** `key`'s live value is now in segment `segNo` (already added), `size` bytes. */
  put(key: string, segNo: number, size: number): void {
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = this.#allocate();
      this.#slots.set(key, slot);
    } else {
      this.#release(slot);
    }
    this.#segmentOf[slot] = segNo;
    this.#sizeOf[slot] = size;
    this.segments.get(segNo)!.puts++;
    this.liveBytes += size;
  }

  /** `key` has no live value any more. */
  remove(key: string): void {
    const slot = this.#slots.get(key);
    if (slot === undefined) return;
    this.#release(slot);
    this.#slots.delete(key);
    this.#free.push(slot);
  }

  /** Take what `slot` counted away from its segment and the totals. */
  #release(slot: number): void {
    this.segments.get(this.#segmentOf[slot])!.puts--;
    this.liveBytes -= this.#sizeOf[slot];
  }

  #allocate(): number {
    const reused = this.#free.pop();
    if (reused !== undefined) return reused;
    if (this.#used === this.#segmentOf.length) {
      this.#segmentOf = grow(this.#segmentOf);
      this.#sizeOf = grow(this.#sizeOf);
    }
    return this.#used++;
  }
}

function grow(array: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const bigger = new Float64Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
