/**
 * The store: where the broker keeps what must survive a restart (sessions, their queues and
 * in-flight state, retained messages). A store holds opaque records, each a short string key
 * and bytes; what the records mean is `records.ts`'s business. Two implementations keep the
 * same contract (tests/store/contract.ts): `MemoryStore` (tests) and `KvStore` (Deno KV,
 * `persistence true`).
 *
 * @module
 */

/** Changes to apply together: each key's new bytes, or null to delete the record. */
export type StoreChanges = ReadonlyMap<string, Uint8Array | null>;

/** A piece of the store that could not be read, and so was left out of `load`. */
export interface StoreProblem {
  /** The key (or KV key, printed) of what could not be read. */
  key: string;
  /** Why, in a few words. */
  why: string;
  /**
   * Records lost with it, by key: their last change cannot be read and no later commit
   * replaced them, so `load` leaves them out (an older value of theirs too).
   */
  lost: string[];
  /** Records lost with it whose keys cannot be read either (at least this many). */
  unreadable: number;
}

/** What `load` found. */
export interface LoadedRecords {
  /** Every live record, by key. */
  records: Map<string, Uint8Array>;
  /** What was skipped, each with its key and the reason. */
  problems: StoreProblem[];
}

/** Counts for logs and `$SYS`. */
export interface StoreStats {
  /** Live records. */
  records: number;
  /** Bytes of live keys and values. */
  liveBytes: number;
  /** Bytes the store holds, live or not yet reclaimed. */
  storedBytes: number;
  /** Commits since the store was opened. */
  commits: number;
}

/** A durable map of records. */
export interface Store {
  /** Where the data lives, for log lines: "memory" or the database file. */
  readonly location: string;
  /** Every live record. Called once, before the first commit. */
  load(): Promise<LoadedRecords>;
  /**
   * Apply `changes` atomically: after a crash at any point, `load` sees all of them or none.
   * Resolves once they are durable (on disk for Deno KV); rejects, with the store unchanged,
   * when they cannot be stored. Calls may overlap: commits apply in call order.
   */
  commit(changes: StoreChanges): Promise<void>;
  /** Counts as of now. */
  stats(): StoreStats;
  /** Wait for commits in progress, then release the store. */
  close(): Promise<void>;
}

/**
 * Why a store could not be opened, in words a user can act on (the directory is missing, the
 * file is not a Midge store, another process holds it, ...).
 */
export class StoreError extends Error {
  /** An error whose `message` is shown to the user as it is. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreError";
  }
}
