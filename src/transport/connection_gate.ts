/**
 * How many connections the process may hold open at once, all listeners together (MQTT and
 * HTTP), so that it never runs out of file descriptors: each accepted socket is one, and a
 * process at its limit cannot open its store, its log file or (under Deno 2.9) even report the
 * error without panicking. The limit is the soft `RLIMIT_NOFILE` minus a headroom for
 * everything that is not a client connection.
 *
 * @module
 */

/**
 * Descriptors kept for what is not a client: the runtime's own (about 30 at start), the
 * listening sockets, the store's database and journal, log files, password and ACL files read
 * on reload. 64, or 5 % of the limit when that is more.
 */
export function descriptorHeadroom(limit: number): number {
  return Math.max(64, Math.ceil(limit * 0.05));
}

/**
 * The soft limit on open files of this process, from `/proc/self/limits` (Linux); undefined
 * where it cannot be read or is unlimited.
 */
export function readDescriptorLimit(): number | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/self/limits");
  } catch {
    return undefined;
  }
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  if (match === null || match[1] === "unlimited") return undefined;
  return Number(match[1]);
}

/** The connections `limit` descriptors allow at once (at least 1). */
export function connectionCapacity(limit: number): number {
  return Math.max(1, limit - descriptorHeadroom(limit));
}

/** What the gate says when it stops and starts letting connections in. */
export interface GateLog {
  /** Accepting stopped (logged once per pause). */
  paused(line: string): void;
  /** Accepting started again. */
  resumed(line: string): void;
}

/** What a gate counts against, and how its log lines name them. */
export interface GateLimit {
  /** Connections allowed at once; Infinity for no limit. */
  capacity: number;
  /** The limit in force, as the log names it ("descriptor limit 1024"). */
  name: string;
  /** What it counts, as the log names it (default "connections"). */
  counted?: string;
}

/** The limit of a process whose soft descriptor limit is `descriptorLimit` (undefined: unknown). */
export function descriptorGateLimit(descriptorLimit: number | undefined): GateLimit {
  return descriptorLimit === undefined
    ? { capacity: Infinity, name: "descriptor limit unknown" }
    : {
      capacity: connectionCapacity(descriptorLimit),
      name: `descriptor limit ${descriptorLimit}`,
    };
}

/**
 * Counts open connections against one capacity: the descriptor limit of the process, shared by
 * every listener (MQTT and HTTP), or one listener's own cap. A listener asks `admit` for each
 * socket it accepts and closes the socket when refused (as Mosquitto does at
 * `max_connections`: the client learns at once instead of waiting in the kernel's backlog);
 * `release` is called when an admitted socket closes. Once paused, the gate admits again only
 * below a low-water mark (5 % under the capacity), so that a flood at the limit does not
 * flip it at every close; pausing and resuming are logged once each, never per socket.
 */
export class ConnectionGate {
  /** Connections open now. */
  open = 0;
  /** Connections allowed at once; Infinity for no limit. */
  readonly capacity: number;
  #limit: GateLimit;
  #lowWater: number;
  #log: GateLog;
  #paused = false;
  #refused = 0;

  /** A gate that admits up to `limit.capacity` connections at once, logging to `log`. */
  constructor(limit: GateLimit, log: GateLog) {
    this.capacity = limit.capacity;
    this.#limit = limit;
    this.#lowWater = this.capacity === Infinity
      ? Infinity
      : this.capacity - Math.max(1, Math.floor(this.capacity / 20));
    this.#log = log;
  }

  /** Whether one more connection may be kept open; counts it when it may. */
  admit(): boolean {
    if (this.#paused) this.#resumeIfLow();
    if (this.#paused || this.open >= this.capacity) {
      this.#pause("");
      this.#refused++;
      return false;
    }
    this.open++;
    return true;
  }

  /** An admitted connection has closed. */
  release(): void {
    if (this.open > 0) this.open--;
    if (this.#paused) this.#resumeIfLow();
  }

  /** Accepting failed (out of descriptors anyway, or the system's table is full). */
  acceptFailed(error: Error): void {
    this.#pause(`${error.message}; `);
  }

  #pause(cause: string): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#refused = 0;
    this.#log.paused(
      `Accepting ${this.#counted()} paused: ${cause}${this.open} open, ${this.#limit.name}.`,
    );
  }

  #resumeIfLow(): void {
    if (this.open > this.#lowWater) return;
    this.#paused = false;
    this.#log.resumed(
      `Accepting ${this.#counted()} resumed: ${this.open} open, ` +
        `${this.#refused} refused while paused.`,
    );
  }

  #counted(): string {
    return this.#limit.counted ?? "connections";
  }
}
