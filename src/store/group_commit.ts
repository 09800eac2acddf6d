/**
 * Group commit: changes made during a turn of the event loop, and while the previous commit
 * is on its way to disk, go to the store together as one commit (DESIGN.md: Deno KV fsyncs
 * every commit). One commit is in flight at a time; batches are numbered, and whoever waits
 * for a change to be durable learns when its batch is done.
 *
 * A record created and deleted before its batch leaves (a message acknowledged by its
 * subscriber within the same few milliseconds) never reaches the store at all. A writer may
 * also keep such records itself and hand them over as the batch leaves (`seal`): records
 * changed several times in one batch are then encoded once, and deleted ones never.
 *
 * @module
 */

import type { Store } from "./store.ts";

/** Told when a batch is durable (`error` undefined) or could not be stored. */
export type BatchDone = (batch: number, error: Error | undefined) => void;

/**
 * When the last batch saw at least this many records created and deleted before it left
 * (messages to connected subscribers, acknowledged at once), the next batch gathers changes
 * for GATHER_MS before it leaves, so that more of them cancel out before they are written.
 * Otherwise (a quiet broker, or messages queued for clients that are away) it leaves at once.
 */
const GATHER_AFTER_CANCELS = 16;
/** How long a batch gathers changes when the broker is busy (ms). */
const GATHER_MS = 3;

/** How long after a failed commit its changes are tried again (ms). */
const RETRY_DELAY_MS = 1000;

/** Collects changes and commits them in batches. */
export class GroupCommit {
  readonly #store: Store;
  readonly #done: BatchDone;
  readonly #seal: (() => void) | undefined;
  /** Changes of the open batch: each key's new bytes, or null to delete. */
  #pending = new Map<string, Uint8Array | null>();
  /** Keys of the open batch that did not exist before it (a delete then cancels them). */
  #created = new Set<string>();
  /** Number of the batch collecting changes now. */
  #open = 1;
  /** Number of the batch being committed, or 0. */
  #inFlight = 0;
  #scheduled = false;
  /** Whether the open batch must be committed (it has changes, or someone waits on it). */
  #wanted = false;
  /** Records created and deleted in the open batch, and in the last one that left. */
  #cancels = 0;
  #lastCancels = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #idleWaiters: (() => void)[] = [];

  /**
   * Commit to `store`; `done` hears of every batch, in order; `seal`, called as a batch leaves,
   * may `put` the changes its caller kept aside (announced with `touch`).
   */
  constructor(store: Store, done: BatchDone, seal?: () => void) {
    this.#store = store;
    this.#done = done;
    this.#seal = seal;
  }

  /** Number of the batch that changes made now belong to. */
  get openBatch(): number {
    return this.#open;
  }

  /** Whether nothing waits to be committed and no commit is in flight. */
  get idle(): boolean {
    return this.#inFlight === 0 && this.#pending.size === 0 && !this.#wanted;
  }

  /** Changes waiting for a commit. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Set `key` to `value`; `created` says the record is new (never stored before). */
  put(key: string, value: Uint8Array, created: boolean): void {
    if (created && !this.#pending.has(key)) this.#created.add(key);
    this.#pending.set(key, value);
    this.#want();
  }

  /** Delete `key`. */
  delete(key: string): void {
    if (this.#created.delete(key)) {
      this.#pending.delete(key);
      this.#cancels++;
      return;
    }
    this.#pending.set(key, null);
    this.#want();
  }

  /** A change kept aside by the caller for `seal`: the open batch must leave. */
  touch(): void {
    this.#want();
  }

  /** A record kept aside by the caller was created and deleted within the open batch. */
  cancelled(): void {
    this.#cancels++;
  }

  /**
   * Close the open batch even if it holds no change, so that whoever waits on it is told
   * once everything before it is durable.
   */
  mark(): void {
    this.#want();
  }

  #want(): void {
    this.#wanted = true;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight !== 0 || this.#retryTimer !== undefined) return;
    this.#scheduled = true;
    if (this.#lastCancels >= GATHER_AFTER_CANCELS) {
      setTimeout(this.#commitScheduled, GATHER_MS);
    } else {
      queueMicrotask(this.#commitScheduled);
    }
  }

  #commitScheduled = (): void => {
    this.#scheduled = false;
    this.#commitOpen();
  };

  #commitOpen(): void {
    if (this.#inFlight !== 0) return;
    const batch = this.#open++;
    this.#inFlight = batch;
    this.#seal?.();
    this.#wanted = false;
    const changes = this.#pending;
    const created = this.#created;
    this.#pending = new Map();
    this.#created = new Set();
    this.#lastCancels = this.#cancels;
    this.#cancels = 0;
    const committed = changes.size > 0 ? this.#store.commit(changes) : Promise.resolve();
    committed.then(
      () => this.#finish(batch, undefined),
      (error) => {
        // Keep the changes: they go again with the next batch (newer changes win).
        for (const [key, value] of changes) {
          if (this.#pending.has(key)) continue;
          this.#pending.set(key, value);
          if (created.has(key)) this.#created.add(key);
        }
        this.#finish(batch, error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  #finish(batch: number, error: Error | undefined): void {
    this.#inFlight = 0;
    if (error !== undefined) {
      if (this.#closed) {
        this.#pending.clear(); // no retry after close: `done` reports the loss
        this.#created.clear();
      } else {
        this.#wanted = true;
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.#schedule();
        }, RETRY_DELAY_MS);
      }
    }
    try {
      this.#done(batch, error);
    } finally {
      if (this.#wanted) this.#schedule();
      if (this.idle) this.#wakeIdle();
    }
  }

  #wakeIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Resolve once every change made so far is committed (or its commit failed and no retry is
   * left: after `close`).
   */
  flush(): Promise<void> {
    if (this.idle) return Promise.resolve();
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      this.#schedule();
    }
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Commit what is pending (one attempt), then stop retrying. */
  async close(): Promise<void> {
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      this.#schedule();
    }
    this.#closed = true;
    if (!this.idle) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }
}
