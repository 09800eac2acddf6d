/**
 * Mosquitto 2.0's configuration syntax (`mosquitto.conf`), read into a `RawConfig` with the
 * file and line of every value, so that validation and `midge convert` treat it like TOML.
 *
 * The rules, as Mosquitto 2.0 applies them (checked against mosquitto 2.0.11):
 * - a line whose first character is `#` is a comment; the option name is the first word and
 *   its value the rest of the line;
 * - `listener PORT [ADDRESS]` starts a listener and the listener options after it belong to it;
 *   `connection NAME` starts a bridge, which lasts until the next `connection` line;
 * - `port` and `bind_address` lines, and listener options written before any `listener` line,
 *   set the default listener. It is opened (after the others) only when one of those options
 *   asks for a listener: a port, an address, or a value other than the default for most
 *   others; the options Mosquitto would silently ignore there are left at the top level, where
 *   validation reports them;
 * - with `per_listener_settings true`, the per-listener security options belong to the current
 *   listener instead of the global security settings;
 * - `include_dir DIR`, only in the main file, loads `DIR/*.conf` at that point, in Mosquitto's
 *   order (see `compareIncludeNames`). Each included file starts with no listener and no bridge
 *   open; after it, the main file goes on in the listener and bridge it had.
 *
 * @module
 */

import { dirname, isAbsolute, join } from "node:path";
import { ConfigError, type ConfigProblem, readConfigText } from "./errors.ts";
import { type ConfText, type IncludedFiles, readIncludeDir } from "./mosquitto_include.ts";
import { findOption, sectionOf } from "./options.ts";
import {
  addEntry,
  emptyRawConfig,
  emptySection,
  type Origin,
  type RawConfig,
  type RawEntry,
  type RawSection,
} from "./raw.ts";
import type { OptionSpec } from "./schema.ts";

export type { ConfText, IncludedFiles } from "./mosquitto_include.ts";
export { compareIncludeNames } from "./mosquitto_include.ts";

/** How `parseMosquittoConf` finds the files of an `include_dir DIR` line (DIR as written). */
export type IncludeLookup = (dir: string) => IncludedFiles;

/** Mosquitto's default port, used by a default listener without a `port` line. */
export const DEFAULT_PORT = "1883";

/** Names Mosquitto 2.0 also reads for an option, with the option's own name. */
const SAME_AS = new Map([["maximum_qos", "max_qos"]]);

/** Default-listener options that never open the default listener in Mosquitto 2.0. */
const DOES_NOT_OPEN = new Set([
  "acl_file",
  "allow_anonymous",
  "auto_id_prefix",
  "http_dir",
  "max_qos",
  "max_topic_alias",
  "require_certificate",
  "tls_version",
  "websockets_headers_size",
]);

// Sections and entries this reader made up, for `midge convert` to explain them.
const defaultListeners = new WeakSet<RawSection>();
const impliedPorts = new WeakSet<RawEntry>();

/** Whether `section` is mosquitto.conf's default listener (`port`, options before `listener`). */
export function isDefaultListener(section: RawSection): boolean {
  return defaultListeners.has(section);
}

/** Whether `entry` is the port 1883 given to a default listener that had no `port` line. */
export function isImpliedPort(entry: RawEntry): boolean {
  return impliedPorts.has(entry);
}

/** One option line: name, value (may be ""), where. */
interface Line {
  name: string;
  value: string;
  origin: Origin;
}

/** The option lines of `conf`; misplaced comments are reported to `problems`. */
function optionLines(conf: ConfText, problems: ConfigProblem[]): Line[] {
  const lines: Line[] = [];
  conf.text.split("\n").forEach((text, i) => {
    const origin = { file: conf.file, line: i + 1 };
    if (text.startsWith("#")) return;
    const trimmed = text.trim();
    if (trimmed === "") return;
    if (trimmed.startsWith("#")) {
      problems.push({
        origin,
        key: "",
        message: "a comment must start at the first character of the line " +
          "(Mosquitto reads this # as an option name)",
      });
      return;
    }
    const match = /^(\S+)(?:\s+(.*))?$/s.exec(trimmed)!;
    lines.push({ name: SAME_AS.get(match[1]) ?? match[1], value: match[2] ?? "", origin });
  });
  return lines;
}

/** The `include_dir` lines of `main`: the directory as written and where. */
export function includeDirsOf(main: ConfText): { dir: string; origin: Origin }[] {
  return optionLines(main, [])
    .filter((l) => l.name === "include_dir" && l.value !== "")
    .map((l) => ({ dir: l.value, origin: l.origin }));
}

/** Where the options of one file go: the listener and bridge it has open. */
interface Scope {
  listener: RawSection | undefined;
  bridge: RawSection | undefined;
}

/** The state of one parse. */
class Reader {
  readonly problems: ConfigProblem[] = [];
  readonly raw: RawConfig;
  defaultListener: RawSection | undefined;
  defaultOpens = false;

  constructor(main: string, readonly perListener: boolean, readonly includes: IncludeLookup) {
    this.raw = emptyRawConfig(main, "mosquitto");
  }

  problem(origin: Origin, key: string, message: string): void {
    this.problems.push({ origin, key, message });
  }

  file(lines: Line[], scope: Scope, main: boolean): void {
    for (const line of lines) this.line(line, scope, main);
  }

  line(line: Line, scope: Scope, main: boolean): void {
    const { name, value, origin } = line;
    const home = sectionOf(name);
    const directive = ["listener", "connection", "include_dir"].includes(name);
    if (value === "") {
      if (home !== undefined || directive) this.problem(origin, name, "needs a value");
      else this.add(this.raw.general, line); // an unknown option: validation names it
      return;
    }
    if (name === "include_dir") return this.include(line, main);
    if (name === "listener") {
      scope.listener = this.listener(line);
      return;
    }
    if (name === "connection") {
      scope.bridge = emptySection(origin);
      this.raw.bridges.push(scope.bridge);
      this.add(scope.bridge, line);
      return;
    }
    if (name === "port" || name === "bind_address") return this.toDefault(line);
    if (home === "listener" || (home === "security" && this.perListener && perListenerKey(name))) {
      if (scope.listener === undefined) this.toDefault(line);
      else this.add(scope.listener, line);
      return;
    }
    if (home === "bridge") return this.add(scope.bridge ?? this.raw.general, line);
    if (home === "log" || home === "persistence" || home === "security") {
      return this.add(this.raw[home], line);
    }
    this.add(this.raw.general, line);
  }

  add(section: RawSection, line: Line, value = line.value): void {
    addEntry(section, line.name, { value, origin: line.origin, text: true });
  }

  /** `listener PORT [ADDRESS]`: a new listener, even when the line is wrong. */
  listener(line: Line): RawSection {
    const section = emptySection(line.origin);
    this.raw.listeners.push(section);
    const [port, address, ...rest] = line.value.split(/[ \t]+/);
    if (!/^[0-9]+$/.test(port) || Number(port) > 65535) {
      this.problem(
        line.origin,
        "listener",
        `needs a port 1-65535 first, not ${JSON.stringify(port)}`,
      );
    } else if (port.replace(/^0+/, "") === "" && !address?.startsWith("/")) {
      this.problem(
        line.origin,
        "listener",
        "port 0 means a Unix socket listener: give the socket's path after it " +
          "(listener 0 /run/midge.sock)",
      );
    } else {
      this.add(section, { ...line, name: "port" }, port);
    }
    if (address?.startsWith("/") && port.replace(/^0+/, "") !== "") {
      this.problem(line.origin, "listener", "a Unix socket path needs port 0 before it");
    } else if (address !== undefined) {
      this.add(section, { ...line, name: "bind_address" }, address);
    }
    if (rest.length > 0) {
      this.problem(
        line.origin,
        "listener",
        `takes a port and an address, not also ${JSON.stringify(rest.join(" "))}`,
      );
    }
    return section;
  }

  /** An option of the default listener. */
  toDefault(line: Line): void {
    // Mosquitto refuses a mount point outside a listener; validation says so from the top level.
    if (line.name === "mount_point") return this.add(this.raw.general, line);
    this.defaultListener ??= emptySection(line.origin);
    this.add(this.defaultListener, line);
    if (opensDefaultListener(line.name, line.value)) this.defaultOpens = true;
  }

  /** `include_dir DIR`: its files, each from a fresh scope. */
  include(line: Line, main: boolean): void {
    if (!main) {
      this.problem(
        line.origin,
        "include_dir",
        "include_dir is only allowed in the main configuration file",
      );
      return;
    }
    const found = this.includes(line.value);
    if ("error" in found) return this.problem(line.origin, "include_dir", found.error);
    for (const conf of found.files) {
      this.file(
        optionLines(conf, this.problems),
        { listener: undefined, bridge: undefined },
        false,
      );
    }
  }

  /** Open the default listener after the others, or leave its options at the top level. */
  finish(): void {
    const section = this.defaultListener;
    if (section === undefined) return;
    defaultListeners.add(section);
    if (this.defaultOpens) {
      if (!section.entries.has("port")) {
        const entry = { value: DEFAULT_PORT, origin: section.origin, text: true };
        impliedPorts.add(entry);
        // port first, as a listener line would have it
        section.entries = new Map([["port", [entry]], ...section.entries]);
      }
      this.raw.listeners.push(section);
      return;
    }
    for (const [key, entries] of section.entries) {
      for (const entry of entries) addEntry(this.raw.general, key, entry);
    }
  }
}

/** A security option that follows the listener under `per_listener_settings true`. */
function perListenerKey(name: string): boolean {
  return findOption("security", name)?.perListener === true;
}

/**
 * Whether a default-listener option makes Mosquitto open the default listener: `port` and
 * `bind_address` always; most others when their value differs from the default.
 */
function opensDefaultListener(name: string, value: string): boolean {
  if (name === "port" || name === "bind_address") return true;
  if (DOES_NOT_OPEN.has(name)) return false;
  const spec: OptionSpec | undefined = findOption("listener", name) ??
    findOption("security", name);
  if (spec === undefined || spec.name.endsWith("*")) return false; // auth_opt_*, plugin_opt_*
  try {
    const parsed = spec.parse(value, true);
    return parsed !== spec.default;
  } catch {
    return true; // a bad value: keep it in the listener, where validation names it
  }
}

/** `per_listener_settings` as the files set it (the last line wins; a bad value is false). */
function perListenerSettings(files: Line[][]): boolean {
  let on = false;
  for (const line of files.flat()) {
    if (line.name === "per_listener_settings") on = line.value === "true" || line.value === "1";
  }
  return on;
}

/**
 * Parse mosquitto.conf text: `main`, with `include_dir` lines resolved by `includes`.
 * Throws `ConfigError` listing every structural problem (misplaced lines, include_dir errors,
 * listener lines without a usable port), with the rest of the file as `readSoFar`; options are
 * not validated here.
 */
export function parseMosquittoConf(
  main: ConfText,
  includes: IncludeLookup = () => ({ error: "include_dir is not available here" }),
): RawConfig {
  const problems: ConfigProblem[] = [];
  const mainLines = optionLines(main, problems);
  // per_listener_settings applies to the whole configuration: find it first.
  const all = [mainLines];
  for (const { dir } of includeDirsOf(main)) {
    const found = includes(dir);
    if ("files" in found) { for (const conf of found.files) all.push(optionLines(conf, [])); }
  }
  const reader = new Reader(main.file, perListenerSettings(all), includes);
  reader.problems.push(...problems);
  reader.file(mainLines, { listener: undefined, bridge: undefined }, true);
  reader.finish();
  if (reader.problems.length > 0) throw new ConfigError(reader.problems, reader.raw);
  return reader.raw;
}

/**
 * Read the mosquitto.conf file at `path` and the files its `include_dir` lines name (a
 * relative directory is taken from the directory of `path`). Throws `ConfigError`.
 */
export async function readMosquittoConf(path: string): Promise<RawConfig> {
  const main = { file: path, text: await readConfigText(path) };
  const found = new Map<string, IncludedFiles>();
  for (const { dir } of includeDirsOf(main)) {
    if (found.has(dir)) continue;
    found.set(dir, await readIncludeDir(isAbsolute(dir) ? dir : join(dirname(path), dir), path));
  }
  return parseMosquittoConf(main, (dir) => found.get(dir) ?? { error: "not read" });
}
