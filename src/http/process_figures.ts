/**
 * The process's own figures, read when `/metrics` is scraped and exposed under Prometheus'
 * standard `process_*` names. On Linux with read access to `/proc` (Deno asks for
 * `--allow-all` there) they come from `/proc/self`; elsewhere, or with narrower permissions,
 * from what Deno knows without any: resident memory, CPU time and the start time, and the
 * figures only `/proc` gives are left out.
 *
 * @module
 */

import process from "node:process";
import { readDescriptorLimit } from "../transport/connection_gate.ts";

/** The `process_*` figures of this process; undefined where they cannot be read. */
export interface ProcessFigures {
  /** Resident memory (bytes). */
  residentBytes: number;
  /** Virtual memory (bytes). */
  virtualBytes: number | undefined;
  /** User and system CPU time (seconds). */
  cpuSeconds: number;
  /** When the process started (seconds since the epoch). */
  startTimeSeconds: number;
  /** Open file descriptors. */
  openFds: number | undefined;
  /** The soft limit on open file descriptors. */
  maxFds: number | undefined;
}

/** Clock ticks per second in `/proc` times (`USER_HZ`: 100 on every Linux architecture). */
const USER_HZ = 100;

/** The fields of `/proc/self/stat` read here, counted from the state field after the name. */
const STAT_FIELDS = { utime: 11, stime: 12, starttime: 19, vsize: 20 } as const;

/** The text of a file, or undefined when it cannot be read (no such file, no permission). */
function readOr(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** The number of entries of `/proc/self/fd`, or undefined. */
function countOpenFds(): number | undefined {
  try {
    let count = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) count++;
    return count;
  } catch {
    return undefined;
  }
}

/** The figures `/proc/self/stat` and `/proc/stat` give, or undefined without them. */
function fromProcStat():
  | { cpuSeconds: number; startTimeSeconds: number; virtualBytes: number }
  | undefined {
  const stat = readOr("/proc/self/stat");
  const bootTime = /^btime (\d+)$/m.exec(readOr("/proc/stat") ?? "")?.[1];
  if (stat === undefined || bootTime === undefined) return undefined;
  // The name (field 2) is in parentheses and may hold spaces: the fields start after its ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const field = (index: number) => Number(fields[index]);
  return {
    cpuSeconds: (field(STAT_FIELDS.utime) + field(STAT_FIELDS.stime)) / USER_HZ,
    startTimeSeconds: Number(bootTime) + field(STAT_FIELDS.starttime) / USER_HZ,
    virtualBytes: field(STAT_FIELDS.vsize),
  };
}

/** Read this process's figures now (a few small files on Linux). */
export function readProcessFigures(): ProcessFigures {
  const residentBytes = Deno.memoryUsage().rss;
  const stat = fromProcStat();
  if (stat === undefined) {
    const { user, system } = process.cpuUsage();
    return {
      residentBytes,
      virtualBytes: undefined,
      cpuSeconds: (user + system) / 1e6,
      startTimeSeconds: performance.timeOrigin / 1000,
      openFds: undefined,
      maxFds: undefined,
    };
  }
  return { residentBytes, ...stat, openFds: countOpenFds(), maxFds: readDescriptorLimit() };
}
