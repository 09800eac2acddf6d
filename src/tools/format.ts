/**
 * How mosquitto_sub (and mosquitto_rr) print a message: the payload, `topic payload` with
 * `-v`, or the `-F` format, byte for byte as Mosquitto 2.0.11 prints it — quirks included
 * (`-v` prints `(null)` for an empty payload; a field width cuts `%p` to that many bytes and
 * `%x` to half as many bytes; widths count bytes, not characters). See `checkFormat` for what
 * a format may contain.
 *
 * @module
 */

import type { Properties, QoS } from "../codec/types.ts";
import { strftime } from "../log/strftime.ts";
import {
  jsonNumber,
  jsonObject,
  jsonString,
  type JsonValue,
  parseJsonPayload,
  printJson,
} from "./format_json.ts";

/** A message as the subscriber received it. */
export interface ReceivedMessage {
  /** Topic name (after any topic alias was resolved). */
  topic: string;
  /** Payload bytes. */
  payload: Uint8Array;
  /** QoS it was delivered at. */
  qos: QoS;
  /** Retain flag as delivered. */
  retain: boolean;
  /** Packet identifier (0 at QoS 0). */
  packetId: number;
  /** The receiving client's id. */
  clientId: string;
  /** MQTT 5 properties, in the order they came on the wire. */
  properties?: Properties;
}

/** The moment a message was received: the date to the second (or finer) and nanoseconds. */
export interface ReceiptTime {
  /** The date; only its whole seconds are used. */
  date: Date;
  /** Nanoseconds past that second, 0-999999999. */
  nanos: number;
}

/** How to print. */
export interface FormatOptions {
  /** `-F`, already accepted by `checkFormat`. */
  format?: string;
  /** `-v`. */
  verbose: boolean;
  /** False with `-N`. */
  eol: boolean;
  /** `--pretty`, for `%j` and `%J`. */
  pretty: boolean;
  /** When the message arrived (every time field of one message uses it). */
  now: ReceiptTime;
  /** Receives error lines for stderr (a `%J` payload that is not JSON). */
  onError?: (line: string) => void;
}

/** The `%` conversions mosquitto_sub 2.0.11 knows. */
const CONVERSIONS = new Set("%ACDEFIjJlmpPqrRStUxX");
/** The `\` escapes it knows and the bytes they stand for. */
const ESCAPES: Readonly<Record<string, number>> = {
  "\\": 0x5c,
  "0": 0x00,
  a: 0x07,
  e: 0x1b,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
};

/** One `%` conversion: flags, width, precision, letter; `end` is the index after it. */
interface Spec {
  left: boolean;
  zero: boolean;
  width: number;
  precision?: number;
  letter: string;
  end: number;
}

/** Read the conversion whose `%` is at `at`; undefined if the format ends inside it. */
function readSpec(format: string, at: number): Spec | undefined {
  let i = at + 1;
  const left = format[i] === "-";
  if (left) i++;
  const zero = format[i] === "0";
  const widthText = /^[0-9]*/.exec(format.slice(i))![0];
  i += widthText.length;
  let precision: number | undefined;
  if (format[i] === ".") {
    const digits = /^[0-9]*/.exec(format.slice(i + 1))![0];
    precision = digits === "" ? 0 : Number(digits);
    i += 1 + digits.length;
  }
  if (i >= format.length) return undefined;
  const width = widthText === "" ? 0 : Number(widthText);
  return { left, zero, width, precision, letter: format[i], end: i + 1 };
}

/**
 * Check a `-F` format as mosquitto_sub does when it reads the option; the error line
 * (without the usage hint), or undefined when it is fine. `%` takes an optional `-`, an
 * optional `0`, a width, a `.precision` and one of `%ACDEFIjJlmpPqrRStUxX`; `@` takes any
 * character; `\` takes one of `\0aenrtv`.
 */
export function checkFormat(format: string): string | undefined {
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c === "%") {
      const spec = readSpec(format, i);
      if (spec === undefined) return "Error: Incomplete format specifier.";
      if (!CONVERSIONS.has(spec.letter)) {
        return `Error: Invalid format specifier '${spec.letter}'.`;
      }
      i = spec.end - 1;
    } else if (c === "@") {
      if (i + 1 >= format.length) return "Error: Incomplete format specifier.";
      i++;
    } else if (c === "\\") {
      if (i + 1 >= format.length) return "Error: Incomplete escape specifier.";
      if (!(format[i + 1] in ESCAPES)) return `Error: Invalid escape specifier '${format[i + 1]}'.`;
      i++;
    }
  }
  return undefined;
}

const encoder = new TextEncoder();

/** Collects output bytes. */
class Bytes {
  readonly parts: Uint8Array[] = [];
  add(part: string | Uint8Array): void {
    this.parts.push(typeof part === "string" ? encoder.encode(part) : part);
  }
  join(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

/** `bytes` padded to `width` with `fill`, on the right when `left`. */
function pad(bytes: Uint8Array, width: number, left: boolean, fill = " "): Uint8Array {
  if (bytes.length >= width) return bytes;
  const padding = encoder.encode(fill.repeat(width - bytes.length));
  const out = new Uint8Array(width);
  out.set(left ? bytes : padding);
  out.set(left ? padding : bytes, left ? bytes.length : padding.length);
  return out;
}

/** A number as printf `%[-][0][width]d` prints it; absent: only the padding. */
function number(spec: Spec, value: number | undefined): Uint8Array {
  const fill = spec.zero && !spec.left ? "0" : " ";
  return pad(encoder.encode(value === undefined ? "" : String(value)), spec.width, spec.left, fill);
}

/** Text as printf `%[-][width][.precision]s` prints it, counting bytes. */
function text(spec: Spec, value: string): Uint8Array {
  let bytes = encoder.encode(value);
  if (spec.precision !== undefined) bytes = bytes.subarray(0, spec.precision);
  return pad(bytes, spec.width, spec.left);
}

/** The payload for `%p`: a width both pads and cuts it to that many bytes. */
function payload(spec: Spec, bytes: Uint8Array): Uint8Array {
  if (spec.width === 0) return bytes;
  const fill = spec.zero && !spec.left ? "0" : " ";
  return pad(bytes.subarray(0, spec.width), spec.width, spec.left, fill);
}

/** The payload in hex for `%x`/`%X`: a width keeps min(width/2, length/2) bytes, padded. */
function hex(spec: Spec, bytes: Uint8Array, upper: boolean): Uint8Array {
  const shown = spec.width === 0
    ? bytes
    : bytes.subarray(0, Math.min(Math.floor(spec.width / 2), Math.floor(bytes.length / 2)));
  let digits = Array.from(shown, (b) => b.toString(16).padStart(2, "0")).join("");
  if (upper) digits = digits.toUpperCase();
  const fill = spec.zero && !spec.left ? "0" : " ";
  return pad(encoder.encode(digits), spec.width, spec.left, fill);
}

/** Seconds since the epoch and nanoseconds. */
function unixTime(now: ReceiptTime): string {
  return `${Math.floor(now.date.getTime() / 1000)}.${String(now.nanos).padStart(9, "0")}`;
}

/** ISO 8601 local time, `2016-08-10T09:47:38+0100`. */
function isoTime(now: ReceiptTime): string {
  return strftime("%Y-%m-%dT%H:%M:%S%z", now.date);
}

/** The `"properties"` object of `%j`/`%J`, in wire order; undefined when there are none. */
function jsonProperties(properties: Properties | undefined): JsonValue | undefined {
  const entries: [string, JsonValue][] = [];
  for (const [key, value] of Object.entries(properties ?? {})) {
    if (value === undefined) continue;
    switch (key as keyof Properties) {
      case "payloadFormatIndicator":
        entries.push(["payload-format-indicator", jsonNumber(value)]);
        break;
      case "messageExpiryInterval":
        entries.push(["message-expiry-interval", jsonNumber(value)]);
        break;
      case "contentType":
        entries.push(["content-type", jsonString(value)]);
        break;
      case "responseTopic":
        entries.push(["response-topic", jsonString(value)]);
        break;
      case "correlationData":
        entries.push(["correlation-data", jsonString(value)]);
        break;
      case "subscriptionIdentifiers":
        for (const id of value as number[]) {
          entries.push(["subscription-identifier", jsonNumber(id)]);
        }
        break;
      case "topicAlias":
        entries.push(["topic-alias", jsonNumber(value)]);
        break;
      case "userProperties":
        entries.push([
          "user-properties",
          jsonObject((value as [string, string][]).map(([k, v]) => [k, jsonString(v)])),
        ]);
        break;
    }
  }
  return entries.length === 0 ? undefined : jsonObject(entries);
}

/** `%j` (payload as a string) or `%J` (payload parsed as JSON); undefined if `%J` cannot. */
function json(
  msg: ReceivedMessage,
  options: FormatOptions,
  parse: boolean,
): Uint8Array | undefined {
  const { date, nanos } = options.now;
  const micros = String(Math.floor(nanos / 1000)).padStart(6, "0");
  const tst = `${strftime("%Y-%m-%dT%H:%M:%S", date)}.${micros}Z${strftime("%z", date)}`;
  const entries: [string, JsonValue][] = [
    ["tst", jsonString(tst)],
    ["topic", jsonString(msg.topic)],
    ["qos", jsonNumber(msg.qos)],
    ["retain", jsonNumber(msg.retain ? 1 : 0)],
    ["payloadlen", jsonNumber(msg.payload.length)],
  ];
  if (msg.qos > 0) entries.push(["mid", jsonNumber(msg.packetId)]);
  const properties = jsonProperties(msg.properties);
  if (properties !== undefined) entries.push(["properties", properties]);
  let body: JsonValue = { type: "null" };
  if (msg.payload.length > 0) {
    if (parse) {
      const parsed = parseJsonPayload(msg.payload);
      if (parsed === undefined) {
        options.onError?.(`Error: Message payload is not valid JSON on topic ${msg.topic}.`);
        return undefined;
      }
      body = parsed;
    } else {
      body = jsonString(msg.payload);
    }
  }
  entries.push(["payload", body]);
  return printJson(jsonObject(entries), options.pretty);
}

/** What one `%` conversion prints. */
function conversion(spec: Spec, msg: ReceivedMessage, options: FormatOptions): Uint8Array | string {
  const p = msg.properties ?? {};
  switch (spec.letter) {
    case "%":
      return "%";
    case "A":
      return number(spec, p.topicAlias);
    case "C":
      return text(spec, p.contentType ?? "");
    case "D":
      return p.correlationData ?? "";
    case "E":
      return number(spec, p.messageExpiryInterval);
    case "F":
      return number(spec, p.payloadFormatIndicator);
    case "I":
      return text(spec, isoTime(options.now));
    case "j":
    case "J":
      return json(msg, options, spec.letter === "J") ?? "";
    case "l":
      return number(spec, msg.payload.length);
    case "m":
      return number(spec, msg.packetId);
    case "p":
      return payload(spec, msg.payload);
    case "P":
      return (p.userProperties ?? []).map(([k, v]) => `${k}:${v}`).join(" ");
    case "q":
      return String(msg.qos);
    case "r":
      return msg.retain ? "1" : "0";
    case "R":
      return p.responseTopic === undefined ? "" : text(spec, p.responseTopic);
    case "S":
      return number(spec, p.subscriptionIdentifiers?.[0]);
    case "t":
      return text(spec, msg.topic);
    case "U":
      return unixTime(options.now);
    case "x":
    case "X":
      return hex(spec, msg.payload, spec.letter === "X");
  }
  return "";
}

/** ISO 8601 week-based year and week of `date`. */
function isoWeek(date: Date): { year: number; week: number } {
  const day = new Date(Date.UTC(date.getFullYear(), date.getMonth(), date.getDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  return {
    year: day.getUTCFullYear(),
    week: Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7),
  };
}

/** `@X`: C `strftime("%X")` in local time, with the glibc conversions strftime.ts lacks. */
function timeConversion(letter: string, now: ReceiptTime): string {
  const d = now.date;
  const two = (n: number) => String(n).padStart(2, "0");
  const yday = Math.round(
    (Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(d.getFullYear(), 0, 1)) /
      86_400_000,
  );
  switch (letter) {
    case "@":
      return "@";
    case "N":
      return String(now.nanos).padStart(9, "0");
    case "P":
      return d.getHours() < 12 ? "am" : "pm";
    case "r":
      return strftime("%I:%M:%S %p", d);
    case "U":
      return two(Math.floor((yday + 7 - d.getDay()) / 7));
    case "W":
      return two(Math.floor((yday + 7 - ((d.getDay() + 6) % 7)) / 7));
    case "V":
      return two(isoWeek(d).week);
    case "G":
      return String(isoWeek(d).year);
    case "g":
      return two(isoWeek(d).year % 100);
    default:
      return strftime(`%${letter}`, d);
  }
}

/** The `-F` output of one message, without the end of line. */
function formatted(format: string, msg: ReceivedMessage, options: FormatOptions): Bytes {
  const out = new Bytes();
  let from = 0;
  const flush = (to: number) => {
    if (to > from) out.add(format.slice(from, to));
  };
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c === "%") {
      const spec = readSpec(format, i)!;
      flush(i);
      out.add(conversion(spec, msg, options));
      i = spec.end - 1;
    } else if (c === "@") {
      flush(i);
      out.add(timeConversion(format[++i], options.now));
    } else if (c === "\\") {
      flush(i);
      out.add(new Uint8Array([ESCAPES[format[++i]]]));
    } else {
      continue;
    }
    from = i + 1;
  }
  flush(format.length);
  return out;
}

/**
 * The bytes mosquitto_sub prints for `msg`: `-F` output, `topic payload` with `-v` (`topic
 * (null)` for an empty payload; nothing at all with `-N`), or the payload (nothing for an
 * empty one), each followed by "\n" unless `eol` is false. A `%J` payload that is not JSON
 * prints nothing for that conversion and reports to `onError`.
 */
export function formatMessage(msg: ReceivedMessage, options: FormatOptions): Uint8Array {
  const out = options.format !== undefined ? formatted(options.format, msg, options) : new Bytes();
  if (options.format === undefined) {
    if (msg.payload.length === 0) {
      if (options.verbose && options.eol) out.add(`${msg.topic} (null)`);
      else return new Uint8Array();
    } else {
      if (options.verbose) out.add(`${msg.topic} `);
      out.add(msg.payload);
    }
  }
  if (options.eol) out.add("\n");
  return out.join();
}
