/**
 * The broker's memory: `memory_limit`, and giving memory back to the system once retained
 * messages have been cleared.
 *
 * The figure compared with `memory_limit` is the JavaScript heap in use plus the memory held
 * outside it by ArrayBuffers (payloads, buffers): what the broker has allocated, as Mosquitto
 * counts its own allocations. It falls as soon as freed memory is collected, where the resident
 * size (VmRSS) stays high until the allocator hands pages back, and includes the runtime's own
 * 20-40 MiB. Reading it costs about 20 µs, so it is sampled by the broker's sweep, and the
 * payload bytes accepted since the last sample are counted on top of it (`headroom`): a burst
 * between two samples is caught. A message is refused only while the figure, counted so, is
 * over the limit.
 *
 * Freed memory does not go back to the system by itself: V8 collects garbage only when a
 * program allocates, so an idle broker keeps what it freed, and the C allocator keeps the
 * freed payload buffers in its arenas. `reclaimMemory` collects and trims both.
 *
 * @module
 */

import type { Logger } from "../log/logger.ts";

/** Retained payload bytes freed (since their peak) that are worth a reclaim. */
export const RECLAIM_AFTER_BYTES = 32 * 1024 * 1024;
/** Shortest time between two reclaims made because the limit was reached (ms). */
const RECLAIM_OVER_LIMIT_EVERY_MS = 10_000;

/** Bytes the broker holds: heap in use plus ArrayBuffer memory outside the heap. */
export function heapAndExternal(): number {
  const usage = Deno.memoryUsage();
  return usage.heapUsed + usage.external;
}

let collectGarbage: (() => void) | undefined;

/**
 * Run a full garbage collection, then have the C allocator return its free pages to the
 * system (glibc's `malloc_trim`; skipped where there is none or FFI is not allowed). Blocks
 * for about 1 ms per MiB collected: call it rarely. Until `loadCollector` has finished (it
 * loads `node:v8` and `node:vm`, a few MiB a broker that never reclaims does not spend), the
 * collection waits for it; after, it runs at once.
 */
export function reclaimMemory(): void | Promise<void> {
  if (collectGarbage === undefined) return loadCollector().then(reclaimMemory);
  collectGarbage();
  trimAllocator();
}

/** Make V8's full collection callable (once). */
export async function loadCollector(): Promise<void> {
  if (collectGarbage !== undefined) return;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) {
    collectGarbage = exposed;
    return;
  }
  const [{ setFlagsFromString }, { runInNewContext }] = await Promise.all([
    import("node:v8"),
    import("node:vm"),
  ]);
  // The flag exposes `gc` in contexts created after it is set.
  setFlagsFromString("--expose-gc");
  collectGarbage ??= runInNewContext("gc") as () => void;
}

/** glibc's `malloc_trim(0)`, the library opened for the call only (reclaims are rare). */
function trimAllocator(): void {
  if (Deno.build.os !== "linux") return;
  let libc;
  try {
    libc = Deno.dlopen("libc.so.6", { malloc_trim: { parameters: ["usize"], result: "i32" } });
  } catch {
    return; // no glibc, or no FFI permission
  }
  try {
    libc.symbols.malloc_trim(0n);
  } finally {
    libc.close();
  }
}

/** How a `MemoryWatch` reads memory and gives it back (replaceable in tests). */
export interface MemoryProbe {
  /** The figure `memory_limit` is compared with, in bytes. */
  read(): number;
  /** Give freed memory back to the system. */
  reclaim(): void;
  /** Get ready to reclaim at once (called when a limit is first seen). */
  prepare?(): void;
}

const PROCESS_PROBE: MemoryProbe = {
  read: heapAndExternal,
  // One that fails leaves memory as it was.
  reclaim: () => void Promise.resolve(reclaimMemory()).catch(() => {}),
  prepare: () => void loadCollector().catch(() => {}),
};

/** What the broker's sweep tells the watch. */
export interface MemoryState {
  /** `memory_limit` in force; 0 = no limit. */
  limit: number;
  /** Payload bytes of the retained messages now. */
  retainedBytes: number;
  /** The current time (ms). */
  now: number;
  /** Where the watch logs. */
  log: Logger;
}

/** Follows the broker's memory against `memory_limit`, and gives memory back. */
export class MemoryWatch {
  /**
   * Payload bytes that may still be accepted before the next sample; negative when over the
   * limit; Infinity without one. The PUBLISH handler subtracts each payload it accepts.
   */
  headroom = Infinity;
  /** The last figure read (bytes); 0 while there is no limit. */
  used = 0;
  /** PUBLISH packets refused because the limit was reached, since the broker started. */
  refused = 0;
  /** CONNECTs refused because the limit was reached, since the broker started. */
  connectsRefused = 0;
  #probe: MemoryProbe;
  /** Whether the last sample was over the limit. */
  #over = false;
  /** Clients whose refusal was logged since the memory went over the limit. */
  #logged = new Set<string>();
  /** The most retained bytes since the last reclaim, and at the last check. */
  #retainedPeak = 0;
  #retainedBefore = 0;
  #lastOverLimitReclaim = -Infinity;
  /** Whether a limit was seen: the first reclaim loads what it needs, ahead of need. */
  #limitSeen = false;

  /** A watch reading this process (or `probe`). */
  constructor(probe: MemoryProbe = PROCESS_PROBE) {
    this.#probe = probe;
  }

  /** Sample memory against the limit, and reclaim what cleared retained messages freed. */
  check(state: MemoryState): void {
    this.#reclaimAfterClearing(state.retainedBytes);
    if (state.limit === 0) {
      this.headroom = Infinity;
      this.used = 0;
      this.#under(state.log);
      return;
    }
    if (!this.#limitSeen) {
      this.#limitSeen = true;
      this.#probe.prepare?.(); // so that a reclaim over the limit collects at once
    }
    let used = this.#probe.read();
    if (
      used > state.limit && state.now - this.#lastOverLimitReclaim >= RECLAIM_OVER_LIMIT_EVERY_MS
    ) {
      // Garbage not yet collected counts until it is: collect it before refusing anything.
      this.#lastOverLimitReclaim = state.now;
      this.#probe.reclaim();
      used = this.#probe.read();
    }
    this.used = used;
    this.headroom = state.limit - used;
    if (used > state.limit) {
      if (!this.#over) {
        this.#over = true;
        state.log.warning(
          `memory_limit of ${state.limit} bytes reached (${used} in use); ` +
            "refusing PUBLISH packets and new connections.",
        );
      }
    } else this.#under(state.log);
  }

  /** Whether the limit is reached: new work is refused. */
  get over(): boolean {
    return this.headroom < 0;
  }

  /**
   * Count a PUBLISH refused for lack of memory; returns whether to log it (the first refusal of
   * `clientId` since the memory went over the limit).
   */
  refuse(clientId: string): boolean {
    this.refused++;
    if (this.#logged.has(clientId)) return false;
    this.#logged.add(clientId);
    return true;
  }

  /** Under the limit (or none): the next refusal of any client is logged again. */
  #under(log: Logger): void {
    this.#logged.clear();
    if (!this.#over) return;
    this.#over = false;
    log.notice(`Memory back under memory_limit (${this.used} bytes in use).`);
  }

  /** Reclaim once retained messages were cleared, when the clearing has paused for a sweep. */
  #reclaimAfterClearing(retainedBytes: number): void {
    const falling = retainedBytes < this.#retainedBefore;
    this.#retainedBefore = retainedBytes;
    if (retainedBytes > this.#retainedPeak) this.#retainedPeak = retainedBytes;
    if (!falling && this.#retainedPeak - retainedBytes >= RECLAIM_AFTER_BYTES) {
      this.#probe.reclaim();
      this.#retainedPeak = retainedBytes;
    }
  }
}
