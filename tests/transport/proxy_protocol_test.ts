/**
 * PROXY protocol v1 and v2 headers read from real sockets (127.0.0.1, port 0): the address a
 * proxy passes on, the MQTT bytes after the header kept byte for byte however the header was
 * split, and every way a header can be missing, cut short, malformed, oversized or late.
 */

import assert from "node:assert/strict";
import {
  type ProxiedConn,
  ProxyHeaderError,
  readProxyHeader,
  V1_MAX_LENGTH,
  V2_MAX_BLOCK_LENGTH,
} from "../../src/transport/proxy_protocol.ts";
import { fixtureBytes, text } from "../fixtures/packets.ts";
import {
  concat,
  encodeProxyHeaderV1,
  encodeProxyHeaderV2,
  encodeTlv,
  PP2_TYPE_NOOP,
  proxyHeaderV2,
  V2_SIGNATURE,
} from "../fixtures/proxy_header.ts";

const CONNECT = fixtureBytes("CONNECT 3.1.1 minimal");
const TIMEOUT_MS = 2000;
const V4_ENDS = {
  source: { hostname: "192.0.2.10", port: 51000 },
  destination: { hostname: "198.51.100.1", port: 1883 },
};
const V6_ENDS = {
  source: { hostname: "2001:db8::7", port: 40001 },
  destination: { hostname: "2001:db8::1", port: 1883 },
};

/** Resolves after `ms`. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A connected client and the server's end of it; both closed after `body`. */
async function withSockets(
  body: (client: Deno.TcpConn, server: Deno.TcpConn) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const [client, server] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port }),
    listener.accept(),
  ]);
  listener.close();
  try {
    await body(client, server);
  } finally {
    for (const conn of [client, server]) {
      try {
        conn.close();
      } catch {
        // closed by the test
      }
    }
    await delay(0);
  }
}

/** Write all of `data`. */
async function writeAll(
  conn: { write(data: Uint8Array): Promise<number> },
  data: Uint8Array,
): Promise<void> {
  for (let at = 0, i = 0; at < data.length && i < 100; i++) {
    at += await conn.write(data.subarray(at));
  }
}

/** Write `parts` one by one, a few ms apart so that each arrives on its own. */
async function writeApart(conn: Deno.Conn, parts: Uint8Array[]): Promise<void> {
  for (const [i, part] of parts.entries()) {
    if (i > 0) await delay(3);
    await writeAll(conn, part);
  }
}

/** Read `n` bytes (at most 100 reads, within the timeout); fewer if the stream ends. */
async function readBytes(conn: { read(buf: Uint8Array): Promise<number | null> }, n: number) {
  const out = new Uint8Array(n);
  let got = 0;
  const deadline = Date.now() + TIMEOUT_MS;
  for (let i = 0; got < n && i < 100; i++) {
    const r = await within(conn.read(out.subarray(got)), deadline - Date.now());
    if (r === null) break;
    got += r;
  }
  return out.subarray(0, got);
}

/** `promise`, or a rejection after `ms` (the promise is then left to settle unheard). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  promise.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nothing read within ${TIMEOUT_MS} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The connection after the header, with what a client sent as `parts`. */
async function accepted(
  client: Deno.Conn,
  server: Deno.Conn,
  version: 1 | 2,
  parts: Uint8Array[],
): Promise<ProxiedConn> {
  const [conn] = await Promise.all([
    readProxyHeader(server, version, TIMEOUT_MS),
    writeApart(client, parts),
  ]);
  return conn;
}

/** Why the header a client sent as `parts` (then ending its stream if `end`) is refused. */
async function refusal(
  version: 1 | 2,
  parts: Uint8Array[],
  options: { end?: boolean; timeoutMs?: number } = {},
): Promise<string> {
  let message = "";
  await withSockets(async (client, server) => {
    const reading = readProxyHeader(server, version, options.timeoutMs ?? TIMEOUT_MS);
    await writeApart(client, parts);
    if (options.end) await client.closeWrite();
    const error = await reading.then(() => null, (e) => e);
    assert.ok(error instanceof ProxyHeaderError, `expected a ProxyHeaderError, got ${error}`);
    message = error.message;
  });
  return message;
}

/** Header then CONNECT in one write: the address, then the CONNECT byte for byte. */
async function assertProxied(
  version: 1 | 2,
  header: Uint8Array,
  expected: (server: Deno.TcpConn) => Deno.Addr,
): Promise<void> {
  await withSockets(async (client, server) => {
    const conn = await accepted(client, server, version, [concat(header, CONNECT)]);
    assert.deepEqual(conn.remoteAddr, expected(server));
    assert.deepEqual(conn.proxyAddr, server.remoteAddr);
    assert.deepEqual(await readBytes(conn, CONNECT.length), CONNECT);
  });
}

const v4Source = () => ({ transport: "tcp", hostname: "192.0.2.10", port: 51000 }) as Deno.NetAddr;
const v6Source = () => ({ transport: "tcp", hostname: "2001:db8::7", port: 40001 }) as Deno.NetAddr;

// ----------------------------------------------------------------------------- addresses

Deno.test("PROXY v1 TCP4 gives the client's address and keeps the CONNECT after it", async () => {
  await assertProxied(1, encodeProxyHeaderV1(V4_ENDS), v4Source);
});

Deno.test("PROXY v1 TCP6 gives the client's address in its short form", async () => {
  const header = text("PROXY TCP6 2001:0DB8:0:0:0:0:0:7 2001:db8::1 40001 1883\r\n");
  await assertProxied(1, header, v6Source);
  await assertProxied(1, encodeProxyHeaderV1(V6_ENDS), v6Source);
});

Deno.test("PROXY v1 TCP6 keeps an IPv4-mapped address as Deno writes one", async () => {
  const header = text("PROXY TCP6 ::ffff:192.0.2.10 ::1 51000 1883\r\n");
  const mapped = { transport: "tcp", hostname: "::ffff:192.0.2.10", port: 51000 } as Deno.NetAddr;
  await assertProxied(1, header, () => mapped);
});

Deno.test("PROXY v1 UNKNOWN leaves the socket's own address", async () => {
  await assertProxied(1, encodeProxyHeaderV1("unknown"), (server) => server.remoteAddr);
  const withFields = text("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n");
  await assertProxied(1, withFields, (server) => server.remoteAddr);
});

Deno.test("PROXY v1 header of exactly 107 bytes is taken", async () => {
  const header = text(`PROXY UNKNOWN ${"x".repeat(V1_MAX_LENGTH - 16)}\r\n`);
  assert.equal(header.length, V1_MAX_LENGTH);
  await assertProxied(1, header, (server) => server.remoteAddr);
});

Deno.test("PROXY v2 PROXY over IPv4 and IPv6 gives the client's address", async () => {
  await assertProxied(2, encodeProxyHeaderV2(V4_ENDS), v4Source);
  await assertProxied(2, encodeProxyHeaderV2(V6_ENDS), v6Source);
});

Deno.test("PROXY v2 LOCAL (a health check) leaves the socket's own address", async () => {
  await assertProxied(2, encodeProxyHeaderV2("local"), (server) => server.remoteAddr);
  const withBlock = proxyHeaderV2(0x20, 0x11, new Uint8Array(12).fill(7));
  await assertProxied(2, withBlock, (server) => server.remoteAddr);
});

Deno.test("PROXY v2 family UNSPEC leaves the socket's own address", async () => {
  await assertProxied(2, proxyHeaderV2(0x21, 0x00, new Uint8Array(0)), (s) => s.remoteAddr);
});

Deno.test("PROXY v2 AF_UNIX gives the client's socket path", async () => {
  const block = new Uint8Array(216);
  block.set(text("/run/client.sock"), 0);
  block.set(text("/run/midge.sock"), 108);
  const unix = { transport: "unix", path: "/run/client.sock" } as Deno.UnixAddr;
  await assertProxied(2, proxyHeaderV2(0x21, 0x31, block), () => unix);
});

Deno.test("PROXY v2 TLVs are skipped", async () => {
  const tlvs = [
    {
      type: 0x20,
      value: concat(
        new Uint8Array([0x07, 0, 0, 0, 0]),
        encodeTlv({ type: 0x22, value: text("device-1") }),
      ),
    },
    { type: PP2_TYPE_NOOP, value: new Uint8Array(0) },
    { type: 0xea, value: text("vpce-0123456789abcdef") },
  ];
  await assertProxied(2, encodeProxyHeaderV2(V4_ENDS, tlvs), v4Source);
});

// ----------------------------------------------------------------------- bytes after it

Deno.test("PROXY v2 reads nothing past its header: the CONNECT stays in the socket", async () => {
  await withSockets(async (client, server) => {
    await writeAll(client, concat(encodeProxyHeaderV2(V4_ENDS), CONNECT));
    await readProxyHeader(server, 2, TIMEOUT_MS);
    assert.deepEqual(await readBytes(server, CONNECT.length), CONNECT);
  });
});

Deno.test("the bytes after the header come first, then the socket's, in small reads", async () => {
  await withSockets(async (client, server) => {
    const conn = await accepted(client, server, 1, [concat(encodeProxyHeaderV1(V4_ENDS), CONNECT)]);
    const first = new Uint8Array(5);
    assert.equal(await within(conn.read(first), TIMEOUT_MS), 5);
    assert.deepEqual(first, CONNECT.subarray(0, 5));
    await writeAll(client, text("later"));
    assert.deepEqual(
      await readBytes(conn, CONNECT.length),
      concat(CONNECT.subarray(5), text("later")),
    );
    await writeAll(conn, text("back"));
    assert.deepEqual(await readBytes(client, 4), text("back"));
  });
});

for (const version of [1, 2] as const) {
  const header = version === 1 ? encodeProxyHeaderV1(V6_ENDS) : encodeProxyHeaderV2(V6_ENDS);
  const stream = concat(header, CONNECT);

  Deno.test(`PROXY v${version} header split at every byte keeps the address and the CONNECT`, async () => {
    for (let cut = 1; cut < stream.length; cut++) {
      await withSockets(async (client, server) => {
        const conn = await accepted(client, server, version, [
          stream.subarray(0, cut),
          stream.subarray(cut),
        ]);
        assert.deepEqual(conn.remoteAddr, v6Source(), `cut at ${cut}`);
        assert.deepEqual(await readBytes(conn, CONNECT.length), CONNECT, `cut at ${cut}`);
      });
    }
  });

  Deno.test(`PROXY v${version} header sent one byte per write`, async () => {
    await withSockets(async (client, server) => {
      const bytes = Array.from(stream, (b) => new Uint8Array([b]));
      const conn = await accepted(client, server, version, bytes);
      assert.deepEqual(conn.remoteAddr, v6Source());
      assert.deepEqual(await readBytes(conn, CONNECT.length), CONNECT);
    });
  });

  Deno.test(`PROXY v${version} header cut short by the end of the stream is refused`, async () => {
    for (const cut of [0, 1, version === 1 ? 20 : 14, header.length - 1]) {
      const message = await refusal(version, [header.subarray(0, cut)], { end: true });
      const expected = cut === 0 ? "closed before its PROXY" : `closed after ${cut} bytes`;
      assert.match(message, new RegExp(expected), `cut at ${cut}`);
    }
  });

  Deno.test(`PROXY v${version}: a plain MQTT CONNECT is refused at once, named`, async () => {
    const started = Date.now();
    const message = await refusal(version, [CONNECT]);
    assert.match(message, new RegExp(`no PROXY v${version} header: it begins 10 0e 00 04`));
    assert.match(message, /MQTT CONNECT/);
    assert.ok(Date.now() - started < TIMEOUT_MS / 2, "refused without waiting for the timeout");
  });

  Deno.test(`PROXY v${version}: nothing within the timeout is refused`, async () => {
    const started = Date.now();
    const message = await refusal(version, [], { timeoutMs: 200 });
    const elapsed = Date.now() - started;
    assert.equal(message, `no PROXY v${version} header within 200 ms (got nothing)`);
    assert.ok(elapsed >= 190 && elapsed < 1500, `took ${elapsed} ms`);
    const partial = await refusal(version, [header.subarray(0, 5)], { timeoutMs: 200 });
    assert.equal(partial, `no PROXY v${version} header within 200 ms (got 5 bytes of it)`);
  });
}

// ---------------------------------------------------------------------------- refusals

Deno.test("PROXY v1 listener refuses garbage, a TLS hello and a v2 header, naming them", async () => {
  assert.match(await refusal(1, [text("HELLO WORLD\r\n")]), /no PROXY v1 header: it begins 48 45/);
  assert.match(await refusal(1, [new Uint8Array([0x16, 0x03, 0x01])]), /TLS handshake/);
  assert.match(await refusal(1, [encodeProxyHeaderV2(V4_ENDS)]), /PROXY v2 signature/);
  assert.match(await refusal(1, [text("PROXYTCP4 ")]), /no PROXY v1 header/);
});

Deno.test("PROXY v1 header with bad addresses or ports is refused", async () => {
  const cases: [string, RegExp][] = [
    ["PROXY TCP4 256.1.1.1 10.0.0.1 1 2", /bad source "256.1.1.1"/],
    ["PROXY TCP4 1.2.3 10.0.0.1 1 2", /bad source "1.2.3"/],
    ["PROXY TCP4 1.2.3.04 10.0.0.1 1 2", /bad source "1.2.3.04"/],
    ["PROXY TCP4 2001:db8::1 10.0.0.1 1 2", /bad source "2001:db8::1"/],
    ["PROXY TCP6 192.0.2.1 ::1 1 2", /bad source "192.0.2.1"/],
    ["PROXY TCP6 2001:db8:::1 ::1 1 2", /bad source/],
    ["PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2", /bad source/],
    ["PROXY TCP6 fe80::1%eth0 ::1 1 2", /bad source/],
    ["PROXY TCP4 10.0.0.2 10.0.0.300 1 2", /bad destination "10.0.0.300"/],
    ["PROXY TCP4 10.0.0.2 10.0.0.1 65536 2", /bad source port "65536"/],
    ["PROXY TCP4 10.0.0.2 10.0.0.1 0123 2", /bad source port "0123"/],
    ["PROXY TCP4 10.0.0.2 10.0.0.1 -1 2", /bad source port "-1"/],
    ["PROXY TCP4 10.0.0.2 10.0.0.1 1 x", /bad destination port "x"/],
    ["PROXY TCP4 10.0.0.2  10.0.0.1 1 2", /needs 4 fields/],
    ["PROXY TCP4 10.0.0.2 10.0.0.1 1", /needs 4 fields/],
    ["PROXY TCP4 10.0.0.2 10.0.0.1 1 2 3", /needs 4 fields/],
    ["PROXY TCP5 10.0.0.2 10.0.0.1 1 2", /unknown protocol "TCP5"/],
    ["PROXY ", /unknown protocol ""/],
  ];
  for (const [line, expected] of cases) {
    assert.match(await refusal(1, [text(`${line}\r\n`)]), expected, line);
  }
  assert.match(await refusal(1, [text("PROXY UNKNOWN\n")]), /LF without CR/);
});

Deno.test("PROXY v1 header over 107 bytes is refused without waiting for more", async () => {
  const long = text(`PROXY UNKNOWN ${"x".repeat(200)}`);
  assert.match(await refusal(1, [long]), /longer than 107 bytes/);
  const oneOver = text(`PROXY UNKNOWN ${"x".repeat(V1_MAX_LENGTH - 15)}\r\n`);
  assert.equal(oneOver.length, V1_MAX_LENGTH + 1);
  assert.match(await refusal(1, [oneOver]), /longer than 107 bytes/);
});

Deno.test("PROXY v2 listener refuses garbage, a v1 header and a bad signature", async () => {
  assert.match(await refusal(2, [encodeProxyHeaderV1(V4_ENDS)]), /no PROXY v2 header.*PROXY v1/);
  const badSignature = encodeProxyHeaderV2(V4_ENDS);
  badSignature[11] = 0x0b;
  assert.match(await refusal(2, [badSignature]), /no PROXY v2 header: it begins 0d 0a/);
  assert.match(await refusal(2, [new Uint8Array(20)]), /no PROXY v2 header: it begins 00/);
});

Deno.test("PROXY v2 header with a bad fixed part or block is refused", async () => {
  const addresses = encodeProxyHeaderV2(V4_ENDS).subarray(16);
  const cases: [Uint8Array, RegExp][] = [
    [proxyHeaderV2(0x11, 0x11, addresses), /version 1, not 2/],
    [proxyHeaderV2(0x31, 0x11, addresses), /version 3, not 2/],
    [proxyHeaderV2(0x22, 0x11, addresses), /unknown command 2/],
    [proxyHeaderV2(0x21, 0x41, addresses), /unknown address family 4/],
    [proxyHeaderV2(0x21, 0x12, addresses), /transport 2, not a stream/],
    [proxyHeaderV2(0x21, 0x10, addresses), /transport 0, not a stream/],
    [proxyHeaderV2(0x21, 0x11, addresses.subarray(0, 8)), /AF_INET header of 8 bytes, short/],
    [proxyHeaderV2(0x21, 0x21, addresses), /AF_INET6 header of 12 bytes, short/],
    [proxyHeaderV2(0x21, 0x31, new Uint8Array(100)), /AF_UNIX header of 100 bytes, short/],
    [
      proxyHeaderV2(0x21, 0x11, concat(addresses, new Uint8Array([0x04, 0x00]))),
      /TLV that overruns/,
    ],
    [
      proxyHeaderV2(0x21, 0x11, concat(addresses, new Uint8Array([0x04, 0x00, 0x09, 1]))),
      /TLV that overruns/,
    ],
  ];
  for (const [header, expected] of cases) {
    assert.match(await refusal(2, [header]), expected, String(expected));
  }
});

Deno.test("PROXY v2 header longer than the bound is refused at its fixed part", async () => {
  const started = Date.now();
  const fixed = concat(V2_SIGNATURE, new Uint8Array([0x21, 0x11, 0x04, 0x01]));
  assert.equal((fixed[14] << 8) | fixed[15], V2_MAX_BLOCK_LENGTH + 1);
  assert.match(await refusal(2, [fixed]), /1025 bytes after its fixed part, over 1024/);
  assert.ok(Date.now() - started < TIMEOUT_MS / 2);
  const atBound = proxyHeaderV2(
    0x21,
    0x11,
    concat(
      encodeProxyHeaderV2(V4_ENDS).subarray(16),
      encodeTlv({ type: PP2_TYPE_NOOP, value: new Uint8Array(V2_MAX_BLOCK_LENGTH - 15) }),
    ),
  );
  await assertProxied(2, atBound, v4Source);
});
