/**
 * Reclaiming space in the Deno KV store, from the oldest segment (the head) only.
 *
 * A segment with no live record is garbage once every older segment is gone: its puts are all
 * overwritten and its deletes (tombstones) have nothing older left to hide. So the head, and
 * the dead segments right behind it, are deleted freely. A head that still holds live records
 * is compacted only while the store holds more than `ratio × live bytes + slack`: its live
 * records are read back and written again into the next commit's segment, which makes them
 * dead in the head; the head's header is deleted in the same atomic as that segment's. Each
 * commit moves at most `bytesPerCommit` bytes, or as much as it writes itself if that is more,
 * so compaction keeps pace with writing without ever holding a commit for long.
 *
 * A head that cannot be read back (damaged after `load` read it) is left alone: compaction
 * stops there for the rest of the process, and the next `load` reports the damage.
 *
 * @module
 */

import type { KvIndex } from "./kv_index.ts";
import { readStoredSegment } from "./kv_load.ts";
import type { SegmentEntry } from "./kv_segments.ts";

/** When and how much to compact. */
export interface CompactionSettings {
  /** Compact while stored bytes exceed `ratio` × live bytes + `slackBytes`. */
  ratio: number;
  /** See `ratio`. */
  slackBytes: number;
  /** Live bytes one commit may move, at least (a bigger commit may move as much as it writes). */
  bytesPerCommit: number;
}

/** Live records one commit moves out of segment `segNo`. */
export interface Moves {
  /** The segment they come from. */
  segNo: number;
  /** The records, with their current values. */
  entries: SegmentEntry[];
  /** Where to go on in that segment's records after this commit. */
  next: number;
}

/** The head's records being moved, read once for as many commits as it takes. */
interface HeadCopy {
  segNo: number;
  entries: SegmentEntry[];
  next: number;
}

/** How many live records each segment loses when `keys` get new values (or are deleted). */
export function countLosses(index: KvIndex, keys: readonly string[]): Map<number, number> {
  const losses = new Map<number, number>();
  for (const key of keys) {
    const segNo = index.segmentOf(key);
    if (segNo !== undefined) losses.set(segNo, (losses.get(segNo) ?? 0) + 1);
  }
  return losses;
}

/** The oldest segments (at most `limit`) left with no live record after `losses`. */
export function deadHead(index: KvIndex, losses: Map<number, number>, limit: number): number[] {
  const dead: number[] = [];
  for (const [segNo, info] of index.segments) {
    if (dead.length === limit || info.puts > (losses.get(segNo) ?? 0)) break;
    dead.push(segNo);
  }
  return dead;
}

/** Chooses what each commit moves out of the head. */
export class Compactor {
  readonly #kv: Deno.Kv;
  readonly #index: KvIndex;
  readonly #settings: CompactionSettings;
  #head: HeadCopy | undefined;
  /** A segment that could not be read back: compaction stops there. */
  #stuck: number | undefined;

  /** Compact the segments of `kv`, as `index` sees them. */
  constructor(kv: Deno.Kv, index: KvIndex, settings: CompactionSettings) {
    this.#kv = kv;
    this.#index = index;
    this.#settings = settings;
  }

  /**
   * What a commit writing `commitBytes` bytes to `changed` keys (which cost each segment
   * `losses`) should move, if anything. `losses` is not changed.
   */
  async pick(
    losses: Map<number, number>,
    changed: readonly string[],
    commitBytes: number,
  ): Promise<Moves | undefined> {
    const { ratio, slackBytes, bytesPerCommit } = this.#settings;
    const index = this.#index;
    if (index.storedBytes <= ratio * index.liveBytes + slackBytes) return undefined;
    let segNo: number | undefined;
    for (const [n, info] of index.segments) {
      if (info.puts > (losses.get(n) ?? 0)) {
        segNo = n;
        break;
      }
    }
    if (segNo === undefined || segNo === this.#stuck) return undefined;
    const head = await this.#read(segNo);
    if (head === undefined) return undefined;
    const skip = new Set(changed);
    const budget = Math.max(bytesPerCommit, commitBytes);
    const entries: SegmentEntry[] = [];
    let bytes = 0;
    let next = head.next;
    for (; next < head.entries.length && bytes < budget; next++) {
      const entry = head.entries[next];
      if (index.segmentOf(entry.key) !== segNo || skip.has(entry.key)) continue;
      entries.push(entry);
      bytes += entry.size;
    }
    return { segNo, entries, next };
  }

  /** The commit carrying `moves` (if any) is durable; forget heads that are gone. */
  committed(moves: Moves | undefined): void {
    if (moves !== undefined && this.#head?.segNo === moves.segNo) this.#head.next = moves.next;
    if (this.#head !== undefined && !this.#index.segments.has(this.#head.segNo)) {
      this.#head = undefined;
    }
  }

  /** The live records of segment `segNo`, read once. */
  async #read(segNo: number): Promise<HeadCopy | undefined> {
    if (this.#head?.segNo === segNo) return this.#head;
    this.#head = undefined;
    let entries: SegmentEntry[];
    try {
      entries = await readStoredSegment(this.#kv, segNo);
    } catch {
      this.#stuck = segNo;
      return undefined;
    }
    const live = entries.filter((e) => e.value !== null && this.#index.segmentOf(e.key) === segNo);
    this.#head = { segNo, entries: live, next: 0 };
    return this.#head;
  }
}
