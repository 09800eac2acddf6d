/**
 * A leveled logger with Mosquitto's log types and line format (`1700000000: message`), so the
 * lines users grep for keep working.
 *
 * @module
 */

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

/** Where log lines go. */
export type LogSink = (line: string, type: LogType) => void;

/** Writes lines to standard error, as Mosquitto does by default. */
export function stderrSink(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"));
}

/** Logger options. */
export interface LoggerOptions {
  /** Types that are written; others are dropped before formatting. */
  types?: Iterable<LogType>;
  /** Prefix lines with the Unix time, as Mosquitto's `log_timestamp true` (the default). */
  timestamp?: boolean;
  /** Destinations; standard error by default. */
  sinks?: LogSink[];
  /** Clock in milliseconds, replaceable in tests. */
  now?: () => number;
}

/** Mosquitto-style logger. */
export class Logger {
  #types: Set<LogType>;
  #timestamp: boolean;
  #sinks: LogSink[];
  #now: () => number;

  /** A logger writing `options.types` to `options.sinks`. */
  constructor(options: LoggerOptions = {}) {
    this.#types = new Set(options.types ?? DEFAULT_LOG_TYPES);
    this.#timestamp = options.timestamp ?? true;
    this.#sinks = options.sinks ?? [stderrSink];
    this.#now = options.now ?? Date.now;
  }

  /** Whether lines of `type` are written (check before building an expensive message). */
  enabled(type: LogType): boolean {
    return this.#types.has(type);
  }

  /** Write `message` as a line of `type`. */
  log(type: LogType, message: string): void {
    if (!this.#types.has(type)) return;
    const line = this.#timestamp ? `${Math.floor(this.#now() / 1000)}: ${message}` : message;
    for (const sink of this.#sinks) sink(line, type);
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
}
