/**
 * A leveled logger with Mosquitto's log types and line format (`1700000000: message`, or a
 * strftime timestamp), so the lines users grep for keep working. Lines go to destinations:
 * plain functions, or objects that also hold a handle to reopen (SIGHUP) and close. Standard
 * error, standard output and files are written asynchronously from a bounded buffer
 * (./line_writer.ts), so a reader that stops never blocks the broker.
 *
 * @module
 */

import { type LineFormat, LineWriter } from "./line_writer.ts";
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

/** A destination that holds a handle: a file, a socket, or a buffer in front of a stream. */
export interface LogDestination {
  /** Write one line (without its newline). Must not throw nor block. */
  write(line: string, type: LogType): void;
  /** Close and open the handle again (a log file after rotation). Throws why it failed. */
  reopen?(): void;
  /** Release the handle, after writing what is pending. */
  close?(): void | Promise<void>;
  /** Resolves once pending lines are written (a stream that is not closed: stderr, stdout). */
  flush?(): Promise<void>;
  /** Stamp the destination's own lines (about dropped lines) as the logger stamps its lines. */
  setFormat?(format: LineFormat): void;
  /** Lines dropped so far because the reader did not keep up. */
  readonly dropped?: number;
}

/** At most this long, `Logger.close()` waits for pending lines (a reader that hung). */
const CLOSE_WAIT_MS = 1500;

/**
 * Standard error or output as a destination of one logger; every logger of the process writes
 * through the same `writer`, so lines keep their order and the limit holds for the process.
 */
function streamDestination(writer: LineWriter): LogDestination {
  let stamp: LineFormat | undefined;
  return {
    write: (line) => writer.write(line, stamp),
    flush: () => writer.flush(),
    setFormat: (format) => stamp = format,
    get dropped() {
      return writer.dropped;
    },
  };
}

const stderrWriter = new LineWriter(Deno.stderr);
const stdoutWriter = new LineWriter(Deno.stdout);

/** Standard error as a destination, as Mosquitto logs by default. */
export function stderrDestination(): LogDestination {
  return streamDestination(stderrWriter);
}

/** Standard output as a destination (`log_dest stdout`). */
export function stdoutDestination(): LogDestination {
  return streamDestination(stdoutWriter);
}

/** Writes a line to standard error, without waiting (the warnings of destinations). */
export function stderrSink(line: string): void {
  stderrWriter.write(line);
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
    this.#destinations = (options.sinks ?? [stderrDestination()]).map((s) =>
      typeof s === "function" ? { write: s } : s
    );
    for (const destination of this.#destinations) destination.setFormat?.((m) => this.#line(m));
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

  /** `message` as a line, stamped. */
  #line(message: string): string {
    return this.#timestamp ? `${this.#stampAt(this.#now())}: ${message}` : message;
  }

  /**
   * Write `message` as a line of `type`, as given: like Mosquitto's, a text carries its own
   * `Warning: ` or `Error: ` (most of its warnings do, `Reused message ID ...` does not).
   */
  log(type: LogType, message: string): void {
    if (!this.#types.has(type)) return;
    const line = this.#line(message);
    for (const destination of this.#destinations) destination.write(line, type);
  }

  /**
   * Lines the destinations dropped because their reader did not keep up (standard error and
   * output count for the whole process, a file or syslog since this logger was built).
   */
  get droppedLines(): number {
    let total = 0;
    for (const destination of this.#destinations) total += destination.dropped ?? 0;
    return total;
  }

  /** An error line. */
  error(message: string): void {
    this.log("error", message);
  }

  /** A warning line in Mosquitto's usual form, `Warning: message`. */
  warning(message: string): void {
    this.log("warning", `Warning: ${message}`);
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
   * Release file and socket handles once pending lines are written, and wait for standard
   * error and output to be written, all for at most `timeoutMs` (a reader that hung must not
   * keep the process from ending). Lines logged afterwards still reach standard error and
   * output; those of closed destinations are dropped.
   */
  async close(timeoutMs = CLOSE_WAIT_MS): Promise<void> {
    const done = Promise.all(this.#destinations.map((d) => d.close ? d.close() : d.flush?.()));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs));
    try {
      await Promise.race([done, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
