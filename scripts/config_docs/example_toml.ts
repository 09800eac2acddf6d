/**
 * `conf/midge.toml`: every key of every section, commented out at its default (or, for a key
 * that is unset by default, at an example value), each under one line of documentation and,
 * where Midge differs from Mosquitto 2.0, a line saying how. Used as it is, the file gives the
 * built-in defaults.
 *
 * @module
 */

import type { SectionName } from "../../src/config/schema.ts";
import {
  type DocOption,
  type DocSection,
  docSections,
  pendingRule,
  perListenerOptions,
} from "./model.ts";
import { tomlValue } from "./values.ts";

const WIDTH = 100;

/** A commented-out key line: `# key = value` or `# "key.with.dots" = value`, maybe commented. */
const KEY_LINE = /^# (?:"([^"\\]+)"|([A-Za-z0-9_-]+)) = (.*)$/;

/** The key of a commented-out key line of the example file, undefined for other lines. */
export function keyOfLine(line: string): string | undefined {
  const match = KEY_LINE.exec(line);
  return match === null ? undefined : match[1] ?? match[2];
}

/** `key` as TOML writes it: bare when it can be, quoted otherwise (`"ciphers_tls1.3"`). */
function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

/** Keys that have no default because they must be set (validation requires them). */
const REQUIRED: Readonly<Record<string, SectionName>> = { port: "listener" };

const HEADER = [
  "Midge configuration: every option, with its default.",
  "",
  "The format is TOML with Mosquitto's option names. Top-level keys are the general options; " +
  "[log], [persistence] and [security] are tables; each [[listener]] and each [[bridge]] table " +
  "is one listener or bridge. Every line below is commented out, so this file as it is gives " +
  "Midge's built-in defaults, which are Mosquitto 2.0's: with no listener configured, Midge " +
  "runs in local-only mode (127.0.0.1 and ::1, port 1883, anonymous clients allowed). To " +
  "listen on the network, uncomment the [[listener]] header and its port further down; as in " +
  "Mosquitto 2.0, clients may then connect without a username only with allow_anonymous = true " +
  "in [security], or with a password_file. A key left commented out keeps the " +
  "value shown.",
  "",
  "  midge -c conf/midge.toml                    run the broker with this file",
  "  midge -c conf/midge.toml --test-config      check the file, exit 0 if valid, 1 if not",
  "  midge convert mosquitto.conf > midge.toml   turn a mosquitto.conf into this format",
  "",
  "A file with mistakes is refused, each named by file, line and key, e.g.",
  "  midge.toml:12: listener[1].port: must be 0-65535, not 70000",
  'Lines starting with "Midge" say where Midge differs from Mosquitto 2.0. SIGHUP reloads the ' +
  "file.",
  "",
  "Generated from the schema in src/config/ by `deno task docs`: change the schema, not this " +
  "file.",
];

/** The text of `conf/midge.toml`. */
export function renderExampleToml(): string {
  const sections = docSections();
  const out: string[] = [];
  for (const paragraph of HEADER) out.push(...comment(paragraph));
  for (const section of sections) {
    out.push("", ...banner(section));
    if (section.header !== undefined) out.push("", `# ${section.header}`);
    for (const option of section.options) out.push("", ...optionBlock(section, option));
    if (section.name === "listener") out.push("", ...perListenerBlock(sections));
  }
  return out.join("\n") + "\n";
}

function banner(section: DocSection): string[] {
  const rule = "# " + "=".repeat(WIDTH - 2);
  const title = section.header === undefined
    ? section.title
    : `${section.title}: ${section.header}`;
  const intro = [section.intro, section.common?.note, section.rule].filter((s) => s !== undefined)
    .join(" ");
  return [rule, `# ${title}`, ...comment(intro), rule];
}

function optionBlock(section: DocSection, option: DocOption): string[] {
  const { spec } = option;
  const doc = option.key === spec.name ? spec.doc : `${option.key}: ${spec.doc}`;
  const lines = comment(doc);
  const midge = section.common === undefined ? midgeLine(option) : undefined;
  if (midge !== undefined) lines.push(...comment(midge));
  lines.push(...keyLines(option, REQUIRED[spec.name] === section.name));
  return lines;
}

/** "Midge (...): note" for an option that is not simply supported. */
function midgeLine(option: DocOption): string | undefined {
  const { spec } = option;
  switch (spec.support) {
    case "supported":
      return undefined;
    case "different":
      return `Midge: ${spec.note}`;
    case "legacy":
      return `Midge (legacy): ${spec.note}`;
    case "pending":
      return `Midge (not yet; ${pendingRule(spec, (s) => s)}): ${spec.note}`;
    case "refused":
      return `Midge (refused): ${spec.note}`;
  }
}

/** `# key = value  # kind`, with the kind on a line of its own when it does not fit. */
function keyLines(option: DocOption, required: boolean): string[] {
  const { spec, shown } = option;
  const line = `# ${tomlKey(option.key)} = ${tomlValue(shown.value)}`;
  const status = shown.isDefault ? undefined : required ? "required" : "unset by default";
  const full = `${line}  # ${status === undefined ? "" : `${status}; `}${spec.kind}`;
  if (full.length <= WIDTH) return [full];
  return [
    ...comment(`Values: ${spec.kind}`),
    status === undefined ? line : `${line}  # ${status}`,
  ];
}

function perListenerBlock(sections: readonly DocSection[]): string[] {
  const lines = comment(
    "With per_listener_settings = true in [security], each [[listener]] sets these [security] " +
      "options for its own clients, and [security] must not set them (see [security] for what " +
      "each means):",
  );
  for (const option of perListenerOptions(sections)) lines.push(...keyLines(option, false));
  return lines;
}

/** `text` as comment lines of at most WIDTH characters; "" is an empty comment line. */
function comment(text: string): string[] {
  if (text === "") return ["#"];
  if (`# ${text}`.length <= WIDTH) return [checked(`# ${text}`)];
  const indent = /^ */.exec(text)![0];
  const lines: string[] = [];
  let current = "";
  for (const word of text.trim().split(/ +/)) {
    const candidate = current === "" ? word : `${current} ${word}`;
    if (`# ${indent}${candidate}`.length > WIDTH && current !== "") {
      lines.push(current);
      current = word;
    } else {
      current = candidate;
    }
  }
  lines.push(current);
  return lines.map((l) => checked(`# ${indent}${l}`));
}

/** A prose line read as a commented-out key would fool the tests that uncomment keys. */
function checked(line: string): string {
  if (keyOfLine(line) !== undefined) throw new Error(`prose line looks like a key: ${line}`);
  return line;
}
