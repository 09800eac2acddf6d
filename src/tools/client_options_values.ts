/**
 * How Mosquitto's client tools read option values: C's `atoi`, `strtol` and `atof` (so
 * `-k 10x` is 10 and `-q abc` is 0, as there), their UTF-8 and topic checks, and the `-L` URL
 * (with Midge's `ws://` and `wss://`) and `--proxy` SOCKS URL forms.
 *
 * @module
 */

const SPACE = /^[ \t\n\v\f\r]*/;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** The result of C `strtol`: the value (saturated to 64 bits) and how many characters it used. */
export interface CLong {
  /** The value, saturated to the 64-bit range as glibc does on overflow. */
  value: bigint;
  /** Characters consumed, 0 when no number was found. */
  end: number;
}

/** C `strtol(text, &end, base)` with base 10 or 0 (0x.. hex, 0.. octal), on a 64-bit long. */
export function strtol(text: string, base: 0 | 10 = 10): CLong {
  let i = SPACE.exec(text)![0].length;
  let negative = false;
  if (text[i] === "+" || text[i] === "-") {
    negative = text[i] === "-";
    i++;
  }
  let radix = 10;
  if (base === 0 && text[i] === "0") {
    if ((text[i + 1] === "x" || text[i + 1] === "X") && /[0-9a-fA-F]/.test(text[i + 2] ?? "")) {
      radix = 16;
      i += 2;
    } else {
      radix = 8;
    }
  }
  const digits = { 8: /^[0-7]+/, 10: /^[0-9]+/, 16: /^[0-9a-fA-F]+/ }[radix]!.exec(text.slice(i));
  if (digits === null) return { value: 0n, end: 0 };
  const prefix = radix === 16 ? "0x" : radix === 8 ? "0o" : "";
  let value = BigInt(prefix + digits[0]);
  if (negative) value = -value;
  if (value > INT64_MAX) value = INT64_MAX;
  if (value < INT64_MIN) value = INT64_MIN;
  return { value, end: i + digits[0].length };
}

/** C `atoi` as glibc does it: `strtol` base 10, then truncated to a 32-bit int. */
export function atoi(text: string): number {
  return Number(BigInt.asIntN(32, strtol(text).value));
}

const DECIMAL_FLOAT = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/;
const HEX_FLOAT = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?/;
const SPECIAL_FLOAT = /^([+-]?)(inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)/i;

/** C `atof`: the longest leading floating point number, 0 when there is none. */
export function atof(text: string): number {
  const rest = text.slice(SPACE.exec(text)![0].length);
  const special = SPECIAL_FLOAT.exec(rest);
  if (special !== null) {
    if (special[2].toLowerCase().startsWith("nan")) return NaN;
    return special[1] === "-" ? -Infinity : Infinity;
  }
  const hex = HEX_FLOAT.exec(rest);
  if (hex !== null && (hex[2] !== "" || (hex[3] ?? "") !== "")) {
    const whole = hex[2] === "" ? 0 : parseInt(hex[2], 16);
    const fraction = [...(hex[3] ?? "")].reduce(
      (sum, digit, i) => sum + parseInt(digit, 16) / 16 ** (i + 1),
      0,
    );
    const value = (whole + fraction) * 2 ** Number(hex[4] ?? "0");
    return hex[1] === "-" ? -value : value;
  }
  const decimal = DECIMAL_FLOAT.exec(rest);
  return decimal === null ? 0 : Number(decimal[0]);
}

/** C's conversion of a double to int on x86: out of range, infinite or NaN gives INT_MIN. */
export function doubleToInt(value: number): number {
  const truncated = Math.trunc(value);
  return Number.isFinite(truncated) && truncated >= -(2 ** 31) && truncated < 2 ** 31
    ? truncated
    : -(2 ** 31);
}

/**
 * Whether `text` is UTF-8 that Mosquitto accepts in a topic or string property: no control
 * characters (U+0001-U+001F, U+007F-U+009F), no non-characters (U+FDD0-U+FDEF, U+xFFFE,
 * U+xFFFF), no lone surrogates, no U+0000.
 */
export function isValidMqttUtf8(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const low = text.charCodeAt(i + 1);
      if (!(low >= 0xdc00 && low <= 0xdfff)) return false;
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
      i++;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return false;
    }
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return false;
    if (code >= 0xfdd0 && code <= 0xfdef) return false;
    if ((code & 0xfffe) === 0xfffe) return false;
  }
  return true;
}

/** The length of `text` in UTF-8 bytes. */
function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** Mosquitto's check of a topic to publish to: no `+` or `#`, at most 65535 bytes. */
export function isValidPublishTopic(topic: string): boolean {
  return !/[+#]/.test(topic) && utf8Length(topic) <= 65535;
}

/**
 * Mosquitto's check of a topic filter: `+` alone in its level, `#` alone in the last level, at
 * most 65535 bytes. The empty filter passes, as it does there.
 */
export function isValidSubscribeTopic(filter: string): boolean {
  if (utf8Length(filter) > 65535) return false;
  const levels = filter.split("/");
  return levels.every((level, i) =>
    (level === "+" || !level.includes("+")) &&
    (level === "#" ? i === levels.length - 1 : !level.includes("#"))
  );
}

/** The parts of a `-L` URL. */
export interface ParsedUrl {
  /** Host name. */
  host: string;
  /** Port: from the URL, else 1883 (mqtt), 8883 (mqtts), 80 (ws) or 443 (wss). */
  port: number;
  /** Whether the scheme was mqtts or wss. */
  tls: boolean;
  /** Whether the scheme was ws or wss (a Midge extension). */
  websocket: boolean;
  /** User name, when the URL has one. */
  username?: string;
  /** Password, when the URL has one. */
  password?: string;
  /** The topic: everything after the first `/` of the authority. */
  topic: string;
}

/** Why a `-L` URL was refused. */
export type UrlError = "scheme" | "topic";

/** Default port of each `-L` scheme, by its lower-case name. */
const URL_PORTS: Readonly<Record<string, number>> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 };

/**
 * Read `mqtt(s)://[user[:password]@]host[:port]/topic` as Mosquitto 2.0.11 does: the scheme
 * in any case, no %-decoding, the first `@` ends the user part, the first `:` of each part
 * splits it, a port that is not a number is 0. Midge also reads `ws://` and `wss://` (which
 * Mosquitto's tools refuse as an unsupported scheme) the same way, with the WebSocket default
 * ports 80 and 443 (RFC 6455): the path is the topic here too, so it does not name the
 * WebSocket path (the tools always ask for "/mqtt").
 */
export function parseMqttUrl(url: string): ParsedUrl | UrlError {
  const scheme = /^(mqtts?|wss?):\/\//i.exec(url)?.[1].toLowerCase();
  if (scheme === undefined) return "scheme";
  const rest = url.slice(scheme.length + 3);
  const slash = rest.indexOf("/");
  if (slash === -1) return "topic";
  let authority = rest.slice(0, slash);
  const parsed: ParsedUrl = {
    host: "",
    port: URL_PORTS[scheme],
    tls: scheme === "mqtts" || scheme === "wss",
    websocket: scheme === "ws" || scheme === "wss",
    topic: rest.slice(slash + 1),
  };
  const at = authority.indexOf("@");
  if (at !== -1) {
    const user = authority.slice(0, at);
    const colon = user.indexOf(":");
    parsed.username = colon === -1 ? user : user.slice(0, colon);
    if (colon !== -1) parsed.password = user.slice(colon + 1);
    authority = authority.slice(at + 1);
  }
  const colon = authority.indexOf(":");
  parsed.host = colon === -1 ? authority : authority.slice(0, colon);
  if (colon !== -1) parsed.port = atoi(authority.slice(colon + 1));
  return parsed;
}

/** A SOCKS5 proxy from `--proxy`. */
export interface ProxyOptions {
  /** Proxy host; names are resolved by the proxy (socks5h). */
  host: string;
  /** Proxy port, 1080 by default. */
  port: number;
  /** User name for the proxy's user/password authentication. */
  username?: string;
  /** Password for the proxy's user/password authentication. */
  password?: string;
}

/** Decode the three escapes `--proxy` knows (%25, %3A, %40); undefined for any other `%`. */
function proxyUrlDecode(text: string): string | undefined {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "%") {
      out += text[i];
      continue;
    }
    const code = text.slice(i + 1, i + 3);
    if (i + 2 >= text.length) return undefined;
    const decoded = code === "25"
      ? "%"
      : code === "3A" || code === "3a"
      ? ":"
      : code === "40"
      ? "@"
      : undefined;
    if (decoded === undefined) return undefined;
    out += decoded;
    i += 2;
  }
  return out;
}

/**
 * Read a `--proxy` URL, `socks5h://[user[:password]@]host[:port]`, as Mosquitto 2.0.11 does.
 * Returns the proxy, or the exact error line (empty for the malformed URLs it rejects without
 * saying why).
 */
export function parseProxyUrl(url: string): ProxyOptions | { error: string } {
  const SCHEME = "socks5h://";
  if (!url.startsWith(SCHEME)) return { error: `Error: Unsupported proxy protocol: ${url}` };
  const text = url.slice(SCHEME.length);
  const malformed = { error: "" };
  let start = 0;
  let authSeen = false;
  let first: string | undefined; // text before the first ':' while no '@' has been seen
  let username: string | undefined;
  let password: string | undefined;
  let host: string | undefined;
  let port: string | undefined;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ":") {
      if (i === start) return malformed;
      if (authSeen) {
        if (host !== undefined) return malformed;
        host = text.slice(start, i);
        start = i + 1;
      } else if (first === undefined) {
        first = text.slice(start, i);
        start = i + 1;
      }
    } else if (text[i] === "@") {
      if (i === start) return malformed;
      authSeen = true;
      if (first !== undefined) {
        username = first;
        first = undefined;
        password = text.slice(start, i);
      } else {
        if (username !== undefined) return malformed;
        username = text.slice(start, i);
      }
      start = i + 1;
    }
  }
  if (text.length > start) {
    const tail = text.slice(start);
    if (host !== undefined) {
      port = tail;
    } else if (first !== undefined) {
      host = first;
      port = tail;
    } else {
      host = tail;
    }
  }
  if (host === undefined) return { error: "Error: Invalid proxy." };
  const proxy: ProxyOptions = { host, port: 1080 };
  if (username !== undefined) {
    const decoded = proxyUrlDecode(username);
    if (decoded === undefined) return malformed;
    proxy.username = decoded;
  }
  if (password !== undefined) {
    const decoded = proxyUrlDecode(password);
    if (decoded === undefined) return malformed;
    proxy.password = decoded;
  }
  if (port !== undefined) {
    proxy.port = atoi(port);
    if (proxy.port < 1 || proxy.port > 65535) {
      return { error: `Error: Invalid proxy port ${proxy.port}` };
    }
  }
  return proxy;
}
