/**
 * How the broker ends a connection, over real sockets: the DISCONNECT it sends (`E0 01 rc`,
 * as Mosquitto), which protocol errors it announces with one and which close without a word
 * (as Mosquitto 2.0.11 does, checked with raw bytes), the client's Maximum Packet Size on
 * every packet, and the graceful close: the client reads the last word, not a reset.
 *
 * @module
 */

import assert from "node:assert/strict";
import { MOSQUITTO_BROKER } from "../auth/mosquitto_tools.ts";
import { hexBytes } from "../fixtures/packets.ts";
import { interopTest } from "../interop/helpers.ts";
import { startMosquitto } from "../tools/brokers.ts";
import { floodQos2 } from "./flood_client.ts";
import { connect, hex, RawClient, startBroker, type TestBroker, waitFor } from "./harness.ts";
import { makeCertificates } from "../fixtures/certs.ts";
import { dial, type DialTarget } from "../../src/transport/dial.ts";

async function withBroker(
  overrides: Parameters<typeof startBroker>[0],
  fn: (tb: TestBroker) => Promise<void>,
): Promise<void> {
  const tb = startBroker(overrides);
  try {
    await fn(tb);
  } finally {
    await tb.stop();
  }
}

/** Frames the broker sent after CONNACK in answer to `bytes`, once it closed. */
async function answerTo(tb: TestBroker, bytes: string, version: 4 | 5 = 5): Promise<string[]> {
  const { client } = await connect(tb.port, { protocolVersion: version });
  try {
    await client.sendBytes(hexBytes(bytes));
    await client.expectClosed();
    return client.frames.slice(1).map(hex);
  } finally {
    await client.close();
  }
}

/** An error in one packet, and whether Mosquitto 2.0.11 tells a 5.0 client with DISCONNECT. */
interface FailureCase {
  name: string;
  bytes: string;
  announced: boolean;
}

const FAILURES: FailureCase[] = [
  { name: "PUBLISH with QoS 3", bytes: "36 05 00 01 61 00 01", announced: true },
  { name: "PUBLISH with an unknown property", bytes: "30 06 00 01 61 02 99 00", announced: true },
  { name: "SUBSCRIBE with flags 0", bytes: "80 07 00 01 00 00 01 61 00", announced: true },
  { name: "SUBSCRIBE without a filter", bytes: "82 03 00 01 00", announced: true },
  { name: "UNSUBSCRIBE with flags 0", bytes: "a0 06 00 01 00 00 01 61", announced: true },
  { name: "the reserved packet type 0", bytes: "00 00", announced: true },
  {
    name: "DISCONNECT setting a session expiry after CONNECT set 0",
    bytes: "e0 07 00 05 11 00 00 00 0a",
    announced: true,
  },
  { name: "CONNACK from a client", bytes: "20 03 00 00 00", announced: false },
  {
    name: "a second CONNECT",
    bytes: "10 0d 00 04 4d 51 54 54 05 02 00 3c 00 00 00",
    announced: false,
  },
  { name: "PUBACK of one byte", bytes: "40 01 00", announced: false },
  { name: "PUBACK with an unknown property", bytes: "40 05 00 01 00 01 99", announced: false },
  { name: "PUBREL with flags 0", bytes: "60 02 00 01", announced: false },
  { name: "PINGREQ with a body", bytes: "c0 01 00", announced: false },
  { name: "SUBACK from a client", bytes: "90 04 00 01 00 00", announced: false },
  { name: "DISCONNECT with flags 1", bytes: "e1 00", announced: false },
  { name: "DISCONNECT with an unknown reason code", bytes: "e0 01 03", announced: false },
  { name: "AUTH with flags 1", bytes: "f1 00", announced: false },
  { name: "a remaining length of 5 bytes", bytes: "30 ff ff ff ff 01", announced: false },
  // A repeated property closes silently in every packet, even where other errors are announced.
  {
    name: "PUBLISH with its content type twice",
    bytes: "30 0c 00 01 61 08 03 00 01 62 03 00 01 63",
    announced: false,
  },
  {
    name: "PUBLISH with two subscription identifiers",
    bytes: "30 08 00 01 61 04 0b 01 0b 02",
    announced: false,
  },
  {
    name: "SUBSCRIBE with two subscription identifiers",
    bytes: "82 0b 00 01 04 0b 01 0b 02 00 01 61 00",
    announced: false,
  },
  {
    name: "PUBACK with its reason string twice",
    bytes: "40 0c 00 01 10 08 1f 00 01 61 1f 00 01 62",
    announced: false,
  },
  {
    name: "DISCONNECT with its session expiry twice",
    bytes: "e0 0c 00 0a 11 00 00 00 00 11 00 00 00 00",
    announced: false,
  },
];

for (const c of FAILURES) {
  const what = c.announced ? "DISCONNECT E0 01 rc, then the close" : "the close, no DISCONNECT";
  Deno.test(`5.0: ${c.name} gets ${what}, as from Mosquitto [MQTT-4.13.1-1]`, async () => {
    await withBroker({}, async (tb) => {
      const frames = await answerTo(tb, c.bytes);
      if (c.announced) {
        assert.equal(frames.length, 1, frames.join(" | "));
        assert.match(frames[0], /^e0 01 [89][0-9a-f]$/);
      } else {
        assert.deepEqual(frames, []);
      }
    });
  });
}

Deno.test("5.0: the server's DISCONNECT is E0 01 rc, no reason string even when problem information is asked for", async () => {
  await withBroker({ maxPacketSize: 200 }, async (tb) => {
    const { client } = await connect(tb.port, {
      protocolVersion: 5,
      properties: { requestProblemInformation: 1 },
    });
    try {
      await client.sendBytes(hexBytes("36 05 00 01 61 00 01")); // QoS 3
      await client.expectClosed();
      assert.deepEqual(client.frames.slice(1).map(hex), ["e0 01 81"]);
    } finally {
      await client.close();
    }
    const big = "30 ff 01 00 01 61 00" + " 78".repeat(251); // 255 bytes over 200
    assert.deepEqual(await answerTo(tb, big), ["e0 01 95"]);
  });
});

Deno.test("5.0: a session taken over gets DISCONNECT E0 01 8E and nothing more [MQTT-3.1.4-3]", async () => {
  await withBroker({}, async (tb) => {
    const first = await connect(tb.port, { protocolVersion: 5, clientId: "same" });
    const second = await connect(tb.port, { protocolVersion: 5, clientId: "same" });
    try {
      await first.client.expectClosed();
      assert.deepEqual(first.client.frames.slice(1).map(hex), ["e0 01 8e"]);
    } finally {
      await first.client.close();
      await second.client.close();
    }
  });
});

Deno.test("3.1.1: an error closes without any packet (3.x has no server DISCONNECT)", async () => {
  await withBroker({}, async (tb) => {
    assert.deepEqual(await answerTo(tb, "36 05 00 01 61 00 01", 4), []);
  });
});

// -------------------------------------------------------------- the client's maximum packet size

Deno.test("5.0: a CONNACK larger than the client's Maximum Packet Size is not sent: the connection closes [MQTT-3.1.2-24]", async () => {
  await withBroker({}, async (tb) => {
    const client = await RawClient.open(tb.port, 5);
    try {
      await client.send({
        type: "connect",
        protocolVersion: 5,
        clientId: "tiny",
        clean: true,
        keepAlive: 60,
        properties: { maximumPacketSize: 4 }, // CONNACK takes 5 bytes at least
      });
      await client.expectClosed();
      assert.deepEqual(client.frames.map(hex), []);
      const closed = "Client tiny disconnected due to oversize packet: CONNACK of ";
      assert.ok(tb.logs.some((l) => l.startsWith(closed)), tb.logs.join("\n"));
      assert.ok(!tb.logs.some((l) => l.startsWith("New client connected")));
    } finally {
      await client.close();
    }
  });
});

Deno.test("5.0: a SUBACK larger than the client's Maximum Packet Size is not sent, the connection goes on [MQTT-3.1.2-24]", async () => {
  await withBroker({}, async (tb) => {
    const { client } = await connect(tb.port, {
      protocolVersion: 5,
      clientId: "small",
      properties: { maximumPacketSize: 20 },
    });
    try {
      const filters = Array.from({ length: 20 }, (_, i) => ({
        topicFilter: `f${i}`,
        qos: 0 as const,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0 as const,
      }));
      await client.send({ type: "subscribe", packetId: 7, subscriptions: filters }); // SUBACK: 25 bytes
      await client.send({ type: "pingreq" });
      await client.expect("pingresp");
      assert.ok(
        tb.logs.some((l) => l.startsWith("Dropped SUBACK of 25 bytes")),
        tb.logs.join("\n"),
      );
    } finally {
      await client.close();
    }
  });
});

// ------------------------------------------------------------------------------ graceful close

Deno.test("5.0: a client flooding QoS 2 past Receive Maximum reads DISCONNECT 0x93, then an orderly end, not a reset", async () => {
  await withBroker({ maxInflightMessages: 5 }, async (tb) => {
    let brokerConnections = -1;
    const result = await floodQos2(tb.port, "flood", {
      maxPublishes: 20_000,
      timeMs: 5000,
      onDisconnect: () => brokerConnections = tb.broker.connections.size,
    });
    assert.equal(result.disconnect, 0x93, JSON.stringify(result));
    assert.equal(result.readEnd, "eof", JSON.stringify(result));
    assert.equal(result.writeError, undefined, JSON.stringify(result));
    // Closed for the broker at the decision, while the socket still lingered.
    assert.equal(brokerConnections, 0);
    assert.equal(tb.broker.sessions.has("flood"), false);
    // What came after the decision was read and dropped, never handled.
    const decided = tb.logs.findIndex((l) => l.startsWith("Client flood disconnected due to"));
    assert.ok(decided >= 0, tb.logs.slice(-5).join("\n"));
    const after = tb.logs.slice(decided).filter((l) => l.startsWith("Received "));
    assert.deepEqual(after, []);
  });
});

Deno.test("5.0: over TLS and secure WebSockets too, a client flooding QoS 2 past Receive Maximum reads DISCONNECT 0x93, then an orderly end, not a reset", async () => {
  const certs = await makeCertificates();
  const tls = { certfile: certs.server.cert, keyfile: certs.server.key, requireCertificate: false };
  const listeners = [
    { host: "127.0.0.1", port: 0, tls },
    { host: "127.0.0.1", port: 0, tls, websockets: { maxFrameSize: 65536 } },
  ];
  try {
    await withBroker({ maxInflightMessages: 5, listeners }, async (tb) => {
      await waitFor(() => tb.broker.ports.length === 2, "the listeners to open");
      const [tlsPort, wssPort] = tb.broker.ports;
      const trust = { caCerts: [await Deno.readTextFile(certs.ca)] };
      const targets: [string, DialTarget][] = [
        ["TLS", { kind: "tcp", host: "127.0.0.1", port: tlsPort, tls: trust }],
        ["wss", { kind: "websocket", url: `wss://127.0.0.1:${wssPort}/mqtt`, tls: trust }],
      ];
      for (const [name, target] of targets) {
        const result = await floodQos2(0, `flood-${name}`, {
          maxPublishes: 20_000,
          timeMs: 5000,
          withholdPubrel: true, // a WebSocket client is too slow to outrun its PUBREL otherwise
          dial: () => dial(target),
        });
        const shown = `${name}: ${JSON.stringify(result)}`;
        assert.equal(result.disconnect, 0x93, shown);
        assert.equal(result.readEnd, "eof", shown);
        assert.equal(result.writeError, undefined, shown);
      }
    });
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});

Deno.test("5.0: a refused client that pipelined PUBLISH after CONNECT reads the CONNACK, then an orderly end, not a reset", async () => {
  await withBroker({ allowZeroLengthClientId: false }, async (tb) => {
    const result = await floodQos2(tb.port, "", {
      maxPublishes: 20_000,
      timeMs: 5000,
      pipelined: true,
    });
    assert.ok((result.connack ?? 0) >= 0x80, JSON.stringify(result));
    assert.equal(result.readEnd, "eof", JSON.stringify(result));
    assert.equal(result.writeError, undefined, JSON.stringify(result));
    assert.deepEqual(result.pubrecCodes, []);
  });
});

interopTest({
  name:
    "the same QoS 2 flood against Midge and Mosquitto 2.0.11 (max_inflight_messages 5): Midge says DISCONNECT 0x93 and ends in order, Mosquitto answers PUBREC 0x97 (MQTT 5.0 §3.3.4: intended difference)",
  needs: [MOSQUITTO_BROKER],
  async fn() {
    const flood = { maxPublishes: 300, timeMs: 2000 };
    await withBroker({ maxInflightMessages: 5 }, async (tb) => {
      const result = await floodQos2(tb.port, "flood", flood);
      assert.equal(result.disconnect, 0x93, JSON.stringify(result));
      assert.equal(result.readEnd, "eof", JSON.stringify(result));
      assert.equal(result.writeError, undefined, JSON.stringify(result));
    });
    const mosquitto = await startMosquitto({ mosquittoLines: ["max_inflight_messages 5"] });
    try {
      const result = await floodQos2(mosquitto.port, "flood", flood);
      assert.equal(result.disconnect, undefined, JSON.stringify(result));
      assert.ok(result.pubrecCodes.includes(0x97), JSON.stringify(result));
      assert.equal(result.readEnd, "open");
    } finally {
      await mosquitto.stop();
    }
  },
});

Deno.test("stop() does not wait for a closed connection whose client stays: its lingering socket is closed at once", async () => {
  const tb = startBroker({});
  const { client } = await connect(tb.port, { protocolVersion: 5 });
  try {
    await client.sendBytes(hexBytes("36 05 00 01 61 00 01")); // QoS 3: DISCONNECT, then linger
    await client.expectClosed(); // the broker's FIN; the client keeps its socket open
    const started = Date.now();
    await tb.stop();
    const took = Date.now() - started;
    assert.ok(took < 500, `stop() took ${took} ms`);
  } finally {
    await client.close();
  }
});

Deno.test("a client that sends on after DISCONNECT is cut off once 256 KiB were dropped, before the time bound", async () => {
  await withBroker({}, async (tb) => {
    const { client } = await connect(tb.port, { protocolVersion: 5 });
    try {
      const started = Date.now();
      await client.sendBytes(hexBytes("36 05 00 01 61 00 01")); // QoS 3: DISCONNECT, then linger
      const chunk = new Uint8Array(64 * 1024);
      for (let i = 0; i < 64 && tb.broker.lingering.size + tb.broker.connections.size > 0; i++) {
        await client.sendBytes(chunk).catch(() => {});
      }
      await client.expectClosed();
      const took = Date.now() - started;
      assert.equal(tb.broker.lingering.size, 0);
      assert.ok(took < 900, `cut off after ${took} ms`);
      assert.equal(hex(client.frames[1]), "e0 01 81");
    } finally {
      await client.close();
    }
  });
});
