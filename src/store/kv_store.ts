/**
 * The store on Deno KV (`persistence true`), log-structured: Deno KV fsyncs every atomic and
 * costs microseconds per mutation, so records are never KV entries of their own.
 *
 * Each `commit` appends one segment (kv_segments.ts): its changes as one byte stream, cut into
 * chunks `["chunk", n, i]` of at most `chunkBytes`, and a header `["seg", n]` (kv_header.ts)
 * written in the last of the atomics the segment takes. A segment
 * exists once its header does, so a commit is all-or-nothing however many atomics it needs;
 * chunks left without a header by a crash are deleted by the next `load`. Segment numbers only
 * grow, so a chunk can never be taken for part of a later segment.
 *
 * An index in memory (kv_index.ts) knows which segment holds each live record. Space is
 * reclaimed from the oldest segment only (kv_compact.ts), by commits: a segment's header is
 * deleted in the last atomic of a commit, and its chunks in that atomic too, or in the next
 * commits' atomics when they do not fit (without a header they are garbage, safe to delete at
 * any time, and the next `load` deletes whatever a crash left of them).
 *
 * `load` replays segments in order (kv_load.ts). Entries and headers carry checksums: what is
 * damaged is reported as a `StoreProblem` with the KV key at fault and the records lost, and
 * the rest of the segment applies. A damaged segment is deleted like any other once
 * compaction has moved what it holds that is live.
 *
 * A failed commit rejects and changes nothing the store shows: chunks it wrote before the
 * failure are deleted by a later commit. `KvStoreOptions` other than `allowEmpty` exist for
 * tests; their defaults suit the broker.
 *
 * @module
 */

import { Compactor, countLosses, deadHead } from "./kv_compact.ts";
import { KvIndex } from "./kv_index.ts";
import { encodeHeader } from "./kv_header.ts";
import { chunkKey, headerKey, scanStore } from "./kv_load.ts";
import {
  commitAtomic,
  deleteKeys,
  deleteMutation,
  KV_MAX_ATOMIC_BYTES,
  KV_MAX_VALUE_BYTES,
  type Mutation,
  planAtomics,
  setMutation,
} from "./kv_atomics.ts";
import { openDatabase } from "./kv_open.ts";
import { SegmentWriter } from "./kv_segments.ts";
import type { LoadedRecords, Store, StoreChanges, StoreStats } from "./store.ts";

/** How to open the Deno KV store; tests make its sizes and thresholds small. */
export interface KvStoreOptions {
  /**
   * Start with an empty store when the file exists but is empty (0 bytes), instead of refusing
   * it (its data is gone). Default false.
   */
  allowEmpty?: boolean;
  /** Bytes per chunk, at most 65,536 (Deno KV's largest value). Default 60,000. */
  chunkBytes?: number;
  /**
   * Bytes per atomic operation, counted as values plus twice their keys; at most 819,200
   * (Deno KV's limit) and at least `chunkBytes` + 16 KiB. Default 800,000.
   */
  atomicBytes?: number;
  /** Compact while stored bytes exceed this × live bytes + `compactSlackBytes`. Default 2. */
  compactRatio?: number;
  /** See `compactRatio`. Default 8 MiB. */
  compactSlackBytes?: number;
  /** Live bytes compaction may move with each commit, at least. Default 1 MiB. */
  compactBytesPerCommit?: number;
}

/** The store on Deno KV, as `openKvStore` returns it. */
export interface KvStore extends Store {
  /**
   * For tests: the next `count` commits fail with `error` just before their last atomic (the
   * one with the header), as a full disk would fail them.
   */
  failCommits(count: number, error: Error): void;
}

/** Head segments one commit may delete (each is a delete in the commit's last atomic). */
const MAX_DROPS_PER_COMMIT = 200;
/** Leftover deletes one commit may carry. */
const MAX_GARBAGE_PER_COMMIT = 1000;
/** Room an atomic needs beside one chunk: keys, a header, the deletes of dropped heads. */
const ATOMIC_ROOM = 16 * 1024;

/**
 * Open (or create) the store in the Deno KV database at `path`, for this process alone.
 * Throws `StoreError` with a message for the user when it cannot.
 */
export async function openKvStore(path: string, options: KvStoreOptions = {}): Promise<KvStore> {
  const settings = settingsOf(options);
  const { kv, lock } = await openDatabase(path, settings.allowEmpty);
  return new SegmentStore(path, kv, lock, settings);
}

type Settings = Required<KvStoreOptions>;

function settingsOf(options: KvStoreOptions): Settings {
  const settings: Settings = {
    allowEmpty: false,
    chunkBytes: 60_000,
    atomicBytes: 800_000,
    compactRatio: 2,
    compactSlackBytes: 32 * 1024 * 1024,
    compactBytesPerCommit: 1024 * 1024,
    ...options,
  };
  const { chunkBytes, atomicBytes, compactRatio, compactSlackBytes } = settings;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > KV_MAX_VALUE_BYTES) {
    throw new RangeError(`chunkBytes must be 1-${KV_MAX_VALUE_BYTES}, not ${chunkBytes}`);
  }
  const least = chunkBytes + ATOMIC_ROOM;
  if (!(atomicBytes >= least && atomicBytes <= KV_MAX_ATOMIC_BYTES)) {
    throw new RangeError(`atomicBytes must be ${least}-${KV_MAX_ATOMIC_BYTES}, not ${atomicBytes}`);
  }
  if (!(compactRatio >= 1) || !(compactSlackBytes >= 0)) {
    throw new RangeError("compactRatio must be at least 1 and compactSlackBytes at least 0");
  }
  return settings;
}

/** A commit's changes, encoded when `commit` was called. */
interface Batch {
  /** The segment's stream so far (compaction may add to it). */
  writer: SegmentWriter;
  /** Keys written, in order. */
  keys: string[];
  /** Each key's record size, or -1 for a delete. */
  sizes: number[];
}

/** The log-structured store described above; made by `openKvStore`. */
class SegmentStore implements KvStore {
  readonly location: string;
  readonly #kv: Deno.Kv;
  readonly #lock: Deno.FsFile;
  readonly #settings: Settings;
  #index = new KvIndex();
  #compactor: Compactor;
  #nextSegment = 1;
  #loaded = false;
  #closed = false;
  #tail: Promise<unknown> = Promise.resolve();
  /** Deletes of chunks whose segment is gone, for the next commits to carry. */
  #garbage: Mutation[] = [];
  #garbageBytes = 0;
  #failures: Error[] = [];
  #commits = 0;

  constructor(path: string, kv: Deno.Kv, lock: Deno.FsFile, settings: Settings) {
    this.location = path;
    this.#kv = kv;
    this.#lock = lock;
    this.#settings = settings;
    this.#compactor = this.#newCompactor();
  }

  load(): Promise<LoadedRecords> {
    if (this.#closed) return Promise.reject(new Error(`${this.location}: load after close`));
    return this.#enqueue(() => this.#load());
  }

  commit(changes: StoreChanges): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`${this.location}: commit after close`));
    const batch: Batch = {
      writer: new SegmentWriter(this.#settings.chunkBytes),
      keys: [],
      sizes: [],
    };
    try {
      for (const [key, value] of changes) {
        const size = batch.writer.add(key, value);
        batch.keys.push(key);
        batch.sizes.push(value === null ? -1 : size);
      }
    } catch (e) {
      return this.#enqueue(() => Promise.reject(e));
    }
    return this.#enqueue(() => this.#apply(batch));
  }

  failCommits(count: number, error: Error): void {
    for (let i = 0; i < count; i++) this.#failures.push(error);
  }

  stats(): StoreStats {
    return {
      records: this.#index.records,
      liveBytes: this.#index.liveBytes,
      storedBytes: this.#index.storedBytes + this.#garbageBytes,
      commits: this.#commits,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail;
    this.#kv.close();
    this.#lock.close();
  }

  #newCompactor(): Compactor {
    const { compactRatio, compactSlackBytes, compactBytesPerCommit } = this.#settings;
    return new Compactor(this.#kv, this.#index, {
      ratio: compactRatio,
      slackBytes: compactSlackBytes,
      bytesPerCommit: compactBytesPerCommit,
    });
  }

  /** Run `job` after everything queued before it, whatever became of that. */
  #enqueue<T>(job: () => Promise<T>): Promise<T> {
    const done = this.#tail.then(job);
    this.#tail = done.catch(() => {});
    return done;
  }

  async #load(): Promise<LoadedRecords> {
    this.#index = new KvIndex();
    this.#compactor = this.#newCompactor();
    const scan = await scanStore(this.#kv, this.#index);
    await deleteKeys(this.#kv, scan.orphans, this.#settings.atomicBytes);
    this.#garbage = [];
    this.#garbageBytes = 0;
    this.#nextSegment = Math.max(this.#nextSegment, scan.lastSegment + 1);
    this.#loaded = true;
    return { records: scan.records, problems: scan.problems };
  }

  async #apply(batch: Batch): Promise<void> {
    if (!this.#loaded) throw new Error(`${this.location}: load() must come before commit()`);
    const { writer, keys, sizes } = batch;
    const losses = countLosses(this.#index, keys);
    const moves = await this.#compactor.pick(losses, keys, writer.bytes);
    for (const entry of moves?.entries ?? []) {
      keys.push(entry.key);
      sizes.push(writer.add(entry.key, entry.value));
    }
    if (moves !== undefined && moves.entries.length > 0) {
      losses.set(moves.segNo, (losses.get(moves.segNo) ?? 0) + moves.entries.length);
    }
    const segNo = this.#nextSegment++;
    const { chunks, firstEntries } = writer.finish();
    const header = encodeHeader({
      chunks: chunks.length,
      bytes: writer.bytes,
      entries: keys.length,
      firstEntries,
    });
    const drops = deadHead(this.#index, losses, MAX_DROPS_PER_COMMIT);
    const garbage = this.#garbage.splice(0, MAX_GARBAGE_PER_COMMIT);
    const plan = planAtomics(
      [...garbage, ...chunks.map((chunk, i) => setMutation(chunkKey(segNo, i), chunk))],
      [setMutation(headerKey(segNo), header), ...drops.map((n) => deleteMutation(headerKey(n)))],
      drops.flatMap((n) => this.#chunkDeletes(n)),
      this.#settings.atomicBytes,
    );
    const written = await this.#write(segNo, plan.atomics);
    if (written !== true) {
      this.#garbage.unshift(...garbage);
      if (written.headerAbsent) {
        this.#discard(segNo, chunks, plan.atomics.slice(0, written.atomics));
      }
      throw written.error;
    }
    this.#index.addSegment(segNo, { chunks: chunks.length, bytes: writer.bytes, puts: 0 });
    for (let i = 0; i < keys.length; i++) {
      if (sizes[i] < 0) this.#index.remove(keys[i]);
      else this.#index.put(keys[i], segNo, sizes[i]);
    }
    for (const n of drops) this.#index.dropSegment(n);
    for (const m of garbage) this.#garbageBytes -= m.frees ?? 0;
    this.#queueGarbage(plan.leftover);
    this.#compactor.committed(moves);
    this.#commits++;
  }

  /**
   * Commit `atomics` in order. Returns true when the segment is stored; else the error to
   * reject with, how many atomics went through, and whether the header is known to be absent.
   */
  async #write(
    segNo: number,
    atomics: Mutation[][],
  ): Promise<true | { error: Error; atomics: number; headerAbsent: boolean }> {
    let done = 0;
    try {
      for (; done < atomics.length; done++) {
        const failure = done === atomics.length - 1 ? this.#failures.shift() : undefined;
        if (failure !== undefined) throw failure;
        await commitAtomic(this.#kv, atomics[done]);
      }
      return true;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      const error = new Error(
        `${this.location}: commit failed, nothing of it was stored (writing segment ${segNo}, ` +
          `atomic ${done + 1} of ${atomics.length}): ${why}`,
        { cause: e },
      );
      // The last atomic may have landed even though it reported an error: look.
      let header;
      try {
        header = await this.#kv.get(headerKey(segNo));
      } catch {
        return { error, atomics: done, headerAbsent: false };
      }
      if (header.versionstamp !== null) return true;
      return { error, atomics: done, headerAbsent: true };
    }
  }

  /**
   * Queue deletes of the chunks of a failed commit, whose header is known to be absent. The
   * bytes of those set by the `landed` atomics count as stored until then.
   */
  #discard(segNo: number, chunks: Uint8Array[], landed: Mutation[][]): void {
    // Chunks are set in order, so the landed ones are the first.
    const stored = landed.flat().filter((m) => m.value !== undefined).length;
    this.#queueGarbage(
      chunks.map((chunk, i) => deleteMutation(chunkKey(segNo, i), i < stored ? chunk.length : 0)),
    );
  }

  /** Deletes of segment `segNo`'s chunks, the whole segment's bytes freed by the last. */
  #chunkDeletes(segNo: number): Mutation[] {
    const info = this.#index.segments.get(segNo)!;
    return Array.from(
      { length: info.chunks },
      (_, i) => deleteMutation(chunkKey(segNo, i), i === info.chunks - 1 ? info.bytes : 0),
    );
  }

  #queueGarbage(deletes: Mutation[]): void {
    for (const m of deletes) {
      this.#garbage.push(m);
      this.#garbageBytes += m.frees ?? 0;
    }
  }
}
