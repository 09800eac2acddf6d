/**
 * Midge as a real process under `ulimit -n 256`: more idle sockets than it has descriptors,
 * on its MQTT listener and on its HTTP listener (half-sent requests). It must stay up, say
 * once that it paused accepting, close half-sent requests after `http_timeout`, and serve
 * again once the sockets are gone. (Under `Deno.serve`, the same HTTP flood ended the process
 * with "Too many open files".)
 */

import assert from "node:assert/strict";
import { freePort } from "../fixtures/net.ts";
import { type LoggedMidge, startLoggedMidge } from "../fixtures/midge_process.ts";
import { connect, waitFor } from "../integration/harness.ts";

const LIMIT = 256;
/** More sockets than the process has descriptors. */
const IDLE_SOCKETS = 320;

/** `count` TCP connections to `port` that send `text` (if any), then nothing more. */
async function idleSockets(port: number, count: number, text = ""): Promise<Deno.TcpConn[]> {
  const sockets: Deno.TcpConn[] = [];
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < count; i++) {
    const socket = await Deno.connect({ hostname: "127.0.0.1", port });
    sockets.push(socket);
    try {
      if (bytes.length > 0) await socket.write(bytes);
    } catch {
      // refused and closed by midge already
    }
  }
  return sockets;
}

/** A request cut off before the blank line that ends its head. */
const HALF_REQUEST = "GET /health HTTP/1.1\r\nhost: midge\r\n";

async function healthStatus(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/health`);
  await response.body?.cancel();
  return response.status;
}

function closeAll(sockets: Deno.TcpConn[]): void {
  for (const socket of sockets) socket.close();
}

/** Midge under `ulimit -n 256` with `conf`, logging to a file. */
function limitedMidge(conf: string): Promise<LoggedMidge> {
  return startLoggedMidge(conf, { descriptorLimit: LIMIT });
}

function count(text: string, part: string): number {
  return text.split(part).length - 1;
}

Deno.test("ulimit -n 256: 320 idle MQTT sockets pause accepting (one line) instead of killing midge; it serves again once they close", async () => {
  const port = freePort();
  const midge = await limitedMidge(`allow_anonymous true\nlistener ${port} 127.0.0.1\n`);
  try {
    assert.match(await midge.log(), /Descriptor limit 256: at most 192 connections at once/);
    const sockets = await idleSockets(port, IDLE_SOCKETS);
    try {
      await waitFor(
        async () => !midge.alive() || (await midge.log()).includes("Accepting connections paused"),
        "the pause",
        10_000,
      );
      assert.ok(midge.alive(), "midge is still running");
      // Refused sockets are closed by midge at once: reading them ends.
      const last = sockets.at(-1)!;
      assert.equal(await last.read(new Uint8Array(1)), null);
    } finally {
      closeAll(sockets);
    }
    await waitFor(
      async () => (await midge.log()).includes("Accepting connections resumed"),
      "the resume",
      10_000,
    );
    const { client, connack } = await connect(port, { clientId: "after" });
    assert.equal(connack.reasonCode, 0);
    await client.close();
    const log = await midge.log();
    assert.equal(count(log, "Accepting connections paused"), 1, "paused once");
    assert.equal(count(log, "Accepting connections resumed"), 1, "resumed once");
    assert.ok(midge.alive());
  } finally {
    await midge.close();
  }
});

Deno.test("ulimit -n 256: 320 half-sent HTTP requests meet http_max_connections (one line); MQTT is served meanwhile; http_timeout closes them and HTTP serves again", async () => {
  const [mqtt, http] = [freePort(), freePort()];
  const midge = await limitedMidge(
    `allow_anonymous true\nlistener ${mqtt} 127.0.0.1\n` +
      `listener ${http} 127.0.0.1\nprotocol http\nhttp_open true\nhttp_timeout 1\n`,
  );
  const paused = `Accepting HTTP connections on port ${http} paused`;
  try {
    const started = Date.now();
    const sockets = await idleSockets(http, IDLE_SOCKETS, HALF_REQUEST);
    try {
      await waitFor(async () => (await midge.log()).includes(paused), "the pause", 10_000);
      assert.match(await midge.log(), /: 100 open, http_max_connections 100\./);
      // The HTTP cap is under the descriptor limit: MQTT clients still get in.
      const { client, connack } = await connect(mqtt, { clientId: "during" });
      assert.equal(connack.reasonCode, 0);
      await client.close();
      // An admitted half-sent request is closed by midge after http_timeout (1 s).
      assert.equal(await sockets[0].read(new Uint8Array(1)), null);
      const took = Date.now() - started;
      assert.ok(took >= 900 && took < 8000, `closed after ${took} ms`);
    } finally {
      closeAll(sockets);
    }
    await waitFor(
      async () => (await midge.log()).includes(`HTTP connections on port ${http} resumed`),
      "the resume",
      10_000,
    );
    assert.equal(await healthStatus(http), 200);
    assert.equal(count(await midge.log(), paused), 1, "paused once");
    assert.equal(count(await midge.log(), "Accepting connections paused"), 0, "gate untouched");
    assert.ok(midge.alive());
  } finally {
    await midge.close();
  }
});

Deno.test("ulimit -n 256: with http_max_connections over the descriptor limit, an HTTP flood pauses the shared gate instead of killing midge", async () => {
  const [mqtt, http] = [freePort(), freePort()];
  const midge = await limitedMidge(
    `allow_anonymous true\nlistener ${mqtt} 127.0.0.1\nlistener ${http} 127.0.0.1\n` +
      "protocol http\nhttp_open true\nhttp_timeout 1\nhttp_max_connections 1000\n",
  );
  try {
    const sockets = await idleSockets(http, IDLE_SOCKETS, HALF_REQUEST);
    try {
      await waitFor(
        async () => !midge.alive() || (await midge.log()).includes("Accepting connections paused"),
        "the pause",
        10_000,
      );
      assert.ok(midge.alive(), "midge is still running");
    } finally {
      closeAll(sockets);
    }
    await waitFor(
      async () => (await midge.log()).includes("Accepting connections resumed"),
      "the resume",
      10_000,
    );
    assert.equal(await healthStatus(http), 200);
    const { client, connack } = await connect(mqtt, { clientId: "after" });
    assert.equal(connack.reasonCode, 0);
    await client.close();
    const log = await midge.log();
    assert.equal(count(log, "Accepting connections paused"), 1, "paused once");
    assert.ok(midge.alive());
  } finally {
    await midge.close();
  }
});
