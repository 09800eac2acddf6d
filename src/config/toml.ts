/**
 * Midge's own configuration format: TOML with Mosquitto's option names. Top-level keys are the
 * general options; `[log]`, `[persistence]` and `[security]` are tables; `[[listener]]` and
 * `[[bridge]]` are arrays of tables. Parsed with smol-toml; the line of each key is found by a
 * light scan of the text, since the parser does not report positions.
 *
 * @module
 */

import { parse, TomlError } from "smol-toml";
import { closestName, ConfigError, type ConfigProblem, readConfigText } from "./errors.ts";
import { sectionOf } from "./options.ts";
import {
  addEntry,
  emptyRawConfig,
  emptySection,
  type Origin,
  type RawConfig,
  type RawScalar,
  type RawSection,
} from "./raw.ts";

const TABLES = ["log", "persistence", "security"] as const;
const ARRAYS = ["listener", "bridge"] as const;

/** Read and parse the TOML file at `path`; throws `ConfigError`. */
export async function readTomlConfig(path: string): Promise<RawConfig> {
  return parseTomlConfig(await readConfigText(path), path);
}

/** Parse TOML `text` read from `file`; throws `ConfigError` (syntax errors with line, column). */
export function parseTomlConfig(text: string, file: string): RawConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const message = error.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    throw new ConfigError([{
      origin: { file, line: error.line },
      column: error.column,
      key: "",
      message: `TOML syntax: ${message}`,
    }]);
  }
  const lines = new KeyLines(text);
  const raw = emptyRawConfig(file, "toml");
  const problems: ConfigProblem[] = [];
  const at = (line: number): Origin => ({ file, line });
  for (const [key, value] of Object.entries(doc)) {
    if ((TABLES as readonly string[]).includes(key)) {
      const name = key as typeof TABLES[number];
      if (!isTable(value)) {
        problems.push({ origin: at(lines.key("", key)), key, message: `write [${key}], a table` });
        continue;
      }
      raw[name] = emptySection(at(lines.table(key, 0)));
      fill(raw[name], value, { header: key, index: 0, prefix: `${key}.` });
    } else if ((ARRAYS as readonly string[]).includes(key)) {
      const name = key as typeof ARRAYS[number];
      if (!Array.isArray(value) || !value.every(isTable)) {
        const line = isTable(value) ? lines.table(key, 0) : lines.key("", key);
        problems.push({ origin: at(line), key, message: `write [[${key}]], a list of tables` });
        continue;
      }
      const sections = value.map((table, i) => {
        const section = emptySection(at(lines.table(key, i)));
        fill(section, table, { header: key, index: i, prefix: `${key}[${i + 1}].` });
        return section;
      });
      raw[name === "listener" ? "listeners" : "bridges"] = sections;
    } else if (isTable(value)) {
      const guess = closestName(key, [...TABLES, ...ARRAYS]);
      problems.push({
        origin: at(lines.table(key, 0)),
        key,
        message: `unknown table${guess === undefined ? "" : `; did you mean ${guess}?`}`,
      });
    } else if (key === "include_dir") {
      problems.push({
        origin: at(lines.key("", key)),
        key,
        message: "only mosquitto.conf files include directories; list everything in this file",
      });
    } else {
      add(raw.general, key, value, at(lines.key("", key)), key);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return raw;

  function fill(
    section: RawSection,
    table: Record<string, unknown>,
    where: { header: string; index: number; prefix: string },
  ): void {
    for (const [key, value] of Object.entries(table)) {
      const line = lines.key(where.header, key, where.index) || section.origin.line;
      add(section, key, value, at(line), where.prefix + key);
    }
  }

  function add(section: RawSection, key: string, value: unknown, origin: Origin, path: string) {
    const scalar = toRaw(value);
    if (scalar === undefined) {
      // `ciphers_tls1.3 = "..."` unquoted is a table `ciphers_tls1` holding a key `3`.
      const inner = isTable(value) ? Object.keys(value) : [];
      const dotted = inner.length === 1 ? `${key}.${inner[0]}` : undefined;
      const message = dotted !== undefined && sectionOf(dotted) !== undefined
        ? `write "${dotted}" in quotes: a bare dot makes a table`
        : "must be a value, not a table";
      problems.push({ origin, key: path, message });
      return;
    }
    addEntry(section, key, { value: scalar, origin, text: false });
  }
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

/** A TOML value as a raw scalar or list; undefined for tables. Dates become their text. */
function toRaw(value: unknown): RawScalar | RawScalar[] | undefined {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    return value;
  }
  if (value instanceof Date) return String(value);
  if (Array.isArray(value)) {
    const items = value.map(toRaw);
    if (items.some((item) => item === undefined || Array.isArray(item))) return undefined;
    return items as RawScalar[];
  }
  return undefined;
}

/**
 * Lines of keys and table headers, found by scanning the text line by line: enough for the
 * files people write (one key per line). Keys inside multi-line strings or arrays are skipped.
 */
class KeyLines {
  #keys = new Map<string, number>();
  #tables = new Map<string, number>();

  constructor(text: string) {
    let header = "";
    const counts = new Map<string, number>();
    let index = 0;
    let depth = 0; // open brackets of a multi-line array
    let inString: string | undefined; // the delimiter of an open multi-line string
    text.split("\n").forEach((line, i) => {
      const number = i + 1;
      if (inString !== undefined) {
        if (line.includes(inString)) inString = undefined;
        return;
      }
      if (depth > 0) {
        depth += bracketBalance(line);
        return;
      }
      const tableMatch = /^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?/.exec(line);
      if (tableMatch !== null) {
        header = tableMatch[2];
        index = tableMatch[1] === "[[" ? counts.get(header) ?? 0 : 0;
        if (tableMatch[1] === "[[") counts.set(header, index + 1);
        this.#tables.set(`${header}#${index}`, number);
        return;
      }
      const keyMatch = /^\s*("([^"]+)"|'([^']+)'|[A-Za-z0-9_.-]+)\s*=\s*(.*)$/.exec(line);
      if (keyMatch === null) return;
      const key = keyMatch[2] ?? keyMatch[3] ?? keyMatch[1];
      // A dotted key (`a.b = 1`) is found under its first part, as the parser nests it.
      const first = keyMatch[1].startsWith('"') || keyMatch[1].startsWith("'")
        ? key
        : key.split(".")[0];
      const id = `${header}#${index}#${first}`;
      if (!this.#keys.has(id)) this.#keys.set(id, number);
      const rest = keyMatch[4];
      for (const delimiter of ['"""', "'''"]) {
        const at = rest.indexOf(delimiter);
        if (at >= 0 && rest.indexOf(delimiter, at + 3) < 0) inString = delimiter;
      }
      if (inString === undefined && rest.trimStart().startsWith("[")) {
        depth = Math.max(0, bracketBalance(rest));
      }
    });
  }

  /** Line of `key` in table `header` ("" = top level), occurrence `index`; 0 if not found. */
  key(header: string, key: string, index = 0): number {
    return this.#keys.get(`${header}#${index}#${key}`) ?? 0;
  }

  /** Line of the header of table `header`, occurrence `index`; 1 if not found. */
  table(header: string, index: number): number {
    return this.#tables.get(`${header}#${index}`) ?? 1;
  }
}

/** Opening minus closing brackets outside strings and comments. */
function bracketBalance(text: string): number {
  let balance = 0;
  let quote: string | undefined;
  for (const ch of text) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "#") break;
    else if (ch === "[") balance++;
    else if (ch === "]") balance--;
  }
  return balance;
}
