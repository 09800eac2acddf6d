/**
 * `midge import [-c CONF | --store-dir DIR] FILE`: bring what Mosquitto 2.0 saved in its
 * persistence file (retained messages, persistent sessions, their subscriptions and queued
 * messages) into Midge's store, in one commit, and say how much came over. Only into a new or
 * empty store: nothing is merged or overwritten.
 *
 * @module
 */

import { join } from "node:path";
import { ConfigError } from "../config/errors.ts";
import { defaultConfig, loadConfig } from "../config/load.ts";
import type { Config } from "../config/options.ts";
import { storePath } from "../config/persistence_paths.ts";
import { openKvStore } from "../store/kv_store.ts";
import { MosquittoDbError, readMosquittoDb } from "../store/mosquitto_db.ts";
import { type ImportCounts, importRecords } from "../store/mosquitto_import.ts";
import { StoreError } from "../store/store.ts";
import type { CliIo } from "./cli_io.ts";

const USAGE = "Usage: midge import [-c CONFIG | --store-dir DIR] FILE";

const HELP = `${USAGE}

Read FILE, a persistence file written by Mosquitto 2.0 (its mosquitto.db), and write what it
holds into Midge's store: retained messages, persistent sessions, their subscriptions, the
messages queued or in flight to them, and QoS 2 messages they sent that await PUBREL. Run it
while the broker is stopped; the broker restores them at its next start.

  -c CONFIG        the broker's configuration file (TOML or mosquitto.conf): the store is
                   persistence_location/persistence_file, as the broker opens it
  --store-dir DIR  the store is DIR/midge.db
                   (neither: midge.db in the working directory, as the broker without -c)

The store must be new or empty: an import never merges into or overwrites what Midge has
stored. Mosquitto stores no wills and no protocol versions: wills are not imported (Mosquitto
loses them at a restart too), and each client's next CONNECT sets its version.

Exit status: 0 when imported; 1 when FILE is not a Mosquitto 2.0 persistence file or is
damaged (the error names the byte), when the store cannot be opened or already holds data,
or for a usage error.

Example: midge import -c /etc/midge/midge.toml /var/lib/mosquitto/mosquitto.db`;

interface ImportArgs {
  file: string;
  configFile: string | undefined;
  storeDir: string | undefined;
}

/** The arguments, or the line saying what is wrong with them. */
function parseArgs(args: string[]): ImportArgs | string {
  const parsed: ImportArgs = { file: "", configFile: undefined, storeDir: undefined };
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "-c" || arg === "--store-dir") {
      const value = args[++i];
      if (value === undefined) return `${arg} needs a value`;
      if (arg === "-c") parsed.configFile = value;
      else parsed.storeDir = value;
    } else if (arg === "--") {
      files.push(...args.slice(i + 1));
      break;
    } else if (arg.startsWith("-")) {
      return `unknown option '${arg}'`;
    } else {
      files.push(arg);
    }
  }
  if (parsed.configFile !== undefined && parsed.storeDir !== undefined) {
    return "give -c or --store-dir, not both";
  }
  if (files.length !== 1) {
    return files.length === 0
      ? "which file? Give the mosquitto.db to import."
      : `one file at a time, not ${files.length}`;
  }
  parsed.file = files[0];
  return parsed;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/** "12 retained messages, 3 sessions, 5 subscriptions, 40 queued messages". */
function describeCounts(c: ImportCounts): string {
  const parts = [
    plural(c.retained, "retained message"),
    plural(c.sessions, "session"),
    plural(c.subscriptions, "subscription"),
    plural(c.queued, "queued message"),
  ];
  if (c.held > 0) parts.push(plural(c.held, "QoS 2 message awaiting PUBREL"));
  return parts.join(", ");
}

/** The store file the arguments name; throws `ConfigError` for a bad configuration. */
async function storeOf(args: ImportArgs, io: CliIo): Promise<string> {
  if (args.storeDir !== undefined) {
    return join(args.storeDir, defaultConfig().persistence.persistence_file);
  }
  let config: Config;
  if (args.configFile === undefined) config = defaultConfig();
  else {
    config = await loadConfig(args.configFile);
    if (!config.persistence.persistence) {
      io.err(
        `midge import: note: ${args.configFile} does not set persistence true; the broker ` +
          `will not read the store until it does.`,
      );
    }
  }
  return storePath(config);
}

/** Run `midge import` with `args` (after the command name); resolves to the exit code. */
export async function runImport(args: string[], io: CliIo): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    io.out(HELP);
    return 0;
  }
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    io.err(`midge import: ${parsed}`);
    io.err(USAGE);
    return 1;
  }
  const { file } = parsed;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (error) {
    io.err(`midge import: cannot read ${file}: ${(error as Error).message}`);
    return 1;
  }
  let imported;
  try {
    imported = importRecords(readMosquittoDb(bytes), Date.now());
  } catch (error) {
    if (!(error instanceof MosquittoDbError)) throw error;
    io.err(`midge import: ${file}: ${error.message}`);
    return 1;
  }
  let path: string;
  try {
    path = await storeOf(parsed, io);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const line of error.message.split("\n")) io.err(line);
    return 1;
  }
  let store;
  try {
    store = await openKvStore(path);
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    io.err(`midge import: ${error.message}`);
    return 1;
  }
  try {
    const { records } = await store.load();
    if (records.size > 0) {
      io.err(
        `midge import: the store ${path} already holds ${plural(records.size, "record")}; ` +
          `nothing imported. An import goes only into a new or empty store: move ${path} ` +
          `away (with the broker stopped) or choose another store.`,
      );
      return 1;
    }
    await store.commit(imported.records);
  } finally {
    await store.close();
  }
  for (const line of imported.leftOut) io.err(`midge import: warning: left out ${line}.`);
  io.out(`Imported ${describeCounts(imported.counts)} from ${file} into ${path}.`);
  return 0;
}
