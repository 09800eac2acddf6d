/**
 * The HTTP/1.x wire format of the HTTP listener, without sockets: request heads in pieces, with
 * more bytes after them, and the ones refused; keep-alive rules; responses as bytes.
 */

import assert from "node:assert/strict";
import {
  hasBody,
  keepsAlive,
  MAX_HEAD_BYTES,
  parseRequestHead,
  type RequestHead,
  responseBytes,
} from "../../src/transport/http1.ts";
import { SeededRandom } from "../fixtures/random.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

function head(text: string): RequestHead {
  const parsed = parseRequestHead(bytes(text));
  assert.ok("head" in parsed, text);
  return parsed.head;
}

Deno.test("parseRequestHead: incomplete until the blank line; the length leaves what follows", () => {
  const request = "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAuthorization:  Basic eA== \r\n\r\n";
  for (let cut = 0; cut < request.length; cut++) {
    assert.deepEqual(parseRequestHead(bytes(request.slice(0, cut))), { incomplete: true });
  }
  const parsed = parseRequestHead(bytes(request + "GET / HTTP/1.1\r\n"));
  assert.ok("head" in parsed);
  assert.equal(parsed.length, request.length);
  assert.equal(parsed.head.method, "GET");
  assert.equal(parsed.head.target, "/metrics?x=1");
  assert.equal(parsed.head.version, "1.1");
  assert.equal(parsed.head.headers.get("authorization"), "Basic eA==");
});

Deno.test("parseRequestHead: 400 for a bad request line or field, 431 past 16 KiB, 505 for HTTP/2", () => {
  const cases: [string, number][] = [
    ["GET /\r\n\r\n", 400],
    ["GET  / HTTP/1.1\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nno colon\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nx: 1\r\n folded\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nbad name: 1\r\n\r\n", 400],
    ["GET / HTTP/2.0\r\n\r\n", 505],
  ];
  for (const [text, status] of cases) {
    assert.deepEqual(parseRequestHead(bytes(text)), { error: status }, JSON.stringify(text));
  }
  const long = bytes(`GET / HTTP/1.1\r\nx: ${"a".repeat(MAX_HEAD_BYTES)}`);
  assert.deepEqual(parseRequestHead(long), { error: 431 });
});

Deno.test("keepsAlive and hasBody: 1.1 unless connection: close, 1.0 only with keep-alive", () => {
  assert.equal(keepsAlive(head("GET / HTTP/1.1\r\n\r\n")), true);
  assert.equal(keepsAlive(head("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n")), false);
  assert.equal(keepsAlive(head("GET / HTTP/1.0\r\n\r\n")), false);
  assert.equal(keepsAlive(head("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")), true);
  assert.equal(hasBody(head("GET / HTTP/1.1\r\ncontent-length: 0\r\n\r\n")), false);
  assert.equal(hasBody(head("GET / HTTP/1.1\r\ncontent-length: 3\r\n\r\n")), true);
  assert.equal(hasBody(head("GET / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n")), true);
});

Deno.test("responseBytes: status line, headers, length and body; HEAD keeps the length only", async () => {
  const response = () => new Response("hello", { status: 404, headers: { "x-a": "1" } });
  const get = new TextDecoder().decode(
    await responseBytes(response(), { head: false, close: true }),
  );
  assert.match(get, /^HTTP\/1\.1 404 Not Found\r\n/);
  assert.match(get, /\r\nx-a: 1\r\n/);
  assert.match(get, /\r\ncontent-length: 5\r\n/);
  assert.match(get, /\r\nconnection: close\r\n\r\nhello$/);
  const headOnly = new TextDecoder().decode(
    await responseBytes(response(), { head: true, close: false }),
  );
  assert.match(headOnly, /\r\ncontent-length: 5\r\n/);
  assert.ok(headOnly.endsWith("\r\n\r\n") && !headOnly.includes("connection"), headOnly);
});

Deno.test("parseRequestHead: a 16 KiB field of spaces or a head sent a byte at a time takes linear time", () => {
  const spaces = bytes(`GET / HTTP/1.1\r\nx: a${" ".repeat(MAX_HEAD_BYTES - 40)}b\r\n\r\n`);
  let started = performance.now();
  const parsed = parseRequestHead(spaces);
  assert.ok("head" in parsed);
  assert.equal(parsed.head.headers.get("x")?.length, MAX_HEAD_BYTES - 38);
  // A backtracking pattern took 700 ms here; a linear parse takes about 10.
  assert.ok(performance.now() - started < 150, `${performance.now() - started} ms`);

  const request = bytes(`GET / HTTP/1.1\r\n${"a: b\r\n".repeat(2700)}\r\n`);
  started = performance.now();
  let result = parseRequestHead(request.subarray(0, 0));
  for (let n = 1; n <= request.length && "incomplete" in result; n++) {
    result = parseRequestHead(request.subarray(0, n), n - 1);
  }
  assert.ok("head" in result);
  // Searched from the start each time: 260 ms; from where the last search stopped: about 10.
  assert.ok(performance.now() - started < 100, `${performance.now() - started} ms`);
});

Deno.test("parseRequestHead: 20,000 mutated requests only parse or are refused, never throw", () => {
  const random = new SeededRandom(0x4854);
  const valid = bytes(
    "GET /api/v1/clients?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
      "Authorization: Basic YWxpY2U6czNjcmV0\r\nConnection: keep-alive\r\n\r\n",
  );
  const interesting = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x3a, 0x7f, 0x80, 0xff];
  for (let i = 0; i < 20_000; i++) {
    const input = valid.slice();
    for (let k = 1 + random.below(4); k > 0; k--) {
      const at = random.below(input.length);
      input[at] = random.below(2) === 0 ? random.below(256) : interesting[random.below(9)];
    }
    const cut = input.subarray(0, random.below(input.length + 1));
    const parsed = parseRequestHead(cut);
    assert.ok("head" in parsed || "incomplete" in parsed || "error" in parsed, `input ${i}`);
  }
});
