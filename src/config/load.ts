/**
 * Load a configuration file: TOML when its name ends in `.toml`, Mosquitto's syntax
 * otherwise; then validate it.
 *
 * @module
 */

import { userInfo } from "node:os";
import { readMosquittoConf } from "./mosquitto_conf.ts";
import type { Config } from "./options.ts";
import { emptyRawConfig } from "./raw.ts";
import { readTomlConfig } from "./toml.ts";
import { type ProcessFacts, validateConfig } from "./validate.ts";

export type { ProcessFacts } from "./validate.ts";

/** The user this process runs as. */
export function processFacts(): ProcessFacts {
  const info = userInfo();
  return { userName: info.username, isRoot: info.uid === 0 };
}

/** Whether `path` is read as TOML. */
export function isTomlFile(path: string): boolean {
  return path.toLowerCase().endsWith(".toml");
}

/** Read and validate the file at `path`; throws `ConfigError` naming every problem. */
export async function loadConfig(
  path: string,
  facts: ProcessFacts = processFacts(),
): Promise<Config> {
  const raw = isTomlFile(path) ? await readTomlConfig(path) : await readMosquittoConf(path);
  return validateConfig(raw, facts);
}

/** The configuration with no file: Mosquitto 2.0's defaults, local-only. */
export function defaultConfig(): Config {
  return validateConfig(emptyRawConfig("", "toml"), { userName: "", isRoot: false });
}
