/**
 * HTTP/1.x on the wire, as far as the HTTP listener needs it: the head of a request (request
 * line and header fields, RFC 9112) parsed from bytes, and a `Response` written as bytes. No
 * I/O. Request bodies are not read: the listener answers GET and HEAD only, and closes a
 * connection whose request announced a body once it has answered.
 *
 * @module
 */

/** The largest request head accepted (request line and headers); more is answered 431. */
export const MAX_HEAD_BYTES = 16 * 1024;

/** A request line and its header fields. */
export interface RequestHead {
  /** The method, case as sent ("GET"). */
  method: string;
  /** The request target as sent (normally a path and query). */
  target: string;
  /** HTTP/1.0 or HTTP/1.1. */
  version: "1.0" | "1.1";
  /** The header fields. */
  headers: Headers;
}

/**
 * What a buffer holds: a whole head and how many bytes it took, not yet a whole head, or a
 * head that must be refused with this status (400 malformed, 431 too large, 505 not 1.x).
 */
export type HeadParse =
  | { head: RequestHead; length: number }
  | { incomplete: true }
  | { error: 400 | 431 | 505 };

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const REQUEST_LINE = new RegExp(`^(${TOKEN}) ([^ ]+) HTTP/(\\d)\\.(\\d)$`);
const FIELD_NAME = new RegExp(`^${TOKEN}$`);
const latin1 = new TextDecoder("latin1");

/**
 * The offset just past the CR LF CR LF that ends the head in `bytes`, or -1; `from`: the
 * bytes before it are known not to end it.
 */
function headEnd(bytes: Uint8Array, from: number): number {
  for (let i = Math.max(3, from); i < bytes.length; i++) {
    if (
      bytes[i] === 0x0a && bytes[i - 1] === 0x0d && bytes[i - 2] === 0x0a && bytes[i - 3] === 0x0d
    ) {
      return i + 1;
    }
  }
  return -1;
}

/** `line` from `start` without the spaces and tabs at either end. */
function trimSpaceAndTab(line: string, start: number): string {
  let from = start;
  let to = line.length;
  const blank = (c: number) => c === 0x20 || c === 0x09;
  while (from < to && blank(line.charCodeAt(from))) from++;
  while (to > from && blank(line.charCodeAt(to - 1))) to--;
  return line.slice(from, to);
}

/**
 * Parse the request head at the start of `bytes` (which may hold more after it). `scanned`:
 * how many bytes an earlier call found incomplete, so that a head arriving a byte at a time
 * is not searched again from the start each time.
 */
export function parseRequestHead(bytes: Uint8Array, scanned = 0): HeadParse {
  const end = headEnd(bytes.subarray(0, MAX_HEAD_BYTES), scanned);
  if (end < 0) return bytes.length >= MAX_HEAD_BYTES ? { error: 431 } : { incomplete: true };
  const lines = latin1.decode(bytes.subarray(0, end - 4)).split("\r\n");
  const request = REQUEST_LINE.exec(lines[0]);
  if (request === null) return { error: 400 };
  const [, method, target, major, minor] = request;
  if (major !== "1") return { error: 505 };
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    // Split by hand, not with a regular expression: trimming a value of thousands of spaces
    // with one backtracks quadratically (0.7 s for a 16 KiB line).
    const colon = line.indexOf(":");
    const name = line.slice(0, Math.max(colon, 0));
    if (!FIELD_NAME.test(name)) return { error: 400 }; // a folded line (leading space) too
    try {
      headers.append(name, trimSpaceAndTab(line, colon + 1));
    } catch {
      return { error: 400 }; // a value with a NUL or a bare CR
    }
  }
  return { head: { method, target, version: minor === "0" ? "1.0" : "1.1", headers }, length: end };
}

/** Whether the request announces a body (which the listener never reads). */
export function hasBody(head: RequestHead): boolean {
  const length = head.headers.get("content-length");
  return head.headers.has("transfer-encoding") || (length !== null && length !== "0");
}

/** Whether the client may send another request on the connection after this one. */
export function keepsAlive(head: RequestHead): boolean {
  const connection = head.headers.get("connection")?.toLowerCase() ?? "";
  return head.version === "1.1"
    ? !/(^|,)\s*close\s*(,|$)/.test(connection)
    : /(^|,)\s*keep-alive\s*(,|$)/.test(connection);
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

const encoder = new TextEncoder();

/**
 * `response` as HTTP/1.1 bytes: status line, its headers plus `content-length`, `date` and,
 * when `close`, `connection: close`; the body unless `head` (a HEAD request keeps the length).
 */
export async function responseBytes(
  response: Response,
  options: { head: boolean; close: boolean },
): Promise<Uint8Array> {
  const body = new Uint8Array(await response.arrayBuffer());
  let text = `HTTP/1.1 ${response.status} ${REASONS[response.status] ?? ""}\r\n`;
  for (const [name, value] of response.headers) {
    if (name !== "content-length" && name !== "connection") text += `${name}: ${value}\r\n`;
  }
  text += `content-length: ${body.length}\r\ndate: ${new Date().toUTCString()}\r\n`;
  if (options.close) text += "connection: close\r\n";
  const head = encoder.encode(text + "\r\n");
  if (options.head || body.length === 0) return head;
  const bytes = new Uint8Array(head.length + body.length);
  bytes.set(head);
  bytes.set(body, head.length);
  return bytes;
}
