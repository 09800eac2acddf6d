/**
 * Load a configuration file: TOML when its name ends in `.toml`, Mosquitto's syntax
 * otherwise; then validate it.
 *
 * @module
 */

import { userInfo } from "node:os";
import { ConfigError, type ConfigProblem, sortProblems } from "./errors.ts";
import { readMosquittoConf } from "./mosquitto_conf.ts";
import type { Config } from "./options.ts";
import { emptyRawConfig, type RawConfig } from "./raw.ts";
import { type ProcessFacts, validateConfig } from "./validate.ts";

export type { ProcessFacts } from "./validate.ts";

/**
 * The user this process runs as, each fact read when first asked for: whether it is root
 * needs only `--allow-sys=uid`, its name (asked when a file sets `user`) also `gid,userInfo`.
 */
export function processFacts(): ProcessFacts {
  let name: string | undefined;
  return {
    get userName() {
      return name ??= userInfo().username;
    },
    get isRoot() {
      return Deno.uid() === 0;
    },
  };
}

/** Whether `path` is read as TOML. */
export function isTomlFile(path: string): boolean {
  return path.toLowerCase().endsWith(".toml");
}

/**
 * Read and validate the file at `path`; throws `ConfigError` naming every problem: those met
 * while reading and, in the rest of the file, those of the values.
 */
export async function loadConfig(
  path: string,
  facts: ProcessFacts = processFacts(),
): Promise<Config> {
  let raw: RawConfig;
  try {
    raw = isTomlFile(path)
      ? await (await import("./toml.ts")).readTomlConfig(path) // the TOML parser when used
      : await readMosquittoConf(path);
  } catch (error) {
    if (!(error instanceof ConfigError) || error.readSoFar === undefined) throw error;
    throw withValueProblems(error, error.readSoFar, facts);
  }
  return validateConfig(raw, facts);
}

/**
 * `error` (problems met while reading) with the problems validation finds in `readSoFar`, less
 * those on a line that already has one: they follow from it (a listener line without a port).
 */
function withValueProblems(
  error: ConfigError,
  readSoFar: RawConfig,
  facts: ProcessFacts,
): ConfigError {
  try {
    validateConfig(readSoFar, facts);
    return error;
  } catch (more) {
    if (!(more instanceof ConfigError)) throw more;
    const at = (p: ConfigProblem) => `${p.origin.file}:${p.origin.line}`;
    const faulty = new Set(error.problems.map(at));
    const added = more.problems.filter((p) => !faulty.has(at(p)));
    return new ConfigError(sortProblems([...error.problems, ...added]));
  }
}

/** The configuration with no file: Mosquitto 2.0's defaults, local-only. */
export function defaultConfig(): Config {
  return validateConfig(emptyRawConfig("", "toml"), { userName: "", isRoot: false });
}
