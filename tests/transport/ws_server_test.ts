/**
 * The WebSocket server over real sockets: the upgrade answer, the subprotocol, the byte stream
 * across and within frames, control frames, close codes, reads paused while nobody reads, and
 * `http_dir`. Client frames are made here byte by byte (RFC 6455 section 5.2), independently of
 * the server's codec; a browser-like client is Deno's own `WebSocket`.
 */

import assert from "node:assert/strict";
import { acceptWebSocket, type WebSocketAccept } from "../../src/transport/ws_server.ts";
import type { Conn } from "../../src/transport/conn.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="; // RFC 6455 section 1.3
const RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

interface ServerOptions {
  maxFrameSize?: number;
  httpDir?: string;
  handshakeTimeoutMs?: number;
}

/**
 * Listen on 127.0.0.1 port 0, run `body` with the port and the first connection's accept
 * result, then close everything.
 */
async function withServer(
  options: ServerOptions,
  body: (port: number, accepted: Promise<WebSocketAccept>) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept().then((socket) =>
    acceptWebSocket(socket, {
      maxFrameSize: options.maxFrameSize ?? 1 << 20,
      httpDir: options.httpDir,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 2000,
    })
  );
  try {
    await body((listener.addr as Deno.NetAddr).port, accepted);
  } finally {
    listener.close();
    const result = await accepted.catch(() => undefined);
    if (result !== undefined && "conn" in result) result.conn.close();
  }
}

/** A raw client socket with a buffer for reading exact byte counts (bounded waits). */
class RawClient {
  readonly socket: Deno.TcpConn;
  #buffered = new Uint8Array(0);

  constructor(socket: Deno.TcpConn) {
    this.socket = socket;
  }

  static async open(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async send(bytes: Uint8Array): Promise<void> {
    for (let off = 0; off < bytes.length;) off += await this.socket.write(bytes.subarray(off));
  }

  /** Read more, or null at the end of the stream. */
  async #more(): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.socket.read(chunk);
    if (n === null) return false;
    const joined = new Uint8Array(this.#buffered.length + n);
    joined.set(this.#buffered);
    joined.set(chunk.subarray(0, n), this.#buffered.length);
    this.#buffered = joined;
    return true;
  }

  async exactly(n: number): Promise<Uint8Array> {
    for (let i = 0; this.#buffered.length < n && i < 10_000; i++) {
      if (!await this.#more()) throw new Error(`stream ended before ${n} bytes`);
    }
    const out = this.#buffered.slice(0, n);
    this.#buffered = this.#buffered.subarray(n);
    return out;
  }

  /** The HTTP answer head (up to the blank line). */
  async head(): Promise<string> {
    for (let i = 0; i < 100; i++) {
      const text = dec.decode(this.#buffered);
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) return dec.decode(await this.exactly(end + 4));
      if (!await this.#more()) return text;
    }
    throw new Error("no HTTP head");
  }

  /** Everything until the server closes. */
  async rest(): Promise<Uint8Array> {
    for (let i = 0; i < 10_000 && await this.#more(); i++);
    return this.exactly(this.#buffered.length);
  }

  /** One server frame: its first byte, and its payload (a server never masks). */
  async frame(): Promise<{ b0: number; payload: Uint8Array }> {
    const [b0, b1] = await this.exactly(2);
    assert.equal(b1 & 0x80, 0, "a server frame must not be masked");
    let length = b1 & 0x7f;
    if (length === 126) length = new DataView((await this.exactly(2)).buffer).getUint16(0);
    else if (length === 127) {
      length = Number(new DataView((await this.exactly(8)).buffer).getBigUint64(0));
    }
    return { b0, payload: await this.exactly(length) };
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // closed by the test already
    }
  }
}

function upgradeRequest(protocols: string | undefined, extra = ""): Uint8Array {
  return enc.encode(
    "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Key: ${RFC_KEY}\r\n` +
      (extra.includes("Sec-WebSocket-Version") ? "" : "Sec-WebSocket-Version: 13\r\n") +
      (protocols === undefined ? "" : `Sec-WebSocket-Protocol: ${protocols}\r\n`) + extra +
      "\r\n",
  );
}

/** A client frame: masked unless told otherwise. */
function clientFrame(
  opcode: number,
  payload: Uint8Array,
  options: { fin?: boolean; masked?: boolean; rsv?: number; length?: number } = {},
): Uint8Array {
  const length = options.length ?? payload.length;
  const masked = options.masked ?? true;
  const head: number[] = [((options.fin ?? true) ? 0x80 : 0) | (options.rsv ?? 0) | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (length < 126) head.push(maskBit | length);
  else if (length < 0x10000) head.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    head.push(maskBit | 127, 0, 0, 0, 0);
    head.push((length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);
  }
  const mask = [0x37, 0xfa, 0x21, 0x3d];
  if (masked) head.push(...mask);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  for (let i = 0; i < payload.length; i++) {
    out[head.length + i] = masked ? payload[i] ^ mask[i & 3] : payload[i];
  }
  return out;
}

/** Read exactly `n` bytes from `conn` (at most 10 000 reads). */
async function readStream(conn: Conn, n: number, bufSize = 4096): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  const buf = new Uint8Array(bufSize);
  let got = 0;
  for (let i = 0; got < n && i < 10_000; i++) {
    const r = await conn.read(buf.subarray(0, Math.min(bufSize, n - got)));
    if (r === null) break;
    out.set(buf.subarray(0, r), got);
    got += r;
  }
  assert.equal(got, n, "stream ended early");
  return out;
}

/** Open a raw client, upgrade with subprotocol mqtt, and return both ends. */
async function upgraded(
  port: number,
  accepted: Promise<WebSocketAccept>,
): Promise<{ client: RawClient; conn: Conn }> {
  const client = await RawClient.open(port);
  await client.send(upgradeRequest("mqtt"));
  assert.match(await client.head(), /^HTTP\/1\.1 101 /);
  const result = await accepted;
  assert.ok("conn" in result, JSON.stringify(result));
  return { client, conn: result.conn };
}

/** The close code in a server close frame. */
async function closeCode(client: RawClient): Promise<number> {
  const { b0, payload } = await client.frame();
  assert.equal(b0, 0x88, "a final close frame");
  return (payload[0] << 8) | payload[1];
}

const packets = [
  // CONNECT (3.1.1, client id "a"), PINGREQ, PUBLISH qos 0 "t" "hello"
  0x10,
  13,
  0,
  4,
  77,
  81,
  84,
  84,
  4,
  2,
  0,
  60,
  0,
  1,
  97,
  0xc0,
  0,
  0x30,
  8,
  0,
  1,
  116,
  104,
  101,
  108,
  108,
  111,
];
const stream = new Uint8Array(packets);

Deno.test("acceptWebSocket answers 101 with the RFC 6455 accept key and mqtt", async () => {
  await withServer({}, async (port, accepted) => {
    const client = await RawClient.open(port);
    await client.send(upgradeRequest("mqtt"));
    assert.equal(
      await client.head(),
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${RFC_ACCEPT}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`,
    );
    const result = await accepted;
    assert.ok("conn" in result);
    assert.equal(result.path, "/mqtt");
    assert.equal(result.protocol, "mqtt");
    client.close();
  });
});

for (
  const [offered, chosen] of [
    ["foo, mqttv3.1, mqtt", "mqttv3.1"],
    ["foo,mqtt", "mqtt"],
  ] as const
) {
  Deno.test(`acceptWebSocket chooses ${chosen} from "${offered}"`, async () => {
    await withServer({}, async (port, accepted) => {
      const client = await RawClient.open(port);
      await client.send(upgradeRequest(offered));
      assert.match(await client.head(), new RegExp(`\r\nSec-WebSocket-Protocol: ${chosen}\r\n`));
      const result = await accepted;
      assert.ok("conn" in result && result.protocol === chosen);
      client.close();
    });
  });
}

for (
  const [name, request, status] of [
    ["no subprotocol", upgradeRequest(undefined), 400],
    ["only unknown subprotocols", upgradeRequest("foo, bar"), 400],
    ["version 8", upgradeRequest("mqtt", "Sec-WebSocket-Version: 8\r\n"), 426],
    [
      "a bad key",
      enc.encode(
        "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n" +
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n" +
          "Sec-WebSocket-Protocol: mqtt\r\n\r\n",
      ),
      400,
    ],
    [
      "POST",
      enc.encode("POST / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
      405,
    ],
  ] as const
) {
  Deno.test(`acceptWebSocket refuses an upgrade with ${name}: ${status}`, async () => {
    await withServer({}, async (port, accepted) => {
      const client = await RawClient.open(port);
      await client.send(request);
      assert.match(await client.head(), new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.equal((await client.rest()).length, 0, "closed after the answer");
      const result = await accepted;
      assert.ok("refused" in result, JSON.stringify(result));
      client.close();
    });
  });
}

Deno.test("acceptWebSocket refuses a socket that sends no request within the timeout", async () => {
  await withServer({ handshakeTimeoutMs: 100 }, async (port, accepted) => {
    const client = await RawClient.open(port);
    const result = await accepted;
    assert.deepEqual(result, { refused: "no upgrade request within 100 ms" });
    assert.equal((await client.rest()).length, 0);
    client.close();
  });
});

Deno.test("a Web WebSocket (subprotocol mqtt) exchanges bytes both ways and closes", async () => {
  await withServer({}, async (port, accepted) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/any/path`, "mqtt");
    ws.binaryType = "arraybuffer";
    const received: Uint8Array[] = [];
    const closed = new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
    const gotTwo = new Promise<void>((resolve) =>
      ws.onmessage = (event) => {
        received.push(new Uint8Array(event.data));
        if (received.length === 2) resolve();
      }
    );
    await new Promise((resolve) => ws.onopen = resolve);
    assert.equal(ws.protocol, "mqtt");
    const result = await accepted;
    assert.ok("conn" in result);
    assert.equal(result.path, "/any/path");
    ws.send(stream.subarray(0, 10));
    ws.send(stream.subarray(10));
    assert.deepEqual(await readStream(result.conn, stream.length), stream);
    await result.conn.write(stream.subarray(0, 3));
    await result.conn.write(new Uint8Array(70_000).fill(7)); // 64-bit length
    await gotTwo;
    assert.deepEqual(received[0], stream.subarray(0, 3));
    assert.equal(received[1].length, 70_000);
    ws.close(1000);
    assert.equal(await result.conn.read(new Uint8Array(10)), null);
    assert.equal((await closed).code, 1000);
  });
});

Deno.test("MQTT bytes split across two frames at every byte arrive byte-exact", async () => {
  await withServer({}, async (port, accepted) => {
    const { client, conn } = await upgraded(port, accepted);
    for (let cut = 0; cut <= stream.length; cut++) {
      await client.send(clientFrame(0x2, stream.subarray(0, cut)));
      await client.send(clientFrame(0x2, stream.subarray(cut)));
      assert.deepEqual(await readStream(conn, stream.length, 7), stream, `cut at ${cut}`);
    }
    client.close();
  });
});

Deno.test("frames arriving a byte at a time, and several packets in one frame", async () => {
  await withServer({}, async (port, accepted) => {
    const { client, conn } = await upgraded(port, accepted);
    const wire = clientFrame(0x2, stream);
    client.socket.setNoDelay(true);
    const reading = readStream(conn, stream.length);
    for (const byte of wire) await client.send(new Uint8Array([byte]));
    assert.deepEqual(await reading, stream);
    const three = new Uint8Array([...stream, ...stream, ...stream]);
    await client.send(clientFrame(0x2, three));
    assert.deepEqual(await readStream(conn, three.length), three);
    client.close();
  });
});

Deno.test("bytes sent with the upgrade request are decoded after it", async () => {
  await withServer({}, async (port, accepted) => {
    const client = await RawClient.open(port);
    await client.send(new Uint8Array([...upgradeRequest("mqtt"), ...clientFrame(0x2, stream)]));
    await client.head();
    const result = await accepted;
    assert.ok("conn" in result);
    assert.deepEqual(await readStream(result.conn, stream.length), stream);
    client.close();
  });
});

Deno.test("a fragmented message is joined and a ping between its fragments answered", async () => {
  await withServer({}, async (port, accepted) => {
    const { client, conn } = await upgraded(port, accepted);
    await client.send(clientFrame(0x2, stream.subarray(0, 5), { fin: false }));
    await client.send(clientFrame(0x9, enc.encode("are you there")));
    await client.send(clientFrame(0x0, stream.subarray(5, 12), { fin: false }));
    await client.send(clientFrame(0xa, enc.encode("unasked pong")));
    await client.send(clientFrame(0x0, stream.subarray(12)));
    assert.deepEqual(await readStream(conn, stream.length), stream);
    const pong = await client.frame();
    assert.equal(pong.b0, 0x8a);
    assert.equal(dec.decode(pong.payload), "are you there");
    client.close();
  });
});

Deno.test("write sends one unmasked binary frame per call (7, 16, 64-bit lengths)", async () => {
  await withServer({}, async (port, accepted) => {
    const { client, conn } = await upgraded(port, accepted);
    for (const size of [0, 125, 126, 65535, 65536, 200_000]) {
      const data = new Uint8Array(size).map((_, i) => i * 7);
      assert.equal(await conn.write(data), size);
      const { b0, payload } = await client.frame();
      assert.equal(b0, 0x82);
      assert.deepEqual(payload, data);
    }
    client.close();
  });
});

for (
  const [name, frames, code] of [
    ["an unmasked client frame", [clientFrame(0x2, stream, { masked: false })], 1002],
    ["a text frame", [clientFrame(0x1, enc.encode("hi"))], 1003],
    ["a reserved bit", [clientFrame(0x2, stream, { rsv: 0x40 })], 1002],
    ["a reserved opcode", [clientFrame(0x3, stream)], 1002],
    ["a continuation with no message", [clientFrame(0x0, stream)], 1002],
    ["a fragmented ping", [clientFrame(0x9, stream, { fin: false })], 1002],
    // Only the header: the server refuses before the payload comes.
    ["a frame over the maximum", [clientFrame(0x2, new Uint8Array(0), { length: 101 })], 1009],
    [
      "a fragmented message over the maximum",
      [
        clientFrame(0x2, new Uint8Array(60), { fin: false }),
        clientFrame(0x0, new Uint8Array(60)),
      ],
      1009,
    ],
  ] as const
) {
  Deno.test(`${name} closes the connection with ${code}`, async () => {
    await withServer({ maxFrameSize: 100 }, async (port, accepted) => {
      const { client, conn } = await upgraded(port, accepted);
      for (const bytes of frames) await client.send(bytes);
      const reading = (async () => {
        for (let i = 0; i < 100; i++) await conn.read(new Uint8Array(1024));
      })();
      await assert.rejects(reading, new RegExp(`closed with ${code}`));
      assert.equal(await closeCode(client), code);
      assert.equal((await client.rest()).length, 0, "the socket closes after the close frame");
      client.close();
    });
  });
}

Deno.test("a client close frame is echoed, the stream ends and the socket closes", async () => {
  await withServer({}, async (port, accepted) => {
    const { client, conn } = await upgraded(port, accepted);
    await client.send(clientFrame(0x2, stream));
    await client.send(clientFrame(0x8, new Uint8Array([0x03, 0xe9, ...enc.encode("bye")])));
    assert.deepEqual(await readStream(conn, stream.length), stream);
    assert.equal(await conn.read(new Uint8Array(10)), null);
    assert.equal(await closeCode(client), 1001);
    assert.equal((await client.rest()).length, 0);
    await assert.rejects(conn.write(stream));
    client.close();
  });
});

Deno.test("close() sends a close frame with 1000, then closes the socket", async () => {
  await withServer({}, async (port, accepted) => {
    const { client, conn } = await upgraded(port, accepted);
    conn.close();
    assert.equal(await closeCode(client), 1000);
    assert.equal((await client.rest()).length, 0);
    client.close();
  });
});

Deno.test("nothing is read from the socket while nobody calls read()", async () => {
  await withServer({}, async (port, accepted) => {
    const { client, conn } = await upgraded(port, accepted);
    const frame = clientFrame(0x2, new Uint8Array(64 * 1024).fill(0x5a));
    const payloadBytes = 64 * 1024;
    let sent = 0;
    let pending: Promise<void> | undefined;
    // Write until a write stays blocked for 300 ms (at most 64 MiB).
    for (let i = 0; i < 1024; i++) {
      const write = client.send(frame);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const blocked = await Promise.race([
        write.then(() => false),
        new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), 300)),
      ]);
      clearTimeout(timer);
      if (blocked) {
        pending = write;
        break;
      }
      sent++;
    }
    assert.ok(pending !== undefined, "the client's writes never blocked");
    // Only the kernel's buffers hold what was sent: a few MiB on loopback.
    assert.ok(sent * frame.length < 32 * 1024 * 1024, `${sent} frames went through`);
    const total = (sent + 1) * payloadBytes;
    const all = await readStream(conn, total, 256 * 1024);
    assert.ok(all.every((b) => b === 0x5a));
    await pending;
    client.close();
  });
});

Deno.test("http_dir: files are served with a content type; nothing outside or listed", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = `${root}/www`;
    await Deno.mkdir(`${dir}/sub`, { recursive: true });
    await Deno.writeTextFile(`${dir}/index.html`, "<p>hello</p>");
    await Deno.writeTextFile(`${dir}/app.js`, "1;");
    await Deno.writeTextFile(`${root}/secret.txt`, "secret");
    await Deno.symlink(`${root}/secret.txt`, `${dir}/link.txt`);
    const cases: [string, number, string?][] = [
      ["GET /index.html", 200, "text/html; charset=utf-8"],
      ["GET /", 200, "text/html; charset=utf-8"],
      ["GET /app.js?v=1", 200, "text/javascript; charset=utf-8"],
      ["GET /../secret.txt", 404],
      ["GET /%2e%2e/secret.txt", 404],
      ["GET /sub/..%2f..%2fsecret.txt", 404],
      ["GET /link.txt", 403],
      ["GET /sub", 404],
      ["GET /missing.css", 404],
      ["DELETE /index.html", 405],
    ];
    for (const [request, status, type] of cases) {
      await withServer({ httpDir: dir }, async (port, accepted) => {
        const client = await RawClient.open(port);
        await client.send(enc.encode(`${request} HTTP/1.1\r\nHost: x\r\n\r\n`));
        const head = await client.head();
        const body = dec.decode(await client.rest());
        assert.match(head, new RegExp(`^HTTP/1\\.1 ${status} `), request);
        if (type !== undefined) assert.match(head, new RegExp(`\r\ncontent-type: ${type}\r\n`));
        assert.ok(!body.includes("secret"), request);
        const result = await accepted;
        assert.ok("served" in result, request);
        client.close();
      });
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("without http_dir a plain GET is answered 404 and refused", async () => {
  await withServer({}, async (port, accepted) => {
    const client = await RawClient.open(port);
    await client.send(enc.encode("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert.match(await client.head(), /^HTTP\/1\.1 404 /);
    assert.ok("refused" in await accepted);
    client.close();
  });
});
