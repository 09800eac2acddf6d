/**
 * Two connected `Conn`s in memory, no socket: what one writes the other reads. For tests of
 * the broker and the client without the network. Each direction holds at most `capacity`
 * bytes: a write takes what fits and waits while nothing does, as a socket's does when the
 * peer does not read.
 *
 * @module
 */

import { takeChunks } from "./chunks.ts";
import type { Conn } from "./conn.ts";

/** Bytes one side may have written that the other has not read, by default. */
const DEFAULT_CAPACITY = 64 * 1024;

/** How a pair is made. */
export interface MemoryPairOptions {
  /** Bytes each direction holds before writes wait (default 64 KiB). */
  capacity?: number;
}

/** One direction of a pair: what one side wrote and the other has not read yet. */
class Pipe {
  readonly capacity: number;
  /** Bytes waiting to be read. */
  buffered = 0;
  /** The writing side has closed: once drained, reads see the end of the stream. */
  writerClosed = false;
  /** The reading side has closed: writes fail, and what was buffered is dropped. */
  readerClosed = false;
  #chunks: Uint8Array[] = [];
  #waiters: (() => void)[] = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Resolves at the next change: bytes written or read, a side closed. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Wake whoever waits on this direction. */
  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Append a copy of `data` (the writer may reuse its buffer). */
  put(data: Uint8Array): number {
    this.#chunks.push(data.slice());
    this.buffered += data.length;
    this.notify();
    return data.length;
  }

  /** Move up to `buf.length` buffered bytes into `buf`. */
  take(buf: Uint8Array): number {
    const n = takeChunks(this.#chunks, buf);
    this.buffered -= n;
    this.notify();
    return n;
  }

  /** Drop what is buffered (its reader has gone). */
  discard(): void {
    this.#chunks = [];
    this.buffered = 0;
  }
}

/** One end of a pair. */
class MemoryConn implements Conn {
  readonly remoteAddr: Deno.NetAddr;
  #in: Pipe;
  #out: Pipe;
  #closed = false;

  constructor(inbound: Pipe, outbound: Pipe, remoteAddr: Deno.NetAddr) {
    this.#in = inbound;
    this.#out = outbound;
    this.remoteAddr = remoteAddr;
  }

  async read(buf: Uint8Array): Promise<number | null> {
    if (this.#closed) throw new Deno.errors.BadResource("the connection is closed");
    while (this.#in.buffered === 0) {
      if (this.#in.writerClosed) return null;
      await this.#in.changed();
      if (this.#closed) return null; // closed while the read waited
    }
    return this.#in.take(buf);
  }

  async write(data: Uint8Array): Promise<number> {
    for (;;) {
      if (this.#closed) throw new Deno.errors.BadResource("the connection is closed");
      if (this.#out.readerClosed) {
        throw new Deno.errors.BrokenPipe("the peer closed the connection");
      }
      if (data.length === 0) return 0;
      const room = this.#out.capacity - this.#out.buffered;
      if (room > 0) return this.#out.put(room < data.length ? data.subarray(0, room) : data);
      await this.#out.changed();
    }
  }

  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("the connection is closed");
    this.#closed = true;
    this.#out.writerClosed = true;
    this.#out.notify();
    this.#in.readerClosed = true;
    this.#in.discard();
    this.#in.notify();
  }
}

/**
 * Two connected ends. What one writes the other reads, in order; after one closes, the other
 * reads what was written before the close and then null, and its writes throw `BrokenPipe`.
 * An end's own calls after its close throw `BadResource`, as a closed `Deno.Conn`'s do; a
 * read waiting when its own end closes resolves to null. Each end's `remoteAddr` names the
 * other: "memory" port 1 for the first, port 2 for the second.
 */
export function memoryPair(options: MemoryPairOptions = {}): [Conn, Conn] {
  const capacity = options.capacity ?? DEFAULT_CAPACITY;
  if (!(capacity >= 1)) throw new RangeError(`capacity must be at least 1 byte, not ${capacity}`);
  const aToB = new Pipe(capacity);
  const bToA = new Pipe(capacity);
  const address = (port: number): Deno.NetAddr => ({ transport: "tcp", hostname: "memory", port });
  return [new MemoryConn(bToA, aToB, address(2)), new MemoryConn(aToB, bToA, address(1))];
}
