/**
 * `[persistence]`: keeping sessions and retained messages across restarts.
 *
 * @module
 */

import { bool, int, string } from "./schema.ts";

const NO_SNAPSHOTS = "Accepted and always met: Midge stores every change as it happens, in " +
  "group commits (a batch waits at most 3 ms for more changes when the broker is busy), so " +
  "no change waits for a snapshot and a kill -9 loses nothing acknowledged.";

/** `[persistence]` options. */
export const PERSISTENCE_OPTIONS = {
  autosave_interval: int("autosave_interval", 0, 0xffffffff, {
    default: 1800,
    doc: "Mosquitto saves a snapshot this often (seconds): the longest a change waits to be saved.",
    support: "legacy",
    note: NO_SNAPSHOTS,
  }),
  autosave_on_changes: bool("autosave_on_changes", {
    default: false,
    doc: "Mosquitto counts changes instead of seconds for autosave_interval.",
    support: "legacy",
    note: NO_SNAPSHOTS,
  }),
  persistence: bool("persistence", {
    default: false,
    doc: "Keep sessions, queued and retained messages across restarts.",
    support: "different",
    note: "Stored in a Deno KV database as each change happens, not as snapshots; QoS 1/2 " +
      "messages are acknowledged only once stored (README, Persistence).",
    reload: false,
  }),
  persistence_allow_empty: bool("persistence_allow_empty", {
    default: false,
    doc: "Midge only: start with an empty store when the database file is empty (0 bytes).",
    note: "Midge only (Mosquitto starts empty from an empty or missing mosquitto.db). An empty " +
      "file where a store was expected means its data is gone: by default Midge refuses to " +
      "start and names the file. A missing file is a new store either way.",
    reload: false,
  }),
  persistence_file: string<string>("persistence_file", "file name", {
    default: "midge.db",
    doc: "Name of the database file inside persistence_location.",
    support: "different",
    note: "A Deno KV (SQLite) file, default midge.db. Midge does not run on Mosquitto's " +
      "mosquitto.db: `midge import` brings its contents over (README, Moving from Mosquitto).",
    reload: false,
  }),
  persistence_location: string<string | undefined>("persistence_location", "directory", {
    default: undefined,
    doc: "Directory of the database; unset = the working directory.",
    reload: false,
  }),
} as const;
