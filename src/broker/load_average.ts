/**
 * Load averages as Mosquitto computes them for `$SYS/broker/load/...`: for each counter, the
 * events per minute since the previous update, smoothed exponentially over 1, 5 and 15 minutes:
 *
 *     rate = events since last update * 60 / seconds since last update
 *     load = rate + exp(-seconds since last update / window) * (load - rate)
 *
 * (Mosquitto updates them every `sys_interval` seconds, in whole seconds; Midge on every
 * snapshot, in milliseconds, which gives the same curve.)
 *
 * @module
 */

/** The three smoothing windows, as `$SYS` names them, with their length in seconds. */
export const LOAD_WINDOWS = [
  { name: "1min", seconds: 60 },
  { name: "5min", seconds: 300 },
  { name: "15min", seconds: 900 },
] as const;

/** `1min`, `5min` or `15min`. */
export type LoadWindow = typeof LOAD_WINDOWS[number]["name"];

/** The counters that have a load average, as `$SYS/broker/load/...` names them. */
export const LOAD_NAMES = [
  "messages/received",
  "messages/sent",
  "publish/dropped",
  "publish/received",
  "publish/sent",
  "bytes/received",
  "bytes/sent",
  "sockets",
  "connections",
] as const;

/** One of `LOAD_NAMES`. */
export type LoadName = typeof LOAD_NAMES[number];

/** A value for each load name. */
export type LoadValues = Record<LoadName, number>;

function zeroLoads(): LoadValues {
  const values = {} as LoadValues;
  for (const name of LOAD_NAMES) values[name] = 0;
  return values;
}

/** The smoothed rates of a set of counters. */
export class LoadAverages {
  #lastAt: number;
  #lastCounts: LoadValues = zeroLoads();
  #loads: Record<LoadWindow, LoadValues> = {
    "1min": zeroLoads(),
    "5min": zeroLoads(),
    "15min": zeroLoads(),
  };

  /** Averages that start at 0 at time `now` (ms), with every counter at 0. */
  constructor(now: number) {
    this.#lastAt = now;
  }

  /**
   * Take the counters as they are at `now` (ms). Time that does not move forward changes
   * nothing (the counts are kept for the next update).
   */
  update(now: number, counts: LoadValues): void {
    const seconds = (now - this.#lastAt) / 1000;
    if (seconds <= 0) return;
    for (const window of LOAD_WINDOWS) {
      const decay = Math.exp(-seconds / window.seconds);
      const loads = this.#loads[window.name];
      for (const name of LOAD_NAMES) {
        const rate = (counts[name] - this.#lastCounts[name]) * 60 / seconds;
        loads[name] = rate + decay * (loads[name] - rate);
      }
    }
    this.#lastAt = now;
    this.#lastCounts = { ...counts };
  }

  /** The current averages of `window`, events per minute. */
  values(window: LoadWindow): Readonly<LoadValues> {
    return this.#loads[window];
  }
}
