/**
 * CONNECT, client identifiers, session takeover, keep alive, the connect timeout, sessions
 * (clean start, session present, offline queues, resumption, 5.0 session expiry) and the
 * connection log lines, byte for byte over real sockets. CONNACK bytes marked "as Mosquitto"
 * were checked against Mosquitto 2.0.11.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProtocolVersion } from "../../src/codec/mod.ts";
import { fixtureBytes as fixture, hexBytes, text } from "../fixtures/packets.ts";
import { type ConnectFields, delay, hex, startBroker, waitFor } from "./harness.ts";
import { disconnect, lastFrame, publish, subscribe, withBroker } from "./session_helpers.ts";

/** Mosquitto 2.0's CONNACK to a named 5.0 client: topic alias maximum 10, receive maximum 20. */
const CONNACK_V5 = "20 09 00 00 06 22 00 0a 21 00 14";
/** The same with session present. */
const CONNACK_V5_PRESENT = "20 09 01 00 06 22 00 0a 21 00 14";
const ASSIGNED_ID = /^auto-[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;

// ------------------------------------------------------------------ CONNECT

Deno.test("CONNECT at protocol levels 3, 4 and 5 is accepted with Mosquitto's CONNACK bytes", async () => {
  await withBroker({}, async ({ open }) => {
    const cases: [ProtocolVersion, Uint8Array, string][] = [
      [3, fixture("CONNECT 3.1 with protocol name MQIsdp"), "20 02 00 00"],
      [4, fixture("CONNECT 3.1.1 minimal"), "20 02 00 00"],
      [5, hexBytes("10 0f 00 04 4d 51 54 54 05 02 00 3c 00 00 02 63 31"), CONNACK_V5],
    ];
    for (const [version, bytes, connack] of cases) {
      const client = await open(version);
      await client.sendBytes(bytes);
      await client.expect("connack");
      assert.equal(lastFrame(client), connack, `level ${version}`);
      await disconnect(client);
    }
  });
});

Deno.test("an unsupported protocol level gets CONNACK return code 1, then the close [MQTT-3.1.2-2]", async () => {
  await withBroker({}, async ({ open }) => {
    const cases = [
      fixture("CONNECT unsupported protocol level 6 [MQTT-3.1.2-2]"),
      fixture("CONNECT MQIsdp with level 4 is unsupported [MQTT-3.1.2-2]"),
      hexBytes("10 0e 00 04 4d 51 54 54 03 02 00 3c 00 02 63 31"), // "MQTT" level 3
    ];
    for (const bytes of cases) {
      const client = await open();
      await client.sendBytes(bytes);
      await client.expectClosed();
      assert.deepEqual(client.frames.map(hex), ["20 02 00 01"], hex(bytes));
    }
  });
});

Deno.test("an unknown protocol name closes the connection without CONNACK [MQTT-3.1.2-1]", async () => {
  await withBroker({}, async ({ open }) => {
    const client = await open();
    await client.sendBytes(fixture("CONNECT unknown protocol name [MQTT-3.1.2-1]"));
    await client.expectClosed();
    assert.equal(client.frames.length, 0);
  });
});

Deno.test("a first packet that is not CONNECT closes the connection [MQTT-3.1.0-1]", async () => {
  await withBroker({}, async ({ open }) => {
    const cases = ["c0 00", "82 06 00 01 00 01 61 00", "30 05 00 01 61 68 69"];
    for (const bytes of cases) {
      const client = await open();
      await client.sendBytes(hexBytes(bytes));
      await client.expectClosed();
      assert.equal(client.frames.length, 0, bytes);
    }
  });
});

Deno.test("a first byte that cannot start CONNECT closes at once, not after its would-be length [MQTT-3.1.0-1]", async () => {
  // A PROXY v1 header and an HTTP request on a plain MQTT listener: read as MQTT (a PUBREL of 82
  // bytes, a PUBACK of 32), each announces more bytes than it sends, so waiting for them would
  // hold the socket until the connect timeout.
  const starts = ["PROXY TCP4 203.0.113.7 10.0.0.1 51000 1883\r\n", "GET / HTTP/1.1\r\n"];
  await withBroker({}, async ({ open }) => {
    for (const start of starts) {
      const client = await open();
      await client.sendBytes(Uint8Array.from(start, (c) => c.charCodeAt(0)));
      await client.expectClosed(500);
      assert.equal(client.frames.length, 0, JSON.stringify(start));
    }
  });
});

Deno.test("a second CONNECT is a protocol error and closes the connection [MQTT-3.1.0-2]", async () => {
  await withBroker({}, async ({ open }) => {
    const client = await open();
    await client.sendBytes(fixture("CONNECT 3.1.1 minimal"));
    await client.expect("connack");
    await client.sendBytes(fixture("CONNECT 3.1.1 minimal"));
    await client.expectClosed();
    assert.deepEqual(client.frames.map(hex), ["20 02 00 00"]);
  });
});

Deno.test("a second CONNECT from a 5.0 client closes the connection without DISCONNECT, as Mosquitto does [MQTT-3.1.0-2]", async () => {
  await withBroker({}, async ({ connect }) => {
    const { client } = await connect({ protocolVersion: 5 });
    const before = client.frames.length;
    await client.send({
      type: "connect",
      protocolVersion: 5,
      clientId: "test",
      clean: true,
      keepAlive: 60,
    });
    await client.expectClosed();
    assert.deepEqual(client.frames.slice(before).map(hex), []);
  });
});

// ------------------------------------------------------------------ client identifiers

Deno.test("3.1.1: an empty client id with clean session is accepted and assigned one [MQTT-3.1.3-6]", async () => {
  await withBroker({}, async ({ tb, open }) => {
    const client = await open();
    await client.sendBytes(hexBytes("10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00"));
    await client.expect("connack");
    assert.equal(lastFrame(client), "20 02 00 00");
    const line = tb.logs.find((l) => l.startsWith("New client connected"));
    assert.match(line ?? "", / as auto-[0-9A-F-]{36} \(p2, c1, k60\)\.$/);
  });
});

Deno.test("3.1.1: an empty client id without clean session gets return code 2 [MQTT-3.1.3-8]", async () => {
  await withBroker({}, async ({ open }) => {
    const client = await open();
    await client.sendBytes(hexBytes("10 0c 00 04 4d 51 54 54 04 00 00 3c 00 00"));
    await client.expectClosed();
    assert.deepEqual(client.frames.map(hex), ["20 02 00 02"]);
  });
});

Deno.test("3.1: an empty client id gets return code 2", async () => {
  await withBroker({}, async ({ open }) => {
    const client = await open(3);
    await client.sendBytes(hexBytes("10 0e 00 06 4d 51 49 73 64 70 03 02 00 3c 00 00"));
    await client.expectClosed();
    assert.deepEqual(client.frames.map(hex), ["20 02 00 02"]);
  });
});

Deno.test("5.0: an empty client id gets an Assigned Client Identifier in Mosquitto's CONNACK [MQTT-3.2.2-16]", async () => {
  await withBroker({}, async ({ open }) => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const client = await open(5);
      await client.sendBytes(hexBytes("10 0d 00 04 4d 51 54 54 05 02 00 3c 00 00 00"));
      const connack = await client.expect("connack");
      const id = connack.properties?.assignedClientIdentifier ?? "";
      assert.match(id, ASSIGNED_ID);
      const idHex = hex(text(id));
      assert.equal(lastFrame(client), `20 35 00 00 32 22 00 0a 12 00 29 ${idHex} 21 00 14`);
      ids.push(id);
    }
    assert.notEqual(ids[0], ids[1]);
  });
});

Deno.test("with allow_zero_length_clientid false an empty client id is refused (3.1.1 [MQTT-3.1.3-9], 5.0 [MQTT-3.1.3-8])", async () => {
  await withBroker({ allowZeroLengthClientId: false }, async ({ open }) => {
    const v4 = await open(4);
    await v4.sendBytes(hexBytes("10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00"));
    await v4.expectClosed();
    assert.deepEqual(v4.frames.map(hex), ["20 02 00 02"]);
    const v5 = await open(5);
    await v5.sendBytes(hexBytes("10 0d 00 04 4d 51 54 54 05 02 00 3c 00 00 00"));
    await v5.expectClosed();
    assert.deepEqual(v5.frames.map(hex), ["20 03 00 80 00"]); // Unspecified error, as Mosquitto
  });
});

// ------------------------------------------------------------------ takeover

Deno.test("a second connection with the same client id closes the first [MQTT-3.1.4-2]", async () => {
  await withBroker({}, async ({ tb, connect }) => {
    const first = await connect({ clientId: "dup" });
    const second = await connect({ clientId: "dup" });
    await first.client.expectClosed();
    assert.deepEqual(first.client.frames.map(hex), ["20 02 00 00"]); // no DISCONNECT in 3.1.1
    assert.ok(tb.logs.includes("Client dup already connected, closing old connection."));
    await second.client.send({ type: "pingreq" });
    await second.client.expect("pingresp");
  });
});

Deno.test("5.0: a connection taken over gets DISCONNECT 0x8E [MQTT-3.1.4-3]", async () => {
  await withBroker({}, async ({ connect }) => {
    const first = await connect({ clientId: "dup", protocolVersion: 5 });
    await connect({ clientId: "dup", protocolVersion: 5 });
    await first.client.expect("disconnect");
    assert.equal(lastFrame(first.client), "e0 01 8e");
    await first.client.expectClosed();
  });
});

Deno.test("a takeover does not resume a session that ended with the old connection [MQTT-3.2.2-3]", async () => {
  await withBroker({}, async ({ tb, connect }) => {
    // 5.0 with session expiry 0, then 3.1.1 clean session: the session ends with the connection.
    const cases: ConnectFields[] = [
      { clientId: "tk5", protocolVersion: 5, clean: false },
      { clientId: "tk4", protocolVersion: 4, clean: true },
    ];
    for (const first of cases) {
      const id = first.clientId!;
      const a = await connect(first);
      await subscribe(a.client, "t", 1);
      const b = await connect({ ...first, clean: false });
      assert.equal(b.connack.sessionPresent, false, `${id}: session present`);
      await a.client.expectClosed();
      // The new session is the client's: a third connection takes it over.
      const c = await connect({ ...first, clean: false });
      await b.client.expectClosed(1000);
      assert.ok(tb.broker.sessions.get(id)?.connection !== undefined);
      await disconnect(c.client);
    }
  });
});

// ------------------------------------------------------------------ keep alive

Deno.test("keep alive is enforced at one and a half times its value [MQTT-3.1.2-24]", async () => {
  await withBroker({}, async ({ tb, connect }) => {
    const { client } = await connect({ clientId: "ka", keepAlive: 1 });
    const t0 = Date.now();
    await client.expectClosed(4000);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 1200 && elapsed < 2700, `closed after ${elapsed} ms`);
    assert.deepEqual(client.frames.map(hex), ["20 02 00 00"]);
    assert.ok(tb.logs.includes("Client ka has exceeded timeout, disconnecting."));
  });
});

Deno.test("5.0: a client past its keep alive is closed as if the network had failed: no DISCONNECT, as by Mosquitto [MQTT-3.1.2-22]", async () => {
  await withBroker({}, async ({ connect }) => {
    const { client } = await connect({ clientId: "ka5", protocolVersion: 5, keepAlive: 1 });
    await client.expectClosed(4000);
    assert.equal(client.frames.length, 1); // the CONNACK
  });
});

Deno.test("PINGREQ gets PINGRESP and keeps the connection alive [MQTT-3.12.4-1]", async () => {
  await withBroker({}, async ({ connect }) => {
    const { client } = await connect({ keepAlive: 1 });
    for (let i = 0; i < 4; i++) {
      await delay(600);
      await client.sendBytes(hexBytes("c0 00"));
      await client.expect("pingresp");
      assert.equal(lastFrame(client), "d0 00");
    }
    assert.equal(client.closed, false);
  });
});

Deno.test("5.0: asking more than max_keepalive gets Server Keep Alive in CONNACK [MQTT-3.2.2-21]", async () => {
  await withBroker({ maxKeepalive: 10 }, async ({ connect }) => {
    const { client } = await connect({ clientId: "big", protocolVersion: 5, keepAlive: 60 });
    assert.equal(lastFrame(client), "20 0c 00 00 09 22 00 0a 13 00 0a 21 00 14"); // as Mosquitto
  });
});

Deno.test("5.0: the Server Keep Alive is enforced [MQTT-3.1.2-22]", async () => {
  await withBroker({ maxKeepalive: 1 }, async ({ connect }) => {
    const { client, connack } = await connect({ protocolVersion: 5, keepAlive: 60 });
    assert.equal(connack.properties?.serverKeepAlive, 1);
    await client.expectClosed(4000);
    assert.equal(client.frames.length, 1); // the CONNACK
  });
});

Deno.test("5.0: keep alive 0 gets Server Keep Alive max_keepalive, as Mosquitto sends", async () => {
  await withBroker({ maxKeepalive: 10 }, async ({ connect }) => {
    const { client } = await connect({ protocolVersion: 5, keepAlive: 0 });
    assert.equal(lastFrame(client), "20 0c 00 00 09 22 00 0a 13 00 0a 21 00 14");
  });
});

Deno.test("3.1.1: asking more than max_keepalive is accepted with its own keep alive, as Mosquitto 2.0.11", async () => {
  await withBroker({ maxKeepalive: 10 }, async ({ tb, open }) => {
    const client = await open();
    await client.sendBytes(fixture("CONNECT 3.1.1 minimal")); // keep alive 60
    await client.expect("connack");
    assert.deepEqual(client.frames.map(hex), ["20 02 00 00"]);
    assert.deepEqual([...tb.broker.connections].map((c) => c.keepAliveMs), [60_000]);
    await client.close();
  });
});

Deno.test("a socket that sends no complete CONNECT is closed after the connect timeout", async () => {
  await withBroker({ connectTimeoutMs: 300 }, async ({ open }) => {
    const silent = await open();
    const partial = await open();
    const t0 = Date.now();
    await partial.sendBytes(fixture("CONNECT 3.1.1 minimal").subarray(0, 6));
    await silent.expectClosed(2000);
    await partial.expectClosed(2000);
    assert.ok(Date.now() - t0 >= 250, `closed after ${Date.now() - t0} ms`);
    assert.equal(silent.frames.length + partial.frames.length, 0);
  });
});

// ------------------------------------------------------------------ sessions

Deno.test("3.1.1: session present is 0 with clean session and 1 on resume [MQTT-3.2.2-1] [MQTT-3.2.2-2]", async () => {
  await withBroker({}, async ({ connect }) => {
    const steps: [boolean, string][] = [
      [false, "20 02 00 00"], // new persistent session [MQTT-3.2.2-3]
      [false, "20 02 01 00"], // resumed [MQTT-3.2.2-2]
      [true, "20 02 00 00"], // clean session discards it [MQTT-3.2.2-1]
      [false, "20 02 00 00"], // so there is nothing to resume
    ];
    for (const [clean, connack] of steps) {
      const { client } = await connect({ clientId: "sp", clean });
      assert.equal(lastFrame(client), connack, `clean ${clean}`);
      await disconnect(client);
    }
  });
});

Deno.test("5.0: session present follows clean start and session expiry [MQTT-3.2.2-2] [MQTT-3.2.2-3]", async () => {
  await withBroker({}, async ({ connect }) => {
    const steps: [boolean, number | undefined, string][] = [
      [true, 60, CONNACK_V5],
      [false, 60, CONNACK_V5_PRESENT],
      [true, undefined, CONNACK_V5], // clean start discards it; expiry 0 ends the new one
      [false, undefined, CONNACK_V5],
    ];
    for (const [clean, sessionExpiryInterval, connack] of steps) {
      const properties = sessionExpiryInterval !== undefined
        ? { sessionExpiryInterval }
        : undefined;
      const { client } = await connect({ clientId: "sp5", protocolVersion: 5, clean, properties });
      assert.equal(lastFrame(client), connack, `clean ${clean}, expiry ${sessionExpiryInterval}`);
      await disconnect(client);
    }
  });
});

Deno.test("a persistent session keeps subscriptions and queues QoS 1 and 2 while offline, in order [MQTT-3.1.2-5]", async () => {
  await withBroker({}, async ({ connect }) => {
    const sub = await connect({ clientId: "offline", clean: false });
    await subscribe(sub.client, "q/#", 2);
    await disconnect(sub.client);
    const pub = await connect({ clientId: "pub" });
    await publish(pub.client, "q/a", "one", 1, 1);
    await publish(pub.client, "q/b", "two", 2, 2);
    await publish(pub.client, "q/c", "zero", 0);
    await publish(pub.client, "q/d", "three", 1, 3);
    const back = await connect({ clientId: "offline", clean: false });
    assert.equal(back.connack.sessionPresent, true);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await back.client.expect("publish");
      got.push(`${p.topic} ${new TextDecoder().decode(p.payload)} q${p.qos} d${p.dup ? 1 : 0}`);
    }
    assert.deepEqual(got, ["q/a one q1 d0", "q/b two q2 d0", "q/d three q1 d0"]);
    await back.client.expectNothing(300); // QoS 0 was not queued
  });
});

Deno.test("QoS 0 messages are queued for an offline session with queue_qos0_messages", async () => {
  await withBroker({ queueQos0Messages: true }, async ({ connect }) => {
    const sub = await connect({ clientId: "offline", clean: false });
    await subscribe(sub.client, "q/#", 1);
    await disconnect(sub.client);
    const pub = await connect({ clientId: "pub" });
    await publish(pub.client, "q/a", "one", 1);
    await publish(pub.client, "q/b", "zero", 0);
    await publish(pub.client, "q/c", "two", 1);
    const back = await connect({ clientId: "offline", clean: false });
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await back.client.expect("publish");
      got.push(`${p.topic} q${p.qos}`);
    }
    assert.deepEqual(got, ["q/a q1", "q/b q0", "q/c q1"]);
  });
});

Deno.test("unacknowledged QoS 1 and 2 messages are sent again with DUP set on resume [MQTT-4.4.0-1] [MQTT-3.3.1-1]", async () => {
  await withBroker({}, async ({ connect }) => {
    const sub = await connect({ clientId: "dup", clean: false });
    await subscribe(sub.client, "r/#", 2);
    const pub = await connect({ clientId: "pub" });
    await publish(pub.client, "r/1", "a", 1);
    await publish(pub.client, "r/2", "b", 2);
    await sub.client.expect("publish");
    await sub.client.expect("publish");
    const first = sub.client.frames.slice(-2).map(hex);
    assert.deepEqual(first, ["32 08 00 03 72 2f 31 00 01 61", "34 08 00 03 72 2f 32 00 02 62"]);
    await sub.client.close(); // no PUBACK, no PUBREC
    const back = await connect({ clientId: "dup", clean: false });
    await back.client.expect("publish");
    await back.client.expect("publish");
    const again = back.client.frames.slice(-2).map(hex);
    assert.deepEqual(again, ["3a 08 00 03 72 2f 31 00 01 61", "3c 08 00 03 72 2f 32 00 02 62"]);
  });
});

Deno.test("a QoS 2 message past PUBREC resumes with PUBREL [MQTT-4.4.0-1]", async () => {
  await withBroker({}, async ({ connect }) => {
    const sub = await connect({ clientId: "rel", clean: false });
    await subscribe(sub.client, "r", 2);
    const pub = await connect({ clientId: "pub" });
    await publish(pub.client, "r", "x", 2);
    const p = await sub.client.expect("publish");
    await sub.client.send({ type: "pubrec", packetId: p.packetId!, reasonCode: 0 });
    await sub.client.expect("pubrel");
    await sub.client.close(); // no PUBCOMP
    const back = await connect({ clientId: "rel", clean: false });
    await back.client.expect("pubrel");
    assert.equal(lastFrame(back.client), "62 02 00 01");
    await back.client.send({ type: "pubcomp", packetId: 1, reasonCode: 0 });
    await back.client.expectNothing(300);
  });
});

Deno.test("5.0: a session is kept for its session expiry interval, then discarded [MQTT-3.1.2-23]", async () => {
  await withBroker({}, async ({ tb, connect }) => {
    const fields: ConnectFields = {
      clientId: "exp",
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 1 },
    };
    const a = await connect(fields);
    await subscribe(a.client, "e", 1);
    await disconnect(a.client);
    const b = await connect(fields);
    assert.equal(b.connack.sessionPresent, true);
    await disconnect(b.client);
    const t0 = Date.now();
    await waitFor(() => !tb.broker.sessions.has("exp"), "the session to expire");
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 900, `session gone after ${elapsed} ms`);
    const c = await connect(fields);
    assert.equal(c.connack.sessionPresent, false);
    const pub = await connect({ clientId: "pub" });
    await publish(pub.client, "e", "gone", 0);
    await c.client.expectNothing(300); // the subscription went with the session
  });
});

Deno.test("5.0: DISCONNECT with a session expiry after CONNECT had 0 is a protocol error (MQTT 5.0 §3.14.2.2.2)", async () => {
  await withBroker({}, async ({ connect }) => {
    const { client } = await connect({ clientId: "z", protocolVersion: 5 });
    await client.sendBytes(hexBytes("e0 07 00 05 11 00 00 00 0a"));
    const d = await client.expect("disconnect");
    assert.equal(d.reasonCode, 0x82);
    await client.expectClosed();
    const again = await connect({ clientId: "z", protocolVersion: 5, clean: false });
    assert.equal(again.connack.sessionPresent, false); // the session ended with expiry 0
  });
});

Deno.test("5.0: DISCONNECT with session expiry 0 ends a session that had one", async () => {
  await withBroker({}, async ({ connect }) => {
    const fields: ConnectFields = {
      clientId: "z",
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    };
    const { client } = await connect(fields);
    await disconnect(client, 0);
    const again = await connect(fields);
    assert.equal(again.connack.sessionPresent, false);
  });
});

// ------------------------------------------------------------------ log lines

Deno.test("logs 'New client connected from ADDRESS:PORT as ID (pN, cN, kN).' as Mosquitto does", async () => {
  const tb = startBroker();
  try {
    const cases: [Uint8Array, string][] = [
      [fixture("CONNECT 3.1 with protocol name MQIsdp"), "c1 (p1, c1, k60)."],
      [
        hexBytes("10 13 00 04 4d 51 54 54 04 80 00 1e 00 02 63 32 00 03 62 6f 62"),
        "c2 (p2, c0, k30, u'bob').",
      ],
      [hexBytes("10 0f 00 04 4d 51 54 54 05 02 00 00 00 00 02 63 33"), "c3 (p5, c1, k0)."],
    ];
    for (const [bytes, tail] of cases) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: tb.port });
      try {
        await conn.write(bytes);
        await conn.read(new Uint8Array(64)); // CONNACK
        const port = (conn.localAddr as Deno.NetAddr).port;
        const line = `New client connected from 127.0.0.1:${port} as ${tail}`;
        assert.ok(tb.logs.includes(line), `${line}\n${tb.logs.join("\n")}`);
      } finally {
        conn.close();
      }
    }
  } finally {
    await tb.stop();
  }
});

Deno.test("logs the keep alive the client asked for, not the Server Keep Alive, as Mosquitto does", async () => {
  await withBroker({ maxKeepalive: 10 }, async ({ tb, connect }) => {
    await connect({ clientId: "big", protocolVersion: 5, keepAlive: 60 });
    const line = tb.logs.find((l) => l.startsWith("New client connected from "));
    assert.match(line ?? "", / as big \(p5, c1, k60\)\.$/);
  });
});

Deno.test("logs 'Client ID disconnected.' after DISCONNECT and 'Client ID closed its connection.' after a close", async () => {
  await withBroker({}, async ({ tb, connect }) => {
    const a = await connect({ clientId: "polite" });
    await disconnect(a.client);
    const b = await connect({ clientId: "rude" });
    await b.client.close();
    await waitFor(() => tb.logs.includes("Client rude closed its connection."), "the close line");
    assert.ok(tb.logs.includes("Client polite disconnected."));
  });
});
