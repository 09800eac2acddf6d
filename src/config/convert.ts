/**
 * `midge convert`: a mosquitto.conf, as read by `readMosquittoConf`, written as Midge's TOML.
 * Every key gets its one line of documentation and the file and line it came from; values are
 * typed as the schema parses them; lines that cannot be converted (unknown options, bad values,
 * options Mosquitto would ignore where they are) are kept as `# UNKNOWN:` comments, so nothing
 * is dropped without a trace.
 *
 * @module
 */

import { closestName, type ConfigProblem, sortProblems } from "./errors.ts";
import { isDefaultListener, isImpliedPort } from "./mosquitto_conf.ts";
import { findOption, SECTION_NAMES, SECTION_TABLES, sectionOf } from "./options.ts";
import type { Origin, RawConfig, RawEntry, RawScalar, RawSection } from "./raw.ts";
import { type OptionSpec, type SectionName, ValueProblem } from "./schema.ts";

/** The TOML text and the lines that could not be converted. */
export interface Conversion {
  /** The TOML file, ending with a newline. */
  toml: string;
  /** One problem per mosquitto.conf line kept as a `# UNKNOWN:` comment, in file order. */
  unconverted: ConfigProblem[];
}

/** `raw` (read from mosquitto.conf) as TOML, with comments. */
export function mosquittoToToml(raw: RawConfig): string {
  return convertMosquitto(raw).toml;
}

/** `raw` as TOML, with the lines kept as `# UNKNOWN:` comments. */
export function convertMosquitto(raw: RawConfig): Conversion {
  const out = new Output();
  out.comment(`Midge configuration converted from ${raw.file} by \`midge convert\`.`);
  out.comment("Each key names the mosquitto.conf line it came from; lines that could not be");
  out.comment("converted are kept below as UNKNOWN comments.");
  keys(out, "general", raw.general);
  for (const name of ["log", "persistence", "security"] as const) {
    if (raw[name].entries.size === 0) continue;
    out.blank();
    out.line(`[${name}]`);
    keys(out, name, raw[name]);
  }
  for (const section of raw.listeners) {
    out.blank();
    if (isDefaultListener(section)) {
      out.comment("The default listener: Mosquitto's port and bind_address lines, and listener");
      out.comment(
        "options written before any listener line (Mosquitto opens it after the others).",
      );
    } else {
      out.comment(`listener ${lineText(section, "port", "bind_address")} (${at(section.origin)})`);
    }
    out.line("[[listener]]");
    keys(out, "listener", section);
  }
  for (const section of raw.bridges) {
    out.blank();
    out.comment(`connection ${lineText(section, "connection")} (${at(section.origin)})`);
    const connection = findOption("bridge", "connection")!;
    if (connection.support !== "supported") out.comment(`Midge: ${connection.note}`);
    out.line("[[bridge]]");
    keys(out, "bridge", section);
  }
  return { toml: out.lines.join("\n") + "\n", unconverted: sortProblems(out.unconverted) };
}

/** The lines being written. */
class Output {
  readonly lines: string[] = [];
  readonly unconverted: ConfigProblem[] = [];

  line(text: string): void {
    this.lines.push(text);
  }

  comment(text: string): void {
    this.lines.push(`# ${commentSafe(text)}`);
  }

  /** A blank line, unless after another or right after a table header. */
  blank(): void {
    const last = this.lines.at(-1);
    if (last !== undefined && last !== "" && !last.startsWith("[")) this.lines.push("");
  }

  unknown(key: string, entries: RawEntry[], why: string): void {
    this.blank();
    this.comment(`Not converted: ${why}${/[.?!]$/.test(why) ? "" : "."}`);
    for (const entry of entries) {
      const line = `${key} ${String(entry.value)}`.trimEnd();
      this.comment(`UNKNOWN: ${line} (${at(entry.origin)})`);
      this.unconverted.push({ origin: entry.origin, key, message: `not converted: ${why}` });
    }
  }
}

/** The spec `key` has in `section`, counting per-listener security options in listeners. */
function specOf(section: SectionName, key: string): OptionSpec | undefined {
  const own = findOption(section, key);
  if (own !== undefined || section !== "listener") return own;
  const security = findOption("security", key);
  return security?.perListener ? security : undefined;
}

/** Write the keys of one section. */
function keys(out: Output, section: SectionName, raw: RawSection): void {
  for (const [key, entries] of raw.entries) {
    const spec = specOf(section, key);
    if (spec === undefined) {
      out.unknown(key, entries, whyNot(section, key));
    } else if (spec.repeatable) {
      repeated(out, spec, key, entries);
    } else {
      single(out, spec, key, entries);
    }
  }
}

/** A key that takes one value: the last line wins, as in Mosquitto. */
function single(out: Output, spec: OptionSpec, key: string, entries: RawEntry[]): void {
  const last = entries[entries.length - 1];
  const value = typed(spec, last);
  if ("problem" in value) return out.unknown(key, entries, value.problem);
  out.blank();
  describe(out, spec);
  if (isImpliedPort(last)) {
    out.comment("Mosquitto's default port: this listener had no port line.");
  } else {
    out.comment(`from ${at(last.origin)}`);
  }
  for (const earlier of entries.slice(0, -1)) {
    out.comment(`also set at ${at(earlier.origin)} to ${String(earlier.value)}; the last one wins`);
  }
  out.line(`${tomlKey(key)} = ${tomlValue(value.value)}`);
}

/** A key whose lines add up: a TOML array; bad values stay as UNKNOWN comments. */
function repeated(out: Output, spec: OptionSpec, key: string, entries: RawEntry[]): void {
  const good: { entry: RawEntry; value: RawScalar }[] = [];
  for (const entry of entries) {
    const value = typed(spec, entry);
    if ("problem" in value) out.unknown(key, [entry], value.problem);
    else good.push({ entry, value: value.value });
  }
  if (good.length === 0) return;
  out.blank();
  describe(out, spec);
  out.comment(`from ${atList(good.map((g) => g.entry.origin))}`);
  out.line(`${tomlKey(key)} = [${good.map((g) => tomlValue(g.value)).join(", ")}]`);
}

/** The option's documentation and, when Midge differs, how. */
function describe(out: Output, spec: OptionSpec): void {
  out.comment(spec.doc);
  if (spec.note === undefined || spec.support === "supported") return;
  if (SECTION_TABLES.bridge[spec.name] === spec) return; // said once per bridge
  const how = {
    different: "works differently",
    legacy: "accepted, without effect",
    pending: "not built yet",
    refused: "not available",
  }[spec.support];
  out.comment(`Midge: ${how}: ${spec.note}`);
}

/** Why a key cannot be written where it is. */
function whyNot(section: SectionName, key: string): string {
  const home = sectionOf(key);
  if (home === undefined) {
    const names = SECTION_NAMES.flatMap((s) => Object.keys(SECTION_TABLES[s]));
    const guess = closestName(key, names);
    return guess === undefined ? "unknown option" : `unknown option; did you mean ${guess}?`;
  }
  if (home === "bridge") return "a bridge option outside a bridge (no connection line before it)";
  if (section === "general" && (home === "listener" || home === "security")) {
    return "a listener option outside a listener (Mosquitto ignores it there)";
  }
  return `a ${home} option, not a ${section} option`;
}

/**
 * The typed value the schema reads as it reads the mosquitto.conf text: true/false, an
 * integer, or the text itself, whichever parses to the same value.
 */
function typed(spec: OptionSpec, entry: RawEntry): { value: RawScalar } | { problem: string } {
  if (!entry.text) return { value: entry.value as RawScalar };
  const text = String(entry.value);
  let expected: unknown;
  try {
    expected = spec.parse(text, true);
  } catch (error) {
    if (error instanceof ValueProblem) return { problem: error.message };
    throw error;
  }
  const candidates: RawScalar[] = [];
  // Mosquitto also reads 1 and 0 as booleans.
  if (["true", "false", "1", "0"].includes(text)) candidates.push(text === "true" || text === "1");
  if (/^-?[0-9]+$/.test(text) && Number.isSafeInteger(Number(text))) candidates.push(Number(text));
  candidates.push(text);
  for (const candidate of candidates) {
    try {
      if (same(spec.parse(candidate, false), expected)) return { value: candidate };
    } catch (error) {
      if (!(error instanceof ValueProblem)) throw error;
    }
  }
  return { problem: "cannot be written in TOML" };
}

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => same(v, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => same(a[k], b[k]));
  }
  return a === b;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The value of a listener or bridge line's own keys, for its heading comment. */
function lineText(section: RawSection, ...keys: string[]): string {
  return keys.map((k) => section.entries.get(k)?.[0]?.value).filter((v) => v !== undefined)
    .join(" ");
}

function at(origin: Origin): string {
  return `${origin.file}:${origin.line}`;
}

/** Origins as `a.conf:3, 4, b.conf:1`: the file named when it changes. */
function atList(origins: Origin[]): string {
  return origins.map((o, i) => i > 0 && origins[i - 1].file === o.file ? String(o.line) : at(o))
    .join(", ");
}

/** A key, bare when TOML allows it, else quoted. */
export function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : tomlString(key);
}

/** A scalar in TOML. */
function tomlValue(value: RawScalar): string {
  return typeof value === "string" ? tomlString(value) : String(value);
}

const ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\t": "\\t",
  "\n": "\\n",
  "\f": "\\f",
  "\r": "\\r",
};

/** A TOML basic string: quotes, backslashes and control characters escaped. */
export function tomlString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ESCAPES[ch] !== undefined) out += ESCAPES[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return out + '"';
}

/** Comment text: TOML comments may not hold control characters other than tab. */
function commentSafe(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    out += (code < 0x20 && ch !== "\t") || code === 0x7f
      ? `\\u${code.toString(16).padStart(4, "0")}`
      : ch;
  }
  return out;
}
