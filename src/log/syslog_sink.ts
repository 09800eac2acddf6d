/**
 * `log_dest syslog`: each line as one datagram to the local syslog socket, in the form the C
 * library's syslog() sends (`<PRI>Nov 14 22:13:20 midge[PID]: line`). Deno has Unix datagram
 * sockets only under `--unstable-net` (`Deno.listenDatagram` with `transport: "unixpacket"`);
 * without it, or without the socket, one warning goes to standard error and lines are dropped.
 *
 * @module
 */

import { droppedLinesWarning, type LineFormat } from "./line_writer.ts";
import { type LogDestination, type LogType, stderrSink } from "./logger.ts";
import { strftime } from "./strftime.ts";

/** The local syslog socket. */
export const DEFAULT_SYSLOG_PATH = "/dev/log";

/**
 * Lines waiting for the socket beyond this are dropped and counted (a stalled syslog daemon);
 * once a datagram is sent again, one more says how many.
 */
const MAX_QUEUED = 1000;

/** Syslog severity of each log type, as Mosquitto sends them. */
export const SYSLOG_SEVERITY: Readonly<Record<LogType, number>> = {
  error: 3,
  warning: 4,
  notice: 5,
  information: 6,
  debug: 7,
  subscribe: 5,
  unsubscribe: 5,
  websockets: 7,
};

/** The `daemon` facility, used when `log_facility` is unset. */
const DAEMON = 3;
/** The `local0` facility; `log_facility N` means local N. */
const LOCAL0 = 16;

/** PRI of a line of `type`: facility * 8 + severity; `local` is 0-7 for localN, else daemon. */
export function syslogPriority(type: LogType, local?: number): number {
  return (local === undefined ? DAEMON : LOCAL0 + local) * 8 + SYSLOG_SEVERITY[type];
}

/** The part of `Deno` this module needs, which exists only under `--unstable-net`. */
interface UnixDatagramApi {
  listenDatagram?(options: { path: string; transport: "unixpacket" }): Deno.DatagramConn;
}

/** Options of {@linkcode SyslogSink}. */
export interface SyslogSinkOptions {
  /** The syslog socket; `/dev/log` by default. */
  path?: string;
  /** `log_facility`: 0-7 for local0-local7; undefined for daemon. */
  facility?: number;
  /** Name in each datagram; `midge` by default. */
  ident?: string;
  /** Process id in each datagram; this process's by default. */
  pid?: number;
  /** Clock in milliseconds for the datagram header. */
  now?: () => number;
  /** Where problems with the socket are told; standard error by default. */
  warn?: (message: string) => void;
}

/** Sends lines to the local syslog daemon. */
export class SyslogSink implements LogDestination {
  /** The syslog socket's path. */
  readonly path: string;
  #facility: number | undefined;
  #prefix: string;
  #now: () => number;
  #warn: (message: string) => void;
  #socket: Deno.DatagramConn | undefined;
  #closed = false;
  #queue: Uint8Array[] = [];
  #draining: Promise<void> | undefined;
  #sendFailing = false;
  #encoder = new TextEncoder();
  #format: LineFormat = (message) => message;
  /** Lines dropped since the last warning about them, and in all. */
  #unreported = 0;
  #dropped = 0;

  /** A sink for `options.path`; if it cannot be used, a warning says why and lines drop. */
  constructor(options: SyslogSinkOptions = {}) {
    this.path = options.path ?? DEFAULT_SYSLOG_PATH;
    this.#facility = options.facility;
    this.#prefix = ` ${options.ident ?? "midge"}[${options.pid ?? Deno.pid}]: `;
    this.#now = options.now ?? Date.now;
    this.#warn = options.warn ?? stderrSink;
    this.#socket = this.#open();
  }

  /** Whether lines are being sent (the socket exists and a datagram socket is open). */
  get connected(): boolean {
    return this.#socket !== undefined;
  }

  /** A datagram socket bound to a throwaway path, or undefined with a warning. */
  #open(): Deno.DatagramConn | undefined {
    const api = Deno as unknown as UnixDatagramApi;
    if (typeof api.listenDatagram !== "function") {
      this.#warn(
        "Warning: log_dest syslog needs Unix datagram sockets (run with --unstable-net); " +
          "syslog lines are dropped.",
      );
      return undefined;
    }
    try {
      Deno.statSync(this.path);
    } catch (error) {
      this.#warn(
        `Warning: cannot log to syslog: ${this.path}: ${(error as Error).message}; ` +
          "syslog lines are dropped.",
      );
      return undefined;
    }
    // Deno binds every Unix datagram socket to a path; the path is removed at once, as
    // nothing is ever sent back to it.
    const dir = Deno.makeTempDirSync({ prefix: "midge-syslog-" });
    try {
      return api.listenDatagram({ path: `${dir}/socket`, transport: "unixpacket" });
    } catch (error) {
      this.#warn(`Warning: cannot log to syslog: ${(error as Error).message}`);
      return undefined;
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  }

  /** The datagram for `line`. */
  format(line: string, type: LogType): string {
    const header = strftime("%b %e %H:%M:%S", new Date(this.#now()));
    return `<${syslogPriority(type, this.#facility)}>${header}${this.#prefix}${line}`;
  }

  /** Lines dropped because the syslog daemon did not keep up. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Stamp the line about dropped lines as the logger stamps its lines. */
  setFormat(format: LineFormat): void {
    this.#format = format;
  }

  /** Queue `line` for the syslog socket; dropped while the queue is full. */
  write(line: string, type: LogType): void {
    if (this.#socket === undefined) return;
    if (this.#unreported > 0 || this.#queue.length >= MAX_QUEUED) {
      this.#unreported++;
      this.#dropped++;
      return;
    }
    this.#queue.push(this.#encoder.encode(this.format(line, type)));
    this.#draining ??= this.#drain(this.#socket);
  }

  async #drain(socket: Deno.DatagramConn): Promise<void> {
    const to: Deno.UnixAddr = { transport: "unixpacket", path: this.path };
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      for (const datagram of batch) {
        try {
          await socket.send(datagram, to);
          this.#sendFailing = false;
        } catch (error) {
          if (!this.#sendFailing) {
            this.#sendFailing = true;
            this.#warn(
              `Warning: cannot send to syslog at ${this.path}: ${(error as Error).message}`,
            );
          }
        }
      }
      if (this.#unreported > 0) {
        const warning = this.#format(droppedLinesWarning(this.#unreported));
        this.#unreported = 0;
        this.#queue.push(this.#encoder.encode(this.format(warning, "warning")));
      }
    }
    this.#draining = undefined;
  }

  /** Try again to open the socket if it could not be opened before (SIGHUP). */
  reopen(): void {
    if (this.#socket === undefined && !this.#closed) this.#socket = this.#open();
  }

  /** Send what is queued, then close the socket; later lines are dropped. */
  async close(): Promise<void> {
    this.#closed = true;
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket === undefined) return;
    await this.#draining;
    socket.close();
  }
}
