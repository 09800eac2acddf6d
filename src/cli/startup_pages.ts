/**
 * Giving back the pages of program files that only start-up read. Deno's binary is about
 * 95 MiB; starting the runtime and loading Midge touch some 35 MiB of it (V8's snapshot, ICU
 * data, start-up code), and those pages stay in the process's resident set although the
 * broker never reads most of them again: more than half of an idle broker's RSS. Once the
 * broker runs, every read-only mapping of a file that has no modified page is
 * advised `MADV_DONTNEED`: the pages leave the resident set and the page cache keeps them, so
 * a page used again comes back with a minor fault, read from memory, not from disk.
 *
 * Only clean pages are given back: a read-only mapping with a modified page (the relocations
 * of a shared library, written at load and then made read-only) is left alone, as advising it
 * would bring back the file's bytes in place of the changed ones. A shared read-only mapping
 * (Deno's module caches, mapped by SQLite) always shows the file as it is, so it qualifies
 * too. Linux only, and only with `--allow-ffi` (madvise is reached through libc) and read
 * access to `/proc/self/smaps`; otherwise nothing happens.
 *
 * @module
 */

import type { Logger } from "../log/logger.ts";

/**
 * How long after "running" the pages are given back: the first seconds still run code once
 * (the first garbage collections, timers, signal set-up), which would fault its pages back.
 */
export const SETTLE_MS = 2000;

/** madvise(2) advice: drop the pages from the resident set (Linux, every architecture). */
const MADV_DONTNEED = 4;

/** One mapping of `/proc/self/smaps` that may be given back. */
export interface CleanMapping {
  /** First address. */
  start: bigint;
  /** Address past the end. */
  end: bigint;
  /** Resident bytes. */
  residentBytes: number;
}

/** What `releaseStartupPages` gave back. */
export interface ReleasedPages {
  /** Mappings advised. */
  mappings: number;
  /** Bytes they held resident before. */
  bytes: number;
}

/**
 * The mappings of a `/proc/PID/smaps` text that hold only clean pages of a file: not
 * writable, backed by a file (a path), and without an anonymous (copied-on-write) page.
 */
export function cleanFileMappings(smaps: string): CleanMapping[] {
  const found: CleanMapping[] = [];
  for (const block of smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ (\d+) +(.*)/.exec(block);
    if (head === null) continue;
    const [, start, end, perms, inode, path] = head;
    if (perms[1] === "w" || inode === "0" || !path.startsWith("/")) continue;
    const anonymous = /\nAnonymous: +(\d+) kB/.exec(block);
    const resident = /\nRss: +(\d+) kB/.exec(block);
    if (anonymous === null || anonymous[1] !== "0" || resident === null) continue;
    if (resident[1] === "0") continue;
    found.push({
      start: BigInt(`0x${start}`),
      end: BigInt(`0x${end}`),
      residentBytes: Number(resident[1]) * 1024,
    });
  }
  return found;
}

/** Whether this process may give pages back: Linux, `--allow-ffi`, `/proc/self` readable. */
function mayRelease(): boolean {
  if (Deno.build.os !== "linux") return false;
  const asked = [{ name: "ffi" }, { name: "read", path: "/proc/self/smaps" }] as const;
  return asked.every((p) => Deno.permissions.querySync(p).state === "granted");
}

/**
 * Give back the clean pages of program files (see the module comment); undefined when this
 * process may not (not Linux, no `--allow-ffi` or no read access to `/proc/self`) or libc
 * cannot be opened.
 */
export function releaseStartupPages(): ReleasedPages | undefined {
  if (!mayRelease()) return undefined;
  let libc;
  try {
    libc = Deno.dlopen(
      "libc.so.6",
      {
        madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
      } as const,
    );
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    return undefined; // not glibc
  }
  try {
    const released: ReleasedPages = { mappings: 0, bytes: 0 };
    for (const m of cleanFileMappings(Deno.readTextFileSync("/proc/self/smaps"))) {
      const at = Deno.UnsafePointer.create(m.start);
      if (libc.symbols.madvise(at, m.end - m.start, MADV_DONTNEED) !== 0) continue;
      released.mappings++;
      released.bytes += m.residentBytes;
    }
    return released;
  } finally {
    libc.close();
  }
}

/**
 * Give back the pages start-up read once it has settled (`SETTLE_MS`), noting it in the debug
 * log; the timer does not keep the process alive. Returns a function that cancels it.
 */
export function releaseStartupPagesSoon(log: Logger): () => void {
  const timer = setTimeout(() => {
    const released = releaseStartupPages();
    if (released === undefined) return;
    log.debug(
      `Gave back ${(released.bytes / 1048576).toFixed(1)} MiB of program pages start-up ` +
        `read (${released.mappings} mappings).`,
    );
  }, SETTLE_MS);
  Deno.unrefTimer(timer);
  return () => clearTimeout(timer);
}
