/**
 * A configuration file as read, before validation: the same shape whether it came from TOML or
 * from `mosquitto.conf`, every value with the file and line it came from, so that validation
 * can name them.
 *
 * @module
 */

/** Where a value was written. */
export interface Origin {
  /** The file, as given or as found by `include_dir`. */
  file: string;
  /** 1-based line number. */
  line: number;
}

/**
 * A value as written: TOML gives booleans, numbers, strings and arrays of them;
 * `mosquitto.conf` gives the text after the option name.
 */
export type RawScalar = string | number | boolean;

/** One occurrence of a key. */
export interface RawEntry {
  /** The value. */
  value: RawScalar | RawScalar[];
  /** Where it was written. */
  origin: Origin;
  /** True when the value is text to be parsed (`mosquitto.conf`), false when typed (TOML). */
  text: boolean;
}

/** A group of keys: the top level, `[log]`, one `[[listener]]`... */
export interface RawSection {
  /** Occurrences by key, in file order (mosquitto.conf may repeat a key). */
  entries: Map<string, RawEntry[]>;
  /** Where the section starts (its header, or the first line of the file). */
  origin: Origin;
}

/** The sections of a file; `listener` and `bridge` may occur many times. */
export interface RawConfig {
  /** The main file. */
  file: string;
  /** Which syntax it was read with. */
  format: "toml" | "mosquitto";
  /** Top-level options. */
  general: RawSection;
  /** `[log]`. */
  log: RawSection;
  /** `[persistence]`. */
  persistence: RawSection;
  /** `[security]`. */
  security: RawSection;
  /** `[[listener]]`, in file order. */
  listeners: RawSection[];
  /** `[[bridge]]`, in file order. */
  bridges: RawSection[];
}

/** An empty section starting at `origin`. */
export function emptySection(origin: Origin): RawSection {
  return { entries: new Map(), origin };
}

/** Record one occurrence of `key` in `section`. */
export function addEntry(section: RawSection, key: string, entry: RawEntry): void {
  const list = section.entries.get(key);
  if (list === undefined) section.entries.set(key, [entry]);
  else list.push(entry);
}

/** An empty configuration of `file`. */
export function emptyRawConfig(file: string, format: RawConfig["format"]): RawConfig {
  const origin = { file, line: 1 };
  return {
    file,
    format,
    general: emptySection(origin),
    log: emptySection(origin),
    persistence: emptySection(origin),
    security: emptySection(origin),
    listeners: [],
    bridges: [],
  };
}
