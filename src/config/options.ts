/**
 * Every option by section, the validated configuration's types, and lookups used by the
 * loaders, validation and documentation.
 *
 * @module
 */

import { BRIDGE_OPTIONS } from "./options_bridge.ts";
import { GENERAL_OPTIONS } from "./options_general.ts";
import { LISTENER_OPTIONS } from "./options_listener.ts";
import { LOG_OPTIONS } from "./options_log.ts";
import { PERSISTENCE_OPTIONS } from "./options_persistence.ts";
import { SECURITY_FAMILIES, SECURITY_OPTIONS } from "./options_security.ts";
import type { Origin } from "./raw.ts";
import type {
  OptionFamily,
  OptionSpec,
  OptionTable,
  SectionName,
  SectionValues,
  Support,
} from "./schema.ts";

export { BRIDGE_OPTIONS, GENERAL_OPTIONS, LISTENER_OPTIONS, LOG_OPTIONS, PERSISTENCE_OPTIONS };
export { SECURITY_FAMILIES, SECURITY_OPTIONS };

/** Each section's table, in the order files and documentation present them. */
export const SECTION_TABLES: Readonly<Record<SectionName, OptionTable>> = {
  general: GENERAL_OPTIONS,
  log: LOG_OPTIONS,
  persistence: PERSISTENCE_OPTIONS,
  security: SECURITY_OPTIONS,
  listener: LISTENER_OPTIONS,
  bridge: BRIDGE_OPTIONS,
};

/** The sections, in order. */
export const SECTION_NAMES: readonly SectionName[] = [
  "general",
  "log",
  "persistence",
  "security",
  "listener",
  "bridge",
];

/** How a section is written in TOML. */
export function tomlHeader(section: SectionName): string {
  if (section === "general") return "(top level)";
  return section === "listener" || section === "bridge" ? `[[${section}]]` : `[${section}]`;
}

/** The spec of `key` in `section` (including `auth_opt_*`-style families), if any. */
export function findOption(section: SectionName, key: string): OptionSpec | undefined {
  if (Object.hasOwn(SECTION_TABLES[section], key)) return SECTION_TABLES[section][key];
  if (section === "security" || section === "listener") {
    return familyOf(key)?.spec;
  }
  return undefined;
}

/** The family `key` belongs to (`auth_opt_foo` -> `auth_opt_*`), if any. */
export function familyOf(key: string): OptionFamily | undefined {
  return SECURITY_FAMILIES.find((f) => key.startsWith(f.prefix) && key.length > f.prefix.length);
}

/** The section that defines `key`, if any; security options are found under security. */
export function sectionOf(key: string): SectionName | undefined {
  for (const section of SECTION_NAMES) {
    if (section === "listener" && familyOf(key) !== undefined) continue;
    if (findOption(section, key) !== undefined) return section;
  }
  return undefined;
}

/**
 * Lines of mosquitto.conf that are not options of a section but shape the file: they have
 * a row in the documentation like any option.
 */
export interface Directive {
  /** The word that starts the line. */
  readonly name: string;
  /** What it takes. */
  readonly kind: string;
  /** One line of documentation. */
  readonly doc: string;
  /** How Midge supports it. */
  readonly support: Support;
  /** How it differs. */
  readonly note?: string;
}

/** mosquitto.conf's structural lines and its deprecated default-listener options. */
export const MOSQUITTO_DIRECTIVES: readonly Directive[] = [
  {
    name: "listener",
    kind: "port [address | unix socket path]",
    doc: "Start a listener; the listener options that follow belong to it.",
    support: "supported",
    note: "In TOML: a [[listener]] table with port and bind_address. Unix sockets are not " +
      "supported yet.",
  },
  {
    name: "port",
    kind: "port",
    doc: "Deprecated: the port of the default listener (on every address).",
    support: "supported",
    note: "In TOML: a [[listener]] with this port.",
  },
  {
    name: "bind_address",
    kind: "address",
    doc: "Deprecated, at top level: the address of the default listener.",
    support: "supported",
    note: "In TOML: bind_address in that [[listener]].",
  },
  {
    name: "include_dir",
    kind: "directory",
    doc: "Load every *.conf file of the directory, in Mosquitto's order (A, a, B, b...).",
    support: "different",
    note: "Only in mosquitto.conf files, and only in the main file, as Mosquitto. A relative " +
      "directory is taken from the main file's directory, not from the working directory.",
  },
  {
    name: "connection",
    kind: "name",
    doc: "Start a bridge; the bridge options that follow belong to it.",
    support: "different",
    note: "In TOML a [[bridge]] table with connection = NAME.",
  },
];

/** Top-level values. */
export type GeneralConfig = SectionValues<typeof GENERAL_OPTIONS>;
/** `[log]` values. */
export type LogConfig = SectionValues<typeof LOG_OPTIONS>;
/** `[persistence]` values. */
export type PersistenceConfig = SectionValues<typeof PERSISTENCE_OPTIONS>;
/** `[security]` values, with `allow_anonymous` resolved to Mosquitto 2.0's default. */
export type SecurityConfig = Omit<SectionValues<typeof SECURITY_OPTIONS>, "allow_anonymous"> & {
  readonly allow_anonymous: boolean;
};
/** One bridge's values. */
export type BridgeConfig = SectionValues<typeof BRIDGE_OPTIONS> & { readonly origin: Origin };

/** One listener: its own values and the security settings that apply to its clients. */
export type ListenerConfig = Omit<SectionValues<typeof LISTENER_OPTIONS>, "port"> & {
  /** The port. */
  readonly port: number;
  /** Security in force on this listener (its own with per_listener_settings, else global). */
  readonly security: SecurityConfig;
  /** Where the listener was configured. */
  readonly origin: Origin;
};

/** Something worth telling the user about a file that was accepted. */
export interface ConfigNotice {
  /** `notice` for legacy options, `warning` for accepted options Midge does not honour yet. */
  severity: "notice" | "warning";
  /** `FILE:LINE: KEY: what happens`. */
  message: string;
}

/** A validated configuration. */
export interface Config {
  /** The main file; undefined for the built-in defaults. */
  readonly file: string | undefined;
  /** Top-level options. */
  readonly general: GeneralConfig;
  /** Logging. */
  readonly log: LogConfig;
  /** Persistence. */
  readonly persistence: PersistenceConfig;
  /** Global security settings. */
  readonly security: SecurityConfig;
  /** Listeners; empty means local-only mode (127.0.0.1 and ::1 on port 1883). */
  readonly listeners: readonly ListenerConfig[];
  /** Bridges. */
  readonly bridges: readonly BridgeConfig[];
  /** Notices about accepted options, to be logged at start. */
  readonly notices: readonly ConfigNotice[];
}
