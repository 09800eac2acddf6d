/**
 * A store that lives in memory: for tests, and wherever nothing has to survive the process.
 * It keeps the whole `Store` contract (tests/store/contract.ts), including its timing: a commit
 * copies its values when called and applies them later, in call order, never synchronously.
 * A restart is simulated by opening a second `MemoryStore` over the same `MemoryStoreData`.
 *
 * @module
 */

import type { LoadedRecords, Store, StoreChanges, StoreStats } from "./store.ts";

/** The records a `MemoryStore` holds; share one between instances to simulate a restart. */
export type MemoryStoreData = Map<string, Uint8Array>;

const encoder = new TextEncoder();

/** A `Store` backed by a `Map`, with a switch to make commits fail (for tests). */
export class MemoryStore implements Store {
  /** Always "memory". */
  readonly location = "memory";
  readonly #data: MemoryStoreData;
  #tail: Promise<unknown> = Promise.resolve();
  /** Errors the next commits fail with, in call order. */
  #failures: Error[] = [];
  #commits = 0;
  #closed = false;

  /** A store over `data` (new and empty when not given). */
  constructor(data: MemoryStoreData = new Map()) {
    this.#data = data;
  }

  /** Every live record (copies), once the commits called before are applied. */
  load(): Promise<LoadedRecords> {
    return this.#enqueue(() => {
      const records = new Map<string, Uint8Array>();
      for (const [key, value] of this.#data) records.set(key, value.slice());
      return { records, problems: [] };
    });
  }

  /** Apply `changes` after the commits called before; the values are copied now. */
  commit(changes: StoreChanges): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("memory store: commit after close"));
    const failure = this.#failures.shift();
    if (failure !== undefined) return this.#enqueue(() => Promise.reject(failure));
    const copy = new Map<string, Uint8Array | null>();
    for (const [key, value] of changes) copy.set(key, value === null ? null : value.slice());
    return this.#enqueue(() => {
      for (const [key, value] of copy) {
        if (value === null) this.#data.delete(key);
        else this.#data.set(key, value);
      }
      this.#commits++;
    });
  }

  /** For tests: the next `count` commits reject with `error` and change nothing. */
  failCommits(count: number, error: Error): void {
    for (let i = 0; i < count; i++) this.#failures.push(error);
  }

  /** Counts as of now; a store in memory holds exactly its live bytes. */
  stats(): StoreStats {
    let liveBytes = 0;
    for (const [key, value] of this.#data) liveBytes += encoder.encode(key).length + value.length;
    return {
      records: this.#data.size,
      liveBytes,
      storedBytes: liveBytes,
      commits: this.#commits,
    };
  }

  /** Wait for the commits called so far; later commits reject. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#tail;
  }

  /** Run `job` after everything called before it, whatever became of that. */
  #enqueue<T>(job: () => T | Promise<T>): Promise<T> {
    const done = this.#tail.then(job);
    this.#tail = done.catch(() => {});
    return done;
  }
}
