/**
 * JSON as mosquitto_sub's `%j` and `%J` write it: Mosquitto builds the object with cJSON
 * (1.7.15 here), so this parses and prints the way cJSON does — strings as raw bytes (only
 * `"`, `\` and control characters escaped, nothing cut at invalid UTF-8, but cut at a NUL),
 * numbers through C's `%1.15g`, `--pretty` with cJSON's tabs, lenient numbers on input (`01`,
 * `1.`, `-.5`), at most 1000 levels of nesting.
 *
 * @module
 */

/** A JSON value; strings are bytes, objects keep duplicate keys in order. */
export type JsonValue =
  | { type: "null" }
  | { type: "bool"; value: boolean }
  | { type: "number"; value: number }
  | { type: "string"; bytes: Uint8Array }
  | { type: "array"; items: JsonValue[] }
  | { type: "object"; entries: [key: Uint8Array, value: JsonValue][] };

const encoder = new TextEncoder();

/** A JSON string from text. */
export function jsonString(text: string | Uint8Array): JsonValue {
  return { type: "string", bytes: typeof text === "string" ? encoder.encode(text) : text };
}

/** A JSON number. */
export function jsonNumber(value: number): JsonValue {
  return { type: "number", value };
}

/** A JSON object from key/value pairs (keys as text). */
export function jsonObject(entries: [string, JsonValue][]): JsonValue {
  return { type: "object", entries: entries.map(([k, v]) => [encoder.encode(k), v]) };
}

const NESTING_LIMIT = 1000;
const NUMBER_CHARS = /^[0-9+\-eE.]{1,63}/;
const STRTOD = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/;

/** Parses one document, cJSON style; throws `SyntaxError` where cJSON fails. */
class Parser {
  #at = 0;
  #depth = 0;
  constructor(readonly bytes: Uint8Array) {}

  #fail(): never {
    throw new SyntaxError(`invalid JSON at byte ${this.#at}`);
  }

  skipSpace(): void {
    while (this.#at < this.bytes.length && this.bytes[this.#at] <= 32) this.#at++;
  }

  get atEnd(): boolean {
    return this.#at >= this.bytes.length;
  }

  #startsWith(word: string): boolean {
    for (let i = 0; i < word.length; i++) {
      if (this.bytes[this.#at + i] !== word.charCodeAt(i)) return false;
    }
    return true;
  }

  value(): JsonValue {
    const c = this.bytes[this.#at];
    for (const [word, value] of LITERALS) {
      if (this.#startsWith(word)) {
        this.#at += word.length;
        return value;
      }
    }
    if (c === 0x22) return this.#string();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.#number();
    if (c === 0x5b) return this.#array();
    if (c === 0x7b) return this.#object();
    this.#fail();
  }

  #number(): JsonValue {
    const rest = String.fromCharCode(...this.bytes.subarray(this.#at, this.#at + 63));
    const candidate = NUMBER_CHARS.exec(rest)?.[0] ?? "";
    const number = STRTOD.exec(candidate)?.[0];
    if (number === undefined) this.#fail();
    this.#at += number.length;
    return { type: "number", value: Number(number) };
  }

  #hex4(at: number): number {
    const text = String.fromCharCode(...this.bytes.subarray(at, at + 4));
    if (!/^[0-9a-fA-F]{4}$/.test(text)) this.#fail();
    return parseInt(text, 16);
  }

  #string(): JsonValue {
    let end = this.#at + 1;
    while (end < this.bytes.length && this.bytes[end] !== 0x22) {
      if (this.bytes[end] === 0x5c) end++;
      end++;
    }
    if (end >= this.bytes.length) this.#fail();
    const out: number[] = [];
    for (let i = this.#at + 1; i < end; i++) {
      const c = this.bytes[i];
      if (c !== 0x5c) {
        out.push(c);
        continue;
      }
      const e = this.bytes[++i];
      const simple = ESCAPES_IN[e];
      if (simple !== undefined) {
        out.push(simple);
        continue;
      }
      if (e !== 0x75) this.#fail(); // 'u'
      let code = this.#hex4(i + 1);
      i += 4;
      if (code >= 0xdc00 && code <= 0xdfff) this.#fail();
      if (code >= 0xd800 && code <= 0xdbff) {
        if (this.bytes[i + 1] !== 0x5c || this.bytes[i + 2] !== 0x75) this.#fail();
        const low = this.#hex4(i + 3);
        if (low < 0xdc00 || low > 0xdfff) this.#fail();
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i += 6;
      }
      out.push(...encoder.encode(String.fromCodePoint(code)));
    }
    this.#at = end + 1;
    return { type: "string", bytes: new Uint8Array(out) };
  }

  #enter(): void {
    if (this.#depth >= NESTING_LIMIT) this.#fail();
    this.#depth++;
    this.#at++;
    this.skipSpace();
  }

  #array(): JsonValue {
    this.#enter();
    const items: JsonValue[] = [];
    if (this.bytes[this.#at] !== 0x5d) {
      for (;;) {
        this.skipSpace();
        items.push(this.value());
        this.skipSpace();
        if (this.bytes[this.#at] !== 0x2c) break;
        this.#at++;
      }
      if (this.bytes[this.#at] !== 0x5d) this.#fail();
    }
    this.#at++;
    this.#depth--;
    return { type: "array", items };
  }

  #object(): JsonValue {
    this.#enter();
    const entries: [Uint8Array, JsonValue][] = [];
    if (this.bytes[this.#at] !== 0x7d) {
      for (;;) {
        this.skipSpace();
        if (this.bytes[this.#at] !== 0x22) this.#fail();
        const key = this.#string() as { bytes: Uint8Array };
        this.skipSpace();
        if (this.bytes[this.#at] !== 0x3a) this.#fail();
        this.#at++;
        this.skipSpace();
        entries.push([key.bytes, this.value()]);
        this.skipSpace();
        if (this.bytes[this.#at] !== 0x2c) break;
        this.#at++;
      }
      if (this.bytes[this.#at] !== 0x7d) this.#fail();
    }
    this.#at++;
    this.#depth--;
    return { type: "object", entries };
  }
}

const LITERALS: [string, JsonValue][] = [
  ["null", { type: "null" }],
  ["false", { type: "bool", value: false }],
  ["true", { type: "bool", value: true }],
];

/** Escape letters after `\` in JSON input and the bytes they stand for. */
const ESCAPES_IN: Readonly<Record<number, number>> = {
  0x62: 0x08, // b
  0x66: 0x0c, // f
  0x6e: 0x0a, // n
  0x72: 0x0d, // r
  0x74: 0x09, // t
  0x22: 0x22, // "
  0x5c: 0x5c, // \
  0x2f: 0x2f, // /
};

/**
 * Parse `bytes` as `%J` does: as a C string (it ends at the first NUL), a UTF-8 byte order mark
 * skipped, one value, nothing after it but whitespace (any byte up to 0x20). Undefined when
 * cJSON would refuse it.
 */
export function parseJsonPayload(bytes: Uint8Array): JsonValue | undefined {
  const nul = bytes.indexOf(0);
  let text = nul === -1 ? bytes : bytes.subarray(0, nul);
  if (text[0] === 0xef && text[1] === 0xbb && text[2] === 0xbf) text = text.subarray(3);
  const parser = new Parser(text);
  try {
    parser.skipSpace();
    const value = parser.value();
    parser.skipSpace();
    return parser.atEnd ? value : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** C `printf("%1.<precision>g", value)` for a finite number. */
export function formatG(value: number, precision: number): string {
  if (value === 0) return Object.is(value, -0) ? "-0" : "0";
  const sign = value < 0 ? "-" : "";
  const [mantissa, exponentText] = Math.abs(value).toExponential(precision - 1).split("e");
  const exponent = Number(exponentText);
  const trim = (digits: string) => digits.includes(".") ? digits.replace(/\.?0+$/, "") : digits;
  if (exponent < -4 || exponent >= precision) {
    const e = Math.abs(exponent).toString().padStart(2, "0");
    return `${sign}${trim(mantissa)}e${exponent < 0 ? "-" : "+"}${e}`;
  }
  return sign + trim(Math.abs(value).toFixed(precision - 1 - exponent));
}

/** A number as cJSON 1.7.15 prints it. */
function printNumber(value: number): string {
  if (!Number.isFinite(value)) return "null";
  const short = formatG(value, 15);
  const back = Number(short);
  const close =
    Math.abs(back - value) <= Math.max(Math.abs(back), Math.abs(value)) * Number.EPSILON;
  return close ? short : formatG(value, 17);
}

const ESCAPES_OUT: Readonly<Record<number, string>> = {
  0x22: '\\"',
  0x5c: "\\\\",
  0x08: "\\b",
  0x0c: "\\f",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
};

/** Collects output bytes. */
class Output {
  readonly chunks: (string | Uint8Array)[] = [];
  text(text: string): void {
    this.chunks.push(text);
  }
  string(bytes: Uint8Array): void {
    const nul = bytes.indexOf(0);
    const cut = nul === -1 ? bytes : bytes.subarray(0, nul);
    this.chunks.push('"');
    let from = 0;
    for (let i = 0; i < cut.length; i++) {
      const c = cut[i];
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
      this.chunks.push(cut.subarray(from, i));
      this.chunks.push(ESCAPES_OUT[c] ?? `\\u${c.toString(16).padStart(4, "0")}`);
      from = i + 1;
    }
    this.chunks.push(cut.subarray(from), '"');
  }
}

function print(value: JsonValue, out: Output, pretty: boolean, depth: number): void {
  switch (value.type) {
    case "null":
      return out.text("null");
    case "bool":
      return out.text(value.value ? "true" : "false");
    case "number":
      return out.text(printNumber(value.value));
    case "string":
      return out.string(value.bytes);
    case "array":
      out.text("[");
      value.items.forEach((item, i) => {
        if (i > 0) out.text(pretty ? ", " : ",");
        print(item, out, pretty, depth + 1);
      });
      return out.text("]");
    case "object": {
      const inner = "\t".repeat(depth + 1);
      out.text(pretty ? "{\n" : "{");
      value.entries.forEach(([key, item], i) => {
        if (pretty) out.text(inner);
        out.string(key);
        out.text(pretty ? ":\t" : ":");
        print(item, out, pretty, depth + 1);
        if (i < value.entries.length - 1) out.text(",");
        if (pretty) out.text("\n");
      });
      if (pretty) out.text("\t".repeat(depth));
      return out.text("}");
    }
  }
}

/** `value` printed as cJSON prints it: compact, or with `pretty`, as `cJSON_Print` indents. */
export function printJson(value: JsonValue, pretty: boolean): Uint8Array {
  const out = new Output();
  print(value, out, pretty, 0);
  const parts = out.chunks.map((c) => typeof c === "string" ? encoder.encode(c) : c);
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}
