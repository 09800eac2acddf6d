/**
 * The HTTP listener's guards over real sockets: `http_users` (403 for users of the password
 * file it does not name), the per-request timeout (half-sent requests and idle keep-alive
 * connections are closed), its own connection cap (logged once), and requests it cannot read.
 */

import assert from "node:assert/strict";
import { basic, passwordFile, withHttp } from "./http_fixture.ts";
import type { HttpServer } from "../../src/http/server.ts";
import { waitFor } from "../integration/harness.ts";

async function status(http: HttpServer, path: string, headers: HeadersInit = {}) {
  const response = await fetch(`http://127.0.0.1:${http.port}${path}`, { headers });
  await response.body?.cancel();
  return response.status;
}

/** Everything the server sends on a socket that wrote `text`, until it closes (at most 5 s). */
async function exchange(socket: Deno.TcpConn, text: string): Promise<string> {
  if (text !== "") await socket.write(new TextEncoder().encode(text));
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  const deadline = setTimeout(() => socket.close(), 5000);
  try {
    for (let n = await socket.read(buffer); n !== null; n = await socket.read(buffer)) {
      chunks.push(buffer.slice(0, n));
    }
  } finally {
    clearTimeout(deadline);
  }
  socket.close();
  return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
}

function connect(http: HttpServer): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port: http.port });
}

function count(lines: string[], part: string): number {
  return lines.filter((l) => l.includes(part)).length;
}

Deno.test("HTTP: http_users lets its users in (200) and not the password file's others (403); a bad password is still 401", async () => {
  const passwords = await passwordFile({ alice: "s3cret", bob: "hunter2" });
  await withHttp({ passwords, users: new Set(["alice"]) }, async (tb, http) => {
    for (const path of ["/", "/metrics", "/api/v1/clients", "/api/v1/subscriptions"]) {
      assert.equal(await status(http, path, basic("alice", "s3cret")), 200, path);
      assert.equal(await status(http, path, basic("bob", "hunter2")), 403, path);
      assert.equal(await status(http, path, basic("alice", "wrong")), 401, path);
      assert.equal(await status(http, path, basic("bob", "wrong")), 401, path);
      assert.equal(await status(http, path), 401, path);
    }
    assert.equal(await status(http, "/health"), 200, "/health needs no credentials");
    assert.ok(tb.logs.some((l) => l.includes("user 'bob' is not in http_users")));
  });
});

Deno.test("HTTP: a half-sent request and an idle connection are closed after the timeout", async () => {
  await withHttp({ open: true, timeoutMs: 300 }, async (_tb, http) => {
    for (const text of ["GET /health HTTP/1.1\r\nhost: x\r\n", ""]) {
      const started = Date.now();
      const answer = await exchange(await connect(http), text);
      const took = Date.now() - started;
      assert.equal(answer, "", "closed without an answer");
      assert.ok(took >= 250 && took < 3000, `closed after ${took} ms`);
    }
    // Two pipelined requests are both answered; the connection then idles out.
    const started = Date.now();
    const answer = await exchange(
      await connect(http),
      "GET /health HTTP/1.1\r\nhost: x\r\n\r\nHEAD /health HTTP/1.1\r\nhost: x\r\n\r\n",
    );
    assert.equal(answer.match(/HTTP\/1\.1 200 OK\r\n/g)?.length, 2, answer);
    assert.equal(answer.match(/"status":"ok"/g)?.length, 1, "HEAD has no body");
    assert.ok(Date.now() - started >= 250);
    // HTTP/1.0 and `connection: close` are closed at once after the answer.
    for (
      const request of [
        "GET /health HTTP/1.0\r\n\r\n",
        "GET /health HTTP/1.1\r\nconnection: close\r\n\r\n",
      ]
    ) {
      const begun = Date.now();
      assert.match(await exchange(await connect(http), request), /\r\nconnection: close\r\n/);
      assert.ok(Date.now() - begun < 250, request);
    }
  });
});

Deno.test("HTTP: garbage is answered 400, a head over 16 KiB 431, HTTP/2.0 505, and closed", async () => {
  await withHttp({ open: true }, async (_tb, http) => {
    const cases: [string, RegExp][] = [
      ["hello there\r\n\r\n", /^HTTP\/1\.1 400 /],
      [`GET /health HTTP/1.1\r\nx: ${"a".repeat(17_000)}\r\n\r\n`, /^HTTP\/1\.1 431 /],
      ["GET /health HTTP/2.0\r\n\r\n", /^HTTP\/1\.1 505 /],
      ["GET /health HTTP/1.1\r\n folded: no\r\n\r\n", /^HTTP\/1\.1 400 /],
    ];
    for (const [request, expected] of cases) {
      assert.match(await exchange(await connect(http), request), expected);
    }
    // A request with a body is answered and its connection closed (the body is never read).
    assert.match(
      await exchange(
        await connect(http),
        "GET /health HTTP/1.1\r\ncontent-length: 5\r\n\r\nhello",
      ),
      /^HTTP\/1\.1 200 OK\r\n[^]*connection: close\r\n/,
    );
  });
});

Deno.test("HTTP: past maxConnections new sockets are closed at once, logged once; below it they are served again", async () => {
  await withHttp({ open: true, maxConnections: 4 }, async (tb, http) => {
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await connect(http));
    const paused = `Accepting HTTP connections on port ${http.port} paused`;
    try {
      for (let i = 0; i < 6; i++) {
        assert.equal(await exchange(await connect(http), "GET /health HTTP/1.1\r\n\r\n"), "");
      }
      assert.equal(count(tb.logs, paused), 1, "paused once");
      assert.ok(tb.logs.some((l) => l.includes(`${paused}: 4 open, http_max_connections 4.`)));
    } finally {
      for (const socket of held) socket.close();
    }
    await waitFor(
      () => tb.logs.some((l) => l.includes(`HTTP connections on port ${http.port} resumed`)),
      "the resume",
    );
    assert.equal(await status(http, "/health"), 200);
    assert.equal(count(tb.logs, paused), 1);
  });
});
