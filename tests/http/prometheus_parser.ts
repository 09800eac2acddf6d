/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for the `/metrics` tests:
 * it throws, naming the line, on anything the format forbids and on what Midge promises beyond
 * it (every family has HELP and TYPE before its samples, its samples are together and carry one
 * set of label names, no label value is empty, counters end in `_total` and are never negative).
 *
 * @module
 */

/** One sample line. */
export interface Sample {
  /** Its labels. */
  labels: Record<string, string>;
  /** Its value. */
  value: number;
}

/** One metric family: its TYPE, HELP and samples, in order. */
export interface Family {
  /** counter or gauge (the only types Midge writes). */
  type: "counter" | "gauge";
  /** The HELP text, unescaped. */
  help: string;
  /** The samples. */
  samples: Sample[];
  /** The label names every sample carries, sorted and joined by commas. */
  labelNames?: string;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/** A problem on one line. */
export class ExpositionError extends Error {}

function parseValue(text: string, where: string): number {
  if (text === "NaN") return NaN;
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (!FLOAT.test(text)) throw new ExpositionError(`${where}: bad value ${JSON.stringify(text)}`);
  return Number(text);
}

/** Unescape HELP text: only `\\` and `\n` are escapes. */
function unescapeHelp(text: string, where: string): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    throw new ExpositionError(`${where}: bad escape in HELP: \\${c}`);
  });
}

/** Read `{name="value",...}` starting at `text[0] === "{"`; returns the labels and the rest. */
function parseLabels(
  text: string,
  where: string,
): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  if (text[i] === "}") return { labels, rest: text.slice(i + 1) };
  for (;;) {
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new ExpositionError(`${where}: label without '='`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name) || name.startsWith("__")) {
      throw new ExpositionError(`${where}: bad label name ${JSON.stringify(name)}`);
    }
    if (Object.hasOwn(labels, name)) throw new ExpositionError(`${where}: label ${name} twice`);
    if (text[eq + 1] !== '"') throw new ExpositionError(`${where}: label ${name} not quoted`);
    let value = "";
    let j = eq + 2;
    for (;; j++) {
      const c = text[j];
      if (c === undefined) throw new ExpositionError(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === "\n") throw new ExpositionError(`${where}: raw line feed in a label value`);
      if (c === "\\") {
        const next = text[++j];
        if (next === "\\" || next === '"') value += next;
        else if (next === "n") value += "\n";
        else throw new ExpositionError(`${where}: bad escape \\${next} in label ${name}`);
      } else {
        value += c;
      }
    }
    // Prometheus reads an empty value as no label: it would hide a second label set.
    if (value === "") throw new ExpositionError(`${where}: label ${name} is empty`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === "}") return { labels, rest: text.slice(i + 1) };
    if (text[i] !== ",") throw new ExpositionError(`${where}: expected ',' or '}' after label`);
    i++;
  }
}

/** Parse a whole exposition; families by name, in order. Throws `ExpositionError`. */
export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new ExpositionError("the text must end with a line feed");
  if (text.includes("\r")) throw new ExpositionError("carriage return in the text");
  const families = new Map<string, Family>();
  const helps = new Map<string, string>();
  const seenSeries = new Set<string>();
  let current: string | undefined; // the family whose samples are being read
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line === "") throw new ExpositionError(`${where}: empty line`);
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (m === null) return; // a plain comment
      const [, keyword, name, rest = ""] = m;
      if (!METRIC_NAME.test(name)) throw new ExpositionError(`${where}: bad name ${name}`);
      if (families.get(name)?.samples.length) {
        throw new ExpositionError(`${where}: ${keyword} for ${name} after its samples`);
      }
      if (keyword === "HELP") {
        if (helps.has(name)) throw new ExpositionError(`${where}: second HELP for ${name}`);
        helps.set(name, unescapeHelp(rest, where));
      } else {
        if (families.has(name)) throw new ExpositionError(`${where}: second TYPE for ${name}`);
        if (rest !== "counter" && rest !== "gauge") {
          throw new ExpositionError(
            `${where}: TYPE ${JSON.stringify(rest)} is not written by Midge`,
          );
        }
        if (!helps.has(name)) throw new ExpositionError(`${where}: TYPE for ${name} before HELP`);
        if (rest === "counter" && !name.endsWith("_total")) {
          throw new ExpositionError(`${where}: counter ${name} does not end in _total`);
        }
        families.set(name, { type: rest, help: helps.get(name)!, samples: [] });
      }
      return;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (nameMatch === null) throw new ExpositionError(`${where}: no metric name`);
    const name = nameMatch[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) ({ labels, rest } = parseLabels(rest, where));
    const parts = rest.split(" ");
    if (parts[0] !== "" || parts.length < 2 || parts.length > 3) {
      throw new ExpositionError(`${where}: expected 'name{labels} value [timestamp]'`);
    }
    const value = parseValue(parts[1], where);
    if (parts.length === 3 && !/^-?[0-9]+$/.test(parts[2])) {
      throw new ExpositionError(`${where}: bad timestamp ${parts[2]}`);
    }
    const family = families.get(name);
    if (family === undefined) throw new ExpositionError(`${where}: ${name} has no TYPE before it`);
    if (current !== name && family.samples.length > 0) {
      throw new ExpositionError(`${where}: samples of ${name} are not together`);
    }
    current = name;
    const series = name + JSON.stringify(Object.entries(labels).sort());
    if (seenSeries.has(series)) throw new ExpositionError(`${where}: ${series} twice`);
    seenSeries.add(series);
    const labelNames = Object.keys(labels).sort().join(",");
    family.labelNames ??= labelNames;
    if (family.labelNames !== labelNames) {
      throw new ExpositionError(
        `${where}: ${name} has labels {${labelNames}} after {${family.labelNames}}`,
      );
    }
    if (family.type === "counter" && !(value >= 0 && value < Infinity)) {
      throw new ExpositionError(`${where}: counter ${name} is ${value}`);
    }
    family.samples.push({ labels, value });
  });
  for (const name of helps.keys()) {
    if (!families.has(name)) throw new ExpositionError(`HELP for ${name} without a TYPE`);
  }
  return families;
}

/** The sum of a family's samples whose labels include `match`. */
export function sumOf(
  families: Map<string, Family>,
  name: string,
  match: Record<string, string> = {},
): number {
  const family = families.get(name);
  if (family === undefined) throw new Error(`no family ${name}`);
  let sum = 0;
  for (const s of family.samples) {
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}
