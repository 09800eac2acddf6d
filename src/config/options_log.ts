/**
 * `[log]`: where log lines go, which are written and how they are stamped.
 *
 * @module
 */

import { bool, int, list, optionalInt, string, ValueProblem } from "./schema.ts";

/** The log types `log_type` accepts besides `none` and `all`. */
export const LOG_TYPE_NAMES = [
  "debug",
  "error",
  "warning",
  "notice",
  "information",
  "subscribe",
  "unsubscribe",
  "websockets",
] as const;

const LOG_DEST_KINDS = ["stdout", "stderr", "syslog", "topic", "file", "none", "dlt"];

/** Check one `log_dest` value: a destination, and `file PATH` with its path. */
function checkLogDest(value: string): string {
  const [kind, ...rest] = value.trim().split(/\s+/);
  if (!LOG_DEST_KINDS.includes(kind)) {
    throw new ValueProblem(
      `unknown destination ${JSON.stringify(kind)}: use stdout, stderr, syslog, topic, ` +
        "file PATH or none",
    );
  }
  if (kind === "dlt") {
    throw new ValueProblem("dlt (Diagnostic Log and Trace) is not available in Midge");
  }
  if (kind === "file" && rest.length === 0) throw new ValueProblem("file needs a path: file PATH");
  if (kind !== "file" && rest.length > 0) {
    throw new ValueProblem(`${kind} takes no argument, not ${JSON.stringify(rest.join(" "))}`);
  }
  return kind === "file" ? `file ${value.trim().slice(4).trim()}` : kind;
}

function checkLogType(value: string): string {
  const all: readonly string[] = [...LOG_TYPE_NAMES, "none", "all"];
  if (!all.includes(value)) {
    throw new ValueProblem(`unknown type ${JSON.stringify(value)}: use ${all.join(", ")}`);
  }
  return value;
}

/** `[log]` options. */
export const LOG_OPTIONS = {
  connection_messages: bool("connection_messages", {
    default: true,
    doc: "Log clients connecting and disconnecting.",
  }),
  log_dest: list("log_dest", "stdout | stderr | syslog | topic | file PATH | none (several)", {
    default: ["stderr"],
    doc: "Where log lines go; several may be given. A file is reopened on SIGHUP.",
    note: "stdout, stderr and a file are each written from a 1 MiB buffer, so a reader that " +
      "stops never blocks the broker: lines that do not fit are dropped, counted " +
      "(midge_log_lines_dropped_total on /metrics), and then one line says how many.",
  }, checkLogDest),
  log_facility: optionalInt("log_facility", 0, 7, {
    default: undefined,
    doc: "Syslog facility local0-local7 for log_dest syslog; unset = daemon.",
  }),
  log_timestamp: bool("log_timestamp", {
    default: true,
    doc: "Start each line with a timestamp.",
  }),
  log_timestamp_format: string<string | undefined>("log_timestamp_format", "strftime format", {
    default: undefined,
    doc: "strftime format of the timestamp (e.g. %Y-%m-%dT%H:%M:%S); unset = Unix seconds.",
  }),
  log_type: list(
    "log_type",
    "debug | error | warning | notice | information | subscribe | unsubscribe | websockets | none | all (several)",
    {
      default: ["error", "warning", "notice", "information"],
      doc: "Which lines are logged; several may be given. -v on the command line means all.",
    },
    checkLogType,
  ),
  websockets_log_level: int("websockets_log_level", 0, 0xffff, {
    default: 0,
    doc: "libwebsockets' own log mask.",
    support: "legacy",
    note: "Ignored: Midge does not use libwebsockets; its WebSocket lines are log_type websockets.",
  }),
} as const;
