/**
 * `-v` / `log_type debug`: Mosquitto's lines for packets received and sent, so that a verbose
 * Midge log reads like a verbose Mosquitto log.
 */

import assert from "node:assert/strict";
import { ALL_LOG_TYPES, Logger } from "../../src/log/logger.ts";
import { connect, startBroker, waitFor } from "./harness.ts";

Deno.test("debug lines name each packet received and sent, with Mosquitto's texts", async () => {
  const tb = startBroker();
  try {
    const { client } = await connect(tb.port, { clientId: "dbg" });
    await client.send({
      type: "subscribe",
      packetId: 1,
      subscriptions: [{
        topicFilter: "a/#",
        qos: 1,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      }],
    });
    await client.expect("suback");
    await client.send({
      type: "publish",
      topic: "a/b",
      payload: new TextEncoder().encode("hello"),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 7,
    });
    // The delivery to itself is queued before the acknowledgement.
    const delivered = await client.expect("publish");
    await client.expect("puback");
    await client.send({ type: "puback", packetId: delivered.packetId!, reasonCode: 0 });
    await client.send({ type: "pingreq" });
    await client.expect("pingresp");
    await client.send({ type: "unsubscribe", packetId: 2, topicFilters: ["a/#"] });
    await client.expect("unsuback");
    await client.send({ type: "disconnect", reasonCode: 0 });
    await client.expectClosed();
    await client.close();
    await waitFor(() => tb.logs.includes("Client dbg disconnected."), "the disconnect");
    const expected = [
      "Sending CONNACK to dbg (0, 0)",
      "Received SUBSCRIBE from dbg",
      "\ta/# (QoS 1)",
      "dbg 1 a/#",
      "Sending SUBACK to dbg",
      "Received PUBLISH from dbg (d0, q1, r0, m7, 'a/b', ... (5 bytes))",
      `Sending PUBLISH to dbg (d0, q1, r0, m${delivered.packetId}, 'a/b', ... (5 bytes))`,
      "Sending PUBACK to dbg (m7, rc0)",
      `Received PUBACK from dbg (Mid: ${delivered.packetId}, RC:0)`,
      "Received PINGREQ from dbg",
      "Sending PINGRESP to dbg",
      "Received UNSUBSCRIBE from dbg",
      "\ta/#",
      "dbg a/#",
      "Sending UNSUBACK to dbg",
      "Received DISCONNECT from dbg",
      "Client dbg disconnected.",
    ];
    const relevant = tb.logs.filter((l) => expected.includes(l));
    assert.deepEqual(relevant, expected);
  } finally {
    await tb.stop();
  }
});

Deno.test("a password never appears in the log, even with every log type on", async () => {
  const tb = startBroker();
  try {
    const secret = "s3cr3t-Pa55w0rd";
    const password = new TextEncoder().encode(secret);
    for (const version of [4, 5] as const) {
      const { client, connack } = await connect(tb.port, {
        protocolVersion: version,
        clientId: `pw${version}`,
        username: "ann",
        password,
      });
      assert.equal(connack.reasonCode, 0);
      await client.send({ type: "disconnect", reasonCode: 0 });
      await client.expectClosed();
      await client.close();
    }
    await waitFor(() => tb.logs.includes("Client pw5 disconnected."), "the second client");
    assert.ok(tb.logs.some((l) => l.includes("u'ann'")), "the username is logged");
    assert.ok(!tb.logs.some((l) => l.includes(secret)), "no line holds the password");
  } finally {
    await tb.stop();
  }
});

Deno.test("connection_messages false: no connect and disconnect lines, other lines stay", async () => {
  const logs: string[] = [];
  const logger = new Logger({
    types: ALL_LOG_TYPES,
    timestamp: false,
    sinks: [(l) => logs.push(l)],
    connectionMessages: false,
  });
  const tb = startBroker({ logger });
  try {
    const { client } = await connect(tb.port, { clientId: "quiet" });
    await client.send({ type: "pingreq" });
    await client.expect("pingresp");
    await client.send({ type: "disconnect", reasonCode: 0 });
    await client.expectClosed();
    await client.close();
    await waitFor(() => tb.broker.sessions.connectedCount === 0, "the client to be gone");
    assert.ok(logs.includes("Received PINGREQ from quiet"));
    assert.ok(!logs.some((l) => /New connection|New client connected|disconnected\./.test(l)));
  } finally {
    await tb.stop();
  }
});
