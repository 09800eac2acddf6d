/**
 * Build the logger the `[log]` options describe: which types, how lines are stamped, and
 * where they go (stdout, stderr, a file, syslog, `$SYS/broker/log/...` topics).
 *
 * @module
 */

import type { ConfigNotice, LogConfig } from "../config/options.ts";
import { FileSink } from "./file_sink.ts";
import {
  ALL_LOG_TYPES,
  type LogDestination,
  Logger,
  type LogSink,
  type LogType,
  stderrDestination,
  stderrSink,
  stdoutDestination,
} from "./logger.ts";
import { SyslogSink } from "./syslog_sink.ts";
import { type PublishFunction, topicSink } from "./topic_sink.ts";

/** What the configuration does not say: `-v`, the broker to publish on, test seams. */
export interface LoggerFromConfigOptions {
  /** `-v`: log every type, whatever `log_type` says (as Mosquitto's `-v`). */
  verbose?: boolean;
  /**
   * Publishes log lines for `log_dest topic`, normally `broker.publishFromBroker`. The logger
   * is built before the broker, so this may close over a broker created later.
   */
  publish?: PublishFunction;
  /** The syslog socket; `/dev/log` by default. */
  syslogPath?: string;
  /** Where problems with a destination are told; standard error by default. */
  warn?: (message: string) => void;
  /** Clock in milliseconds. */
  now?: () => number;
}

/**
 * The types `log_type` values select, read in order as Mosquitto does: `none` drops the
 * types named before it, `all` adds every type, and `verbose` (`-v`) means all.
 */
export function logTypesFromConfig(values: readonly string[], verbose = false): Set<LogType> {
  if (verbose) return new Set(ALL_LOG_TYPES);
  const types = new Set<LogType>();
  for (const value of values) {
    if (value === "none") types.clear();
    else if (value === "all") { for (const type of ALL_LOG_TYPES) types.add(type); }
    else types.add(value as LogType);
  }
  return types;
}

/** A kind of `log_dest`. */
export type LogDestKind = "stdout" | "stderr" | "file" | "syslog" | "topic";

const DEST_KINDS: readonly string[] = ["stdout", "stderr", "file", "syslog", "topic"];

/**
 * The destinations `log_dest` values name, read in order as Mosquitto does: `none` drops those
 * named before it, a destination named twice is used once, and of several files the last one
 * is used (Mosquitto keeps a single log file). Throws on an unknown destination.
 */
export function logDestinationsFromConfig(values: readonly string[]): {
  kinds: Set<LogDestKind>;
  file: string | undefined;
} {
  const kinds = new Set<LogDestKind>();
  let file: string | undefined;
  for (const value of values) {
    const [kind] = value.trim().split(/\s+/, 1);
    if (kind !== "none" && !DEST_KINDS.includes(kind)) {
      throw new Error(`unknown log_dest ${JSON.stringify(kind)}`);
    }
    if (kind === "none") {
      kinds.clear();
      file = undefined;
    } else if (kind === "file") {
      kinds.add(kind);
      file = value.trim().slice(4).trim();
    } else {
      kinds.add(kind as LogDestKind);
    }
  }
  return { kinds, file };
}

/**
 * A logger for the `[log]` options `log`. Throws an Error naming the path if the log file
 * cannot be opened, and if `log_dest topic` is set without `options.publish`. The logger's
 * `connectionMessages` is `connection_messages`; `close()` releases the file and the socket,
 * `reopen()` reopens the file (SIGHUP).
 */
export function loggerFromConfig(log: LogConfig, options: LoggerFromConfigOptions = {}): Logger {
  const { kinds, file } = logDestinationsFromConfig(log.log_dest);
  const warn = options.warn ?? stderrSink;
  const sinks: (LogSink | LogDestination)[] = [];
  if (kinds.has("topic") && options.publish === undefined) {
    throw new Error("log_dest topic needs a broker to publish on");
  }
  // The file first: it is the one destination that can fail, and nothing is open yet then.
  const fileSink = file !== undefined ? new FileSink(file, { warn }) : undefined;
  for (const kind of kinds) {
    switch (kind) {
      case "stdout":
        sinks.push(stdoutDestination());
        break;
      case "stderr":
        sinks.push(stderrDestination());
        break;
      case "file":
        sinks.push(fileSink!);
        break;
      case "syslog":
        sinks.push(
          new SyslogSink({
            path: options.syslogPath,
            facility: log.log_facility,
            now: options.now,
            warn,
          }),
        );
        break;
      case "topic":
        sinks.push(topicSink(options.publish!));
        break;
    }
  }
  return new Logger({
    types: logTypesFromConfig(log.log_type, options.verbose),
    timestamp: log.log_timestamp,
    timestampFormat: log.log_timestamp_format,
    sinks,
    connectionMessages: log.connection_messages,
    now: options.now,
  });
}

/** Log what the configuration's checks noted, each as a notice or a `Warning: ` line. */
export function logConfigNotices(log: Logger, notices: readonly ConfigNotice[]): void {
  for (const notice of notices) {
    if (notice.severity === "warning") log.warning(notice.message);
    else log.notice(notice.message);
  }
}
