/**
 * What the generator reads from /proc: a process's resident memory and CPU time, and the
 * machine's CPU time, so a result can say how busy the broker, the generator and everything
 * else were (this machine is shared: other processes' CPU is the noise indicator).
 *
 * @module
 */

/** Clock ticks per second of /proc/PID/stat and /proc/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** A field of /proc/PID/status in kB (`VmRSS`, `VmHWM`), or undefined if unreadable. */
export function procStatusKb(pid: number | "self", field: string): number | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system, all threads) a process has used, or undefined. */
export function processCpuSeconds(pid: number | "self"): number | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name (which may contain spaces) start at state (field 3).
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Machine-wide CPU seconds: busy (not idle or iowait) and softirq, summed over cores. */
export interface MachineCpu {
  /** Busy seconds over all cores. */
  busy: number;
  /** Softirq seconds over all cores (loopback TCP work is charged to no process). */
  softirq: number;
  /** Busy seconds of each core (cpu0, cpu1, ...). */
  perCore: number[];
}

function busySeconds(line: string): { busy: number; softirq: number } {
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] || 0);
  return { busy: busy / TICKS_PER_SECOND, softirq: v[6] / TICKS_PER_SECOND };
}

/** Read /proc/stat's cpu lines. */
export function machineCpu(): MachineCpu {
  try {
    const lines = Deno.readTextFileSync("/proc/stat").split("\n");
    const total = busySeconds(lines[0]);
    const perCore = lines.filter((l) => /^cpu\d+ /.test(l)).map((l) => busySeconds(l).busy);
    return { ...total, perCore };
  } catch {
    return { busy: 0, softirq: 0, perCore: [] };
  }
}

/** One sample of the counters a run compares before and after. */
export interface CpuSample {
  /** performance.now() in ms. */
  atMs: number;
  /** Broker CPU seconds. */
  broker: number | undefined;
  /** This process's CPU seconds. */
  own: number | undefined;
  /** The whole machine. */
  machine: MachineCpu;
}

/** Sample the broker (`brokerPid`, if any), this process and the machine. */
export function sampleCpu(brokerPid: number | undefined): CpuSample {
  return {
    atMs: performance.now(),
    broker: brokerPid !== undefined ? processCpuSeconds(brokerPid) : undefined,
    own: processCpuSeconds("self"),
    machine: machineCpu(),
  };
}

/** CPU use between two samples, each in % of one core. */
export interface CpuUse {
  /** The broker process. */
  brokerPct: number | undefined;
  /** The generator process. */
  generatorPct: number | undefined;
  /** Everything else except softirq: other engineers' work on a shared machine. */
  otherPct: number | undefined;
  /** Softirq (loopback TCP processing). */
  softirqPct: number;
  /** How busy each core was, % (the generator's core near 100% means it set the pace). */
  coreBusyPct: number[];
}

/** CPU use from `a` to `b`. */
export function cpuUse(a: CpuSample, b: CpuSample): CpuUse {
  const seconds = (b.atMs - a.atMs) / 1000;
  const pct = (x: number | undefined, y: number | undefined) =>
    x !== undefined && y !== undefined && seconds > 0 ? ((y - x) / seconds) * 100 : undefined;
  const brokerPct = pct(a.broker, b.broker);
  const generatorPct = pct(a.own, b.own);
  const busyPct = pct(a.machine.busy, b.machine.busy) ?? 0;
  const softirqPct = pct(a.machine.softirq, b.machine.softirq) ?? 0;
  const otherPct = Math.max(0, busyPct - softirqPct - (brokerPct ?? 0) - (generatorPct ?? 0));
  const coreBusyPct = b.machine.perCore.map((y, i) =>
    seconds > 0 ? ((y - (a.machine.perCore[i] ?? y)) / seconds) * 100 : 0
  );
  return { brokerPct, generatorPct, otherPct, softirqPct, coreBusyPct };
}
