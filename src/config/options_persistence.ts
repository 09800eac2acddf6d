/**
 * `[persistence]`: keeping sessions and retained messages across restarts.
 *
 * @module
 */

import { bool, int, string } from "./schema.ts";

const NOT_YET = "Midge has no persistence yet: sessions, queued and retained messages are " +
  "kept in memory and lost on restart.";

/** `[persistence]` options. */
export const PERSISTENCE_OPTIONS = {
  autosave_interval: int("autosave_interval", 0, 0xffffffff, {
    default: 1800,
    doc: "Mosquitto saves a snapshot this often (seconds).",
    support: "legacy",
    note: "Accepted: Midge will store each change as it happens, not snapshots.",
  }),
  autosave_on_changes: bool("autosave_on_changes", {
    default: false,
    doc: "Mosquitto counts changes instead of seconds for autosave_interval.",
    support: "legacy",
    note: "Accepted: Midge will store each change as it happens, not snapshots.",
  }),
  persistence: bool("persistence", {
    default: false,
    doc: "Keep sessions, queued and retained messages across restarts.",
    support: "pending",
    pendingSeverity: "warning",
    note: NOT_YET,
    reload: false,
  }),
  persistence_file: string<string>("persistence_file", "file name", {
    default: "mosquitto.db",
    doc: "Name of the database file inside persistence_location.",
    reload: false,
  }),
  persistence_location: string<string | undefined>("persistence_location", "directory", {
    default: undefined,
    doc: "Directory of the database; unset = the working directory.",
    reload: false,
  }),
} as const;
