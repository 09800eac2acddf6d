/**
 * Where persistence lives on disk, as a configuration says: Midge's store and the
 * `mosquitto.db` a Mosquitto with the same `persistence_location` would have left.
 *
 * @module
 */

import { join } from "node:path";
import type { Config } from "./options.ts";

/** Mosquitto's default `persistence_file`. */
export const MOSQUITTO_DB_FILE = "mosquitto.db";

/** The directory of persistence: persistence_location, or the working directory. */
function persistenceDir(config: Config): string {
  return config.persistence.persistence_location ?? Deno.cwd();
}

/** The database file `config` names: persistence_location (or the working directory) + file. */
export function storePath(config: Config): string {
  return join(persistenceDir(config), config.persistence.persistence_file);
}

/** Where Mosquitto, given the same persistence_location, keeps its `mosquitto.db`. */
export function mosquittoDbPath(config: Config): string {
  return join(persistenceDir(config), MOSQUITTO_DB_FILE);
}
