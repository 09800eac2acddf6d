/**
 * Per-listener settings over real sockets: allow_anonymous (global and per listener),
 * max_connections, max_topic_alias, allow_zero_length_clientid and auto_id_prefix per
 * listener, and listening on every address.
 */

import assert from "node:assert/strict";
import { ReasonCode } from "../../src/codec/mod.ts";
import { fixtureBytes } from "../fixtures/packets.ts";
import { connect, hex, RawClient, sendConnect, startBroker, waitFor } from "./harness.ts";

Deno.test("allow_anonymous false: a 3.1.1 client without a username gets CONNACK 5 (not authorised) and is closed", async () => {
  const tb = startBroker({ allowAnonymous: false });
  try {
    const { client, connack } = await connect(tb.port, { clientId: "anon" });
    assert.equal(connack.reasonCode, ReasonCode.NotAuthorized);
    assert.deepEqual([...client.frames[0]], [0x20, 0x02, 0x00, 0x05]); // return code 5 on the wire
    await client.expectClosed();
    await client.close();
    assert.ok(
      tb.logs.some((l) =>
        /Client anon from 127\.0\.0\.1:\d+ refused: not authorised \(no username\)\./.test(l)
      ),
    );
  } finally {
    await tb.stop();
  }
});

Deno.test("allow_anonymous false with no password file: 5.0 clients get 0x87, with or without a username (as Mosquitto 2.0)", async () => {
  const tb = startBroker({ allowAnonymous: false });
  try {
    const anon = await connect(tb.port, { protocolVersion: 5, clientId: "anon5" });
    assert.equal(anon.connack.reasonCode, ReasonCode.NotAuthorized);
    await anon.client.expectClosed();
    await anon.client.close();
    const named = await connect(tb.port, {
      protocolVersion: 5,
      clientId: "named",
      username: "ann",
    });
    assert.equal(named.connack.reasonCode, ReasonCode.NotAuthorized);
    await named.client.close();
  } finally {
    await tb.stop();
  }
});

Deno.test("per-listener security: anonymous allowed on one listener and refused on the other", async () => {
  const lab = { host: "127.0.0.1", port: 0 };
  const locked = { host: "127.0.0.1", port: 0 };
  const tb = startBroker({
    allowAnonymous: false,
    listeners: [lab, locked],
    listenerSecurity: new Map([
      [lab, { allowAnonymous: true, autoIdPrefix: "lab-" }],
      [locked, { allowAnonymous: false }],
    ]),
  });
  try {
    const [open, closed] = tb.broker.ports;
    const a = await connect(open, { protocolVersion: 5, clientId: "" });
    assert.equal(a.connack.reasonCode, 0);
    assert.match(String(a.connack.properties?.assignedClientIdentifier), /^lab-/);
    await a.client.close();
    const b = await connect(closed, { clientId: "x" });
    assert.deepEqual([...b.client.frames[0]], [0x20, 0x02, 0x00, 0x05]);
    await b.client.close();
  } finally {
    await tb.stop();
  }
});

Deno.test("per-listener allow_zero_length_clientid false refuses an empty id there only (5.0: 0x80, as Mosquitto)", async () => {
  const strictListener = { host: "127.0.0.1", port: 0 };
  const tb = startBroker({
    listeners: [strictListener, { host: "127.0.0.1", port: 0 }],
    listenerSecurity: new Map([[strictListener, { allowZeroLengthClientId: false }]]),
  });
  try {
    const [strict, lax] = tb.broker.ports;
    const a = await connect(strict, { protocolVersion: 5, clientId: "" });
    assert.equal(a.connack.reasonCode, ReasonCode.UnspecifiedError);
    await a.client.close();
    const b = await connect(lax, { protocolVersion: 5, clientId: "" });
    assert.equal(b.connack.reasonCode, 0);
    assert.match(String(b.connack.properties?.assignedClientIdentifier), /^auto-/);
    await b.client.close();
  } finally {
    await tb.stop();
  }
});

Deno.test("max_connections 2: the third socket is closed at once and logged; a place frees when one leaves", async () => {
  const tb = startBroker({ listeners: [{ host: "127.0.0.1", port: 0, maxConnections: 2 }] });
  try {
    const one = await connect(tb.port, { clientId: "one" });
    const two = await connect(tb.port, { clientId: "two" });
    const three = await RawClient.open(tb.port);
    await three.expectClosed();
    await three.close();
    assert.ok(
      tb.logs.some((l) =>
        l === "Client connection from 127.0.0.1 denied: max_connections exceeded."
      ),
    );
    await one.client.send({ type: "disconnect", reasonCode: 0 });
    await one.client.expectClosed();
    await one.client.close();
    await waitFor(() => tb.broker.sessions.connectedCount === 1, "the first client to be gone");
    const four = await connect(tb.port, { clientId: "four" });
    assert.equal(four.connack.reasonCode, 0);
    await four.client.close();
    await two.client.close();
  } finally {
    await tb.stop();
  }
});

Deno.test("max_topic_alias per listener: announced in CONNACK and enforced (0x94 above it)", async () => {
  const tb = startBroker({ listeners: [{ host: "127.0.0.1", port: 0, maxTopicAlias: 2 }] });
  try {
    const { client, connack } = await connect(tb.port, { protocolVersion: 5, clientId: "ta" });
    assert.equal(connack.properties?.topicAliasMaximum, 2);
    await client.send({
      type: "publish",
      topic: "a/b",
      payload: new Uint8Array(1),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 3 },
    });
    const disconnect = await client.expect("disconnect");
    assert.equal(disconnect.reasonCode, ReasonCode.TopicAliasInvalid);
    await client.close();
  } finally {
    await tb.stop();
  }
});

Deno.test("a listener without an address accepts IPv4 clients (dual stack where the host has IPv6)", async () => {
  const tb = startBroker({ listeners: [{ port: 0 }] });
  try {
    const client = await RawClient.open(tb.port);
    const connack = await sendConnect(client, { clientId: "v4" });
    assert.equal(connack.reasonCode, 0);
    await client.close();
    assert.ok(tb.logs.includes(`Opening ipv4 listen socket on port 0.`));
  } finally {
    await tb.stop();
  }
});

/** A WebSocket MQTT client's CONNACK, or "refused" when the socket closes before the upgrade. */
function wsConnack(port: number): Promise<{ socket: WebSocket; connack: string } | "refused"> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, "mqtt");
    socket.binaryType = "arraybuffer";
    socket.onopen = () => socket.send(fixtureBytes("CONNECT 3.1.1 minimal"));
    socket.onmessage = (event) =>
      resolve({ socket, connack: hex(new Uint8Array(event.data as ArrayBuffer)) });
    socket.onerror = () => resolve("refused");
    socket.onclose = () => resolve("refused");
  });
}

Deno.test("max_connections is each listener's own: TCP, WebSocket and Unix-socket listeners fill apart", async () => {
  const dir = await Deno.makeTempDir();
  const socketPath = `${dir}/midge.sock`;
  const tb = startBroker({
    listeners: [
      { host: "127.0.0.1", port: 0, maxConnections: 1 },
      { host: "127.0.0.1", port: 0, maxConnections: 1, websockets: { maxFrameSize: 65536 } },
      { port: 0, socketPath, maxConnections: 1 },
    ],
  });
  const [tcpPort, wsPort] = tb.broker.ports;
  const held: { close(): unknown }[] = [];
  try {
    const tcp = await connect(tcpPort, { clientId: "tcp" });
    held.push(tcp.client);
    const tcpOver = await RawClient.open(tcpPort);
    await tcpOver.expectClosed();
    await tcpOver.close();

    // The TCP listener is full; the WebSocket one is not.
    const ws = await wsConnack(wsPort);
    assert.notEqual(ws, "refused");
    if (ws !== "refused") {
      held.push(ws.socket);
      assert.equal(ws.connack, "20 02 00 00");
    }
    assert.equal(await wsConnack(wsPort), "refused");

    // Nor the Unix-socket one.
    const unix = await Deno.connect({ transport: "unix", path: socketPath });
    held.push(unix);
    await unix.write(fixtureBytes("CONNECT 3.1.1 minimal"));
    const answer = new Uint8Array(4);
    assert.equal(await unix.read(answer), 4);
    assert.equal(hex(answer), "20 02 00 00");
    const unixOver = await Deno.connect({ transport: "unix", path: socketPath });
    assert.equal(await unixOver.read(new Uint8Array(4)), null);
    unixOver.close();

    const denials = tb.logs.filter((l) => l.endsWith("denied: max_connections exceeded."));
    assert.equal(denials.length, 3, denials.join("\n"));
  } finally {
    for (const h of held) h.close();
    await tb.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
