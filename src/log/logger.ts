/**
 * A leveled logger with Mosquitto's log types and line format (`1700000000: message`, or a
 * strftime timestamp), so the lines users grep for keep working. Lines go to destinations:
 * plain functions, or objects that also hold a handle to reopen (SIGHUP) and close.
 *
 * @module
 */

import { strftime } from "./strftime.ts";

/** Mosquitto's log types. */
export type LogType =
  | "error"
  | "warning"
  | "notice"
  | "information"
  | "debug"
  | "subscribe"
  | "unsubscribe"
  | "websockets";

/** Every log type, for `log_type all` and `-v`. */
export const ALL_LOG_TYPES: readonly LogType[] = [
  "error",
  "warning",
  "notice",
  "information",
  "debug",
  "subscribe",
  "unsubscribe",
  "websockets",
];

/** The types Mosquitto logs when none are configured. */
export const DEFAULT_LOG_TYPES: readonly LogType[] = ["error", "warning", "notice", "information"];

/** Where log lines go: called with each line (timestamp included) and its type. */
export type LogSink = (line: string, type: LogType) => void;

/** A destination that holds a handle: a file or a socket. */
export interface LogDestination {
  /** Write one line (without its newline). Must not throw. */
  write(line: string, type: LogType): void;
  /** Close and open the handle again (a log file after rotation). Throws why it failed. */
  reopen?(): void;
  /** Release the handle, after writing what is pending. */
  close?(): void | Promise<void>;
}

const encoder = new TextEncoder();

/** Write all of `bytes` to a synchronous writer, across partial writes. */
export function writeAllSync(
  target: { writeSync(p: Uint8Array): number },
  bytes: Uint8Array,
): void {
  for (let off = 0; off < bytes.length;) off += target.writeSync(bytes.subarray(off));
}

/** Writes lines to standard error, as Mosquitto does by default. */
export function stderrSink(line: string): void {
  try {
    writeAllSync(Deno.stderr, encoder.encode(line + "\n"));
  } catch {
    // a closed standard error cannot be told about it
  }
}

/** Writes lines to standard output (`log_dest stdout`). */
export function stdoutSink(line: string): void {
  try {
    writeAllSync(Deno.stdout, encoder.encode(line + "\n"));
  } catch {
    // a closed standard output cannot be told about it
  }
}

/** Logger options. */
export interface LoggerOptions {
  /** Types that are written; others are dropped before formatting. */
  types?: Iterable<LogType>;
  /** Prefix lines with a timestamp, as Mosquitto's `log_timestamp true` (the default). */
  timestamp?: boolean;
  /** strftime format of the timestamp (`log_timestamp_format`); Unix seconds when unset. */
  timestampFormat?: string;
  /** Destinations; standard error by default. */
  sinks?: (LogSink | LogDestination)[];
  /** Whether clients connecting and disconnecting are logged (`connection_messages`). */
  connectionMessages?: boolean;
  /** Clock in milliseconds, replaceable in tests. */
  now?: () => number;
}

/** Mosquitto-style logger. */
export class Logger {
  /**
   * Whether the broker logs clients connecting and disconnecting (`connection_messages`);
   * the logger itself does not look at it.
   */
  readonly connectionMessages: boolean;
  #types: Set<LogType>;
  #timestamp: boolean;
  #format: string | undefined;
  #destinations: LogDestination[];
  #now: () => number;
  /** The last second stamped and its text: a strftime per second, not per line. */
  #stampSecond = NaN;
  #stamp = "";

  /** A logger writing `options.types` to `options.sinks`. */
  constructor(options: LoggerOptions = {}) {
    this.#types = new Set(options.types ?? DEFAULT_LOG_TYPES);
    this.#timestamp = options.timestamp ?? true;
    this.#format = options.timestampFormat;
    this.#destinations = (options.sinks ?? [stderrSink]).map((s) =>
      typeof s === "function" ? { write: s } : s
    );
    this.connectionMessages = options.connectionMessages ?? true;
    this.#now = options.now ?? Date.now;
  }

  /** Whether lines of `type` are written (check before building an expensive message). */
  enabled(type: LogType): boolean {
    return this.#types.has(type);
  }

  /** The timestamp of a line written at `ms`. */
  #stampAt(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (second !== this.#stampSecond) {
      this.#stampSecond = second;
      this.#stamp = this.#format === undefined
        ? String(second)
        : strftime(this.#format, new Date(second * 1000));
    }
    return this.#stamp;
  }

  /** Write `message` as a line of `type`. */
  log(type: LogType, message: string): void {
    if (!this.#types.has(type)) return;
    const line = this.#timestamp ? `${this.#stampAt(this.#now())}: ${message}` : message;
    for (const destination of this.#destinations) destination.write(line, type);
  }

  /** An error line. */
  error(message: string): void {
    this.log("error", message);
  }

  /** A warning line. */
  warning(message: string): void {
    this.log("warning", message);
  }

  /** A notice line. */
  notice(message: string): void {
    this.log("notice", message);
  }

  /** An information line. */
  info(message: string): void {
    this.log("information", message);
  }

  /** A debug line. */
  debug(message: string): void {
    this.log("debug", message);
  }

  /**
   * Reopen destinations that hold a handle (SIGHUP, after logrotate moved the file). One that
   * cannot be reopened keeps its old handle, and an error line says why.
   */
  reopen(): void {
    const failures: string[] = [];
    for (const destination of this.#destinations) {
      try {
        destination.reopen?.();
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
    for (const failure of failures) this.error(`Error: ${failure}`);
  }

  /**
   * Release file and socket handles once pending lines are written. Lines logged afterwards
   * still reach the console destinations; those of closed destinations are dropped.
   */
  async close(): Promise<void> {
    await Promise.all(this.#destinations.map((d) => d.close?.()));
  }
}
