/**
 * A connection's output: packets are appended during a turn of the event loop and written with
 * one `write()` loop at the end of it (DESIGN.md, performance rules). Two buffers take turns:
 * one is being written while the other collects.
 *
 * @module
 */

import type { Conn } from "./conn.ts";

/** First buffer size; buffers are allocated on first use, so idle connections hold none. */
const INITIAL_SIZE = 1024;

const EMPTY = new Uint8Array(0);
const EMPTY_WAITERS: (() => void)[] = [];

/** What the queue writes to: the write side of a connection. */
export type Writable = Pick<Conn, "write">;

/** Who is told when a write fails (the broker's connection, the client). */
export interface OutputOwner {
  /** A write failed: the socket is gone. */
  outputFailed(error: unknown): void;
}

/** Queues with output collected this turn, written by one microtask for all of them. */
let flushQueue: OutQueue[] = [];

function scheduleFlush(queue: OutQueue): void {
  if (flushQueue.length === 0) queueMicrotask(flushScheduled);
  flushQueue.push(queue);
}

function flushScheduled(): void {
  const queues = flushQueue;
  flushQueue = [];
  for (const queue of queues) queue.flush();
}

/** Buffered, batched writes to one connection. */
export class OutQueue {
  #sink: Writable;
  #collect: Uint8Array = EMPTY;
  #collected = 0;
  #spare: Uint8Array = EMPTY;
  #writing = 0;
  #scheduled = false;
  #failed = false;
  #drainWaiters: (() => void)[] = EMPTY_WAITERS;
  #owner: OutputOwner;
  #flushedSinceTrim = false;
  #held = false;
  /** Total bytes written to the sink. */
  bytesWritten = 0;

  /** Write to `sink`; `owner` hears of a failed write (the queue then drops everything). */
  constructor(sink: Writable, owner: OutputOwner) {
    this.#sink = sink;
    this.#owner = owner;
  }

  /** Bytes appended but not yet written. */
  get pendingBytes(): number {
    return this.#collected + this.#writing;
  }

  /** Reserve `length` bytes at the end of the batch; returns the buffer and the offset. */
  #reserve(length: number): number {
    const need = this.#collected + length;
    if (need > this.#collect.length) {
      let size = Math.max(INITIAL_SIZE, this.#collect.length * 2);
      while (size < need) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#collect.subarray(0, this.#collected));
      this.#collect = grown;
    }
    const at = this.#collected;
    this.#collected = need;
    this.#schedule();
    return at;
  }

  /** Append a whole packet. */
  push(bytes: Uint8Array): void {
    if (this.#failed) return;
    const at = this.#reserve(bytes.length);
    this.#collect.set(bytes, at);
  }

  /**
   * Append a shared PUBLISH with its own packet id written at `packetIdOffset`, and the DUP
   * flag set when `dup`.
   */
  pushPublish(bytes: Uint8Array, packetIdOffset: number, packetId: number, dup: boolean): void {
    if (this.#failed) return;
    const at = this.#reserve(bytes.length);
    const buf = this.#collect;
    buf.set(bytes, at);
    if (packetIdOffset > 0) {
      buf[at + packetIdOffset] = packetId >> 8;
      buf[at + packetIdOffset + 1] = packetId & 0xff;
    }
    if (dup) buf[at] |= 0x08;
  }

  /**
   * Let the buffers go if nothing was written since the last call and nothing is pending, so
   * an idle connection holds none. The broker calls it every 250 ms: a busy connection
   * keeps its buffers (allocating them per write made the garbage collector work hard).
   */
  trimIfIdle(): void {
    if (this.#flushedSinceTrim) {
      this.#flushedSinceTrim = false;
      return;
    }
    if (this.pendingBytes === 0) {
      this.#collect = EMPTY;
      this.#spare = EMPTY;
    }
  }

  /** Resolves when everything appended so far has been written (or the sink failed). */
  drained(): Promise<void> {
    if (this.pendingBytes === 0 || this.#failed) return Promise.resolve();
    if (this.#drainWaiters === EMPTY_WAITERS) this.#drainWaiters = [];
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Stop writing: what is appended from now on (and what is not written yet) waits for
   * `release` (persistence holds a client's acknowledgements until they are true).
   */
  hold(): void {
    this.#held = true;
  }

  /** Write again what `hold` kept back. */
  release(): void {
    this.#held = false;
    if (this.#collected > 0) this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing > 0 || this.#held) return;
    this.#scheduled = true;
    scheduleFlush(this);
  }

  /** Write what has been collected (called once per turn by `flushScheduled`). */
  flush(): void {
    this.#scheduled = false;
    if (this.#held) return;
    this.#writeCollected();
  }

  #writeCollected(): void {
    if (this.#collected === 0 || this.#failed) return this.#idle();
    if (this.#held) {
      this.#writing = 0;
      return;
    }
    const data = this.#collect.subarray(0, this.#collected);
    this.#writing = data.length;
    // Swap: the spare buffer collects while this one is written.
    const written = this.#collect;
    this.#collect = this.#spare;
    this.#spare = written;
    this.#collected = 0;
    this.#writeFrom(data, 0);
  }

  /** Write `data` from `off` to the end, then go on with what was collected meanwhile. */
  #writeFrom(data: Uint8Array, off: number): void {
    this.#sink.write(off === 0 ? data : data.subarray(off)).then((n) => {
      if (off + n < data.length) {
        this.#writing -= n; // what the sink took is written, not pending
        return this.#writeFrom(data, off + n);
      }
      this.bytesWritten += data.length;
      this.#writing = 0;
      this.#writeCollected();
    }, (error) => {
      this.#failed = true;
      this.#collected = 0;
      this.#writing = 0;
      this.#owner.outputFailed(error);
      this.#idle();
    });
  }

  #idle(): void {
    this.#flushedSinceTrim = true;
    // Small buffers go at once (an idle connection holds none); grown ones stay until a
    // sweep finds them idle, as their connection is busy.
    if (this.#collected === 0 && this.#spare.length <= INITIAL_SIZE) {
      this.#collect = EMPTY;
      this.#spare = EMPTY;
    }
    if (this.#drainWaiters.length > 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = EMPTY_WAITERS;
      for (const resolve of waiters) resolve();
    }
  }
}
