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

/**
 * Parse TOML `text` read from `file`; throws `ConfigError` (syntax errors with line, column;
 * keys of the wrong shape with the rest of the file as `readSoFar`).
 */
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
        problems.push({ origin: at(lines.of([key])), key, message: `write [${key}], a table` });
        continue;
      }
      raw[name] = emptySection(at(lines.of([key])));
      fill(raw[name], value, { path: [key], prefix: `${key}.` });
    } else if ((ARRAYS as readonly string[]).includes(key)) {
      const name = key as typeof ARRAYS[number];
      if (!Array.isArray(value) || !value.every(isTable)) {
        problems.push({
          origin: at(lines.of([key])),
          key,
          message: `write [[${key}]], a list of tables`,
        });
        continue;
      }
      const sections = value.map((table, i) => {
        const path = [key, `#${i + 1}`];
        const section = emptySection(at(lines.of(path)));
        fill(section, table, { path, prefix: `${key}[${i + 1}].` });
        return section;
      });
      raw[name === "listener" ? "listeners" : "bridges"] = sections;
    } else if (isTable(value)) {
      const guess = closestName(key, [...TABLES, ...ARRAYS]);
      problems.push({
        origin: at(lines.of([key])),
        key,
        message: `unknown table${guess === undefined ? "" : `; did you mean ${guess}?`}`,
      });
    } else if (key === "include_dir") {
      problems.push({
        origin: at(lines.of([key])),
        key,
        message: "only mosquitto.conf files include directories; list everything in this file",
      });
    } else {
      add(raw.general, key, value, at(lines.of([key])), key);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems, raw);
  return raw;

  function fill(
    section: RawSection,
    table: Record<string, unknown>,
    where: { path: string[]; prefix: string },
  ): void {
    for (const [key, value] of Object.entries(table)) {
      add(section, key, value, at(lines.of([...where.path, key])), where.prefix + key);
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
 * The line of every key and table header, by its path (`["listener", "#1", "tls"]`: the Nth
 * `[[listener]]` table is a `#N` step), found by scanning the text line by line: enough for the files
 * people write (one key per line). A dotted key or header also gives its line to the tables it
 * opens; a key inside an inline table or array has no line of its own and is found at the line
 * of the nearest key above it. Keys inside multi-line strings or arrays are skipped.
 */
class KeyLines {
  #lines = new Map<string, number>();

  constructor(text: string) {
    let header: string[] = [];
    const counts = new Map<string, number>(); // occurrences of each [[array]] header
    let depth = 0; // open brackets of a multi-line array
    let array = { path: [] as string[], tables: 0 }; // the array being read, its tables so far
    const table = (line: number) => {
      array.tables++;
      this.#record([...array.path, `#${array.tables}`], line);
    };
    let inString: string | undefined; // the delimiter of an open multi-line string
    text.split("\n").forEach((line, i) => {
      const number = i + 1;
      if (inString !== undefined) {
        if (line.includes(inString)) inString = undefined;
        return;
      }
      if (depth > 0) {
        depth += bracketBalance(line, depth, () => table(number));
        return;
      }
      const tableMatch = /^\s*(\[\[?)([^\]]+)\]/.exec(line);
      if (tableMatch !== null) {
        const parts = dottedKey(tableMatch[2]);
        if (parts === undefined) return;
        header = this.#resolve(parts, counts);
        if (tableMatch[1] === "[[") {
          const id = pathId(header);
          const index = (counts.get(id) ?? 0) + 1;
          counts.set(id, index);
          header = [...header, `#${index}`];
        }
        this.#record(header, number);
        return;
      }
      const keyMatch = /^\s*([^=#]+?)\s*=\s*(.*)$/.exec(line);
      if (keyMatch === null) return;
      const parts = dottedKey(keyMatch[1]);
      if (parts === undefined) return;
      const path = [...header, ...parts];
      this.#record(path, number);
      const rest = keyMatch[2];
      for (const delimiter of ['"""', "'''"]) {
        const at = rest.indexOf(delimiter);
        if (at >= 0 && rest.indexOf(delimiter, at + 3) < 0) inString = delimiter;
      }
      if (inString === undefined && rest.trimStart().startsWith("[")) {
        array = { path, tables: 0 };
        depth = Math.max(0, bracketBalance(rest, 0, () => table(number)));
      }
    });
  }

  /** A header's path: each step that names an array of tables goes to its latest table. */
  #resolve(parts: string[], counts: Map<string, number>): string[] {
    const path: string[] = [];
    for (const part of parts.slice(0, -1)) {
      path.push(part);
      const count = counts.get(pathId(path));
      if (count !== undefined) path.push(`#${count}`);
    }
    return [...path, parts[parts.length - 1]];
  }

  /** Give `line` to `path` and to the tables above it that have no line yet. */
  #record(path: string[], line: number): void {
    for (let n = 1; n <= path.length; n++) {
      const id = pathId(path.slice(0, n));
      if (!this.#lines.has(id)) this.#lines.set(id, line);
    }
  }

  /**
   * The line of the key at `path` (`["listener", "#2", "port"]`), or of the nearest table or
   * key above it that has one; 1 when none has.
   */
  of(path: string[]): number {
    for (let n = path.length; n > 0; n--) {
      const line = this.#lines.get(pathId(path.slice(0, n)));
      if (line !== undefined) return line;
    }
    return 1;
  }
}

/** A map key for a path (its steps may hold dots). */
function pathId(path: string[]): string {
  return JSON.stringify(path);
}

/** The parts of a TOML key as written (`a."b.c".d`), or undefined if it is not one. */
function dottedKey(text: string): string[] | undefined {
  const parts: string[] = [];
  const part = /\s*(?:([A-Za-z0-9_-]+)|"((?:[^"\\]|\\.)*)"|'([^']*)')\s*(\.|$)/y;
  let match: RegExpExecArray | null;
  while (part.lastIndex < text.length && (match = part.exec(text)) !== null) {
    if (match[2] !== undefined) {
      try {
        parts.push(JSON.parse(`"${match[2]}"`));
      } catch {
        return undefined;
      }
    } else {
      parts.push(match[1] ?? match[3]);
    }
    if (match[4] === "") return parts;
  }
  return undefined;
}

/**
 * Opening minus closing brackets outside strings and comments, in a line read `depth` brackets
 * deep; `onTable` is called for each inline table that opens directly in the outer array.
 */
function bracketBalance(text: string, depth: number, onTable: () => void): number {
  let balance = 0;
  let braces = 0;
  let quote: string | undefined;
  for (const ch of text) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "#") break;
    else if (ch === "[") balance++;
    else if (ch === "]") balance--;
    else if (ch === "{") {
      if (depth + balance === 1 && braces === 0) onTable();
      braces++;
    } else if (ch === "}") braces--;
  }
  return balance;
}
