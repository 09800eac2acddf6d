/**
 * log_dest topic: lines published on `$SYS/broker/log/...` through a real broker, and the
 * guard that keeps a line logged while publishing from looping.
 */

import assert from "node:assert/strict";
import type { PublishPacket } from "../../src/codec/mod.ts";
import { loggerFromConfig } from "../../src/log/from_config.ts";
import { Logger } from "../../src/log/logger.ts";
import { LOG_TOPICS, topicSink } from "../../src/log/topic_sink.ts";
import { connect, type RawClient, startBroker, type TestBroker } from "../integration/harness.ts";
import { logConfig } from "./config_helpers.ts";

/** A broker whose logger publishes every type but debug on `$SYS/broker/log/...`. */
function brokerLoggingToTopics(): TestBroker {
  // The logger exists before the broker; lines logged before it exists are not published.
  const started: { test?: TestBroker } = {};
  const logger = loggerFromConfig(
    logConfig({ log_dest: ["topic"], log_type: ["all"], log_timestamp: false }),
    { publish: (topic, payload) => started.test?.broker.publishFromBroker(topic, payload) },
  );
  started.test = startBroker({ logger });
  return started.test;
}

/** Subscribe to `filter` at QoS 1; the publishes that came before the SUBACK, as `topic payload`. */
async function subscribeTo(client: RawClient, filter: string): Promise<string[]> {
  await client.send({
    type: "subscribe",
    packetId: 1,
    subscriptions: [
      { topicFilter: filter, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
    ],
  });
  const before: string[] = [];
  for (;;) {
    const packet = await client.next();
    if (packet.type === "suback") return before;
    assert.equal(packet.type, "publish");
    const { topic, payload } = packet as PublishPacket;
    before.push(`${topic} ${new TextDecoder().decode(payload)}`);
  }
}

/** Publishes received until one on `topic`, as `topic payload` lines. */
async function receiveUntil(client: RawClient, topic: string): Promise<string[]> {
  const seen: string[] = [];
  for (;;) {
    const packet = await client.expect("publish") as PublishPacket;
    assert.equal(packet.qos, 0);
    assert.equal(packet.retain, false);
    seen.push(`${packet.topic} ${new TextDecoder().decode(packet.payload)}`);
    if (packet.topic === topic) return seen;
  }
}

Deno.test("log_dest topic publishes a notice on $SYS/broker/log/N through the broker", async () => {
  const test = brokerLoggingToTopics();
  const { client: watcher } = await connect(test.port, { clientId: "watcher" });
  const { client: wildcard } = await connect(test.port, { clientId: "wildcard" });
  try {
    await subscribeTo(wildcard, "#");
    // As with Mosquitto, the subscriber sees its own subscribe line, before the SUBACK.
    assert.deepEqual(await subscribeTo(watcher, "$SYS/broker/log/#"), [
      "$SYS/broker/log/M/subscribe watcher 1 $SYS/broker/log/#",
    ]);
    test.broker.log.notice("Saving in-memory database to /tmp/x.db.");
    assert.deepEqual(await receiveUntil(watcher, "$SYS/broker/log/N"), [
      "$SYS/broker/log/N Saving in-memory database to /tmp/x.db.",
    ]);
    test.broker.log.debug("never on a topic");
    test.broker.log.error("Error: something broke.");
    assert.deepEqual(await receiveUntil(watcher, "$SYS/broker/log/E"), [
      "$SYS/broker/log/E Error: something broke.",
    ]);
    await wildcard.expectNothing(100); // "#" does not match $SYS topics [MQTT-4.7.2-1]
  } finally {
    await watcher.close();
    await wildcard.close();
    await test.stop();
    await test.broker.log.close();
  }
});

Deno.test("log_dest topic publishes subscribe and unsubscribe lines on $SYS/broker/log/M/...", async () => {
  const test = brokerLoggingToTopics();
  const { client: watcher } = await connect(test.port, { clientId: "watcher" });
  try {
    await subscribeTo(watcher, "$SYS/broker/log/M/#");
    const { client: other } = await connect(test.port, { clientId: "other" });
    await subscribeTo(other, "a/b");
    await other.send({ type: "unsubscribe", packetId: 2, topicFilters: ["a/b"] });
    await other.expect("unsuback");
    await other.close();
    assert.deepEqual(await receiveUntil(watcher, "$SYS/broker/log/M/unsubscribe"), [
      "$SYS/broker/log/M/subscribe other 1 a/b",
      "$SYS/broker/log/M/unsubscribe other a/b",
    ]);
  } finally {
    await watcher.close();
    await test.stop();
    await test.broker.log.close();
  }
});

Deno.test("each log type has its Mosquitto topic; debug has none", () => {
  assert.deepEqual(LOG_TOPICS, {
    error: "$SYS/broker/log/E",
    warning: "$SYS/broker/log/W",
    notice: "$SYS/broker/log/N",
    information: "$SYS/broker/log/I",
    subscribe: "$SYS/broker/log/M/subscribe",
    unsubscribe: "$SYS/broker/log/M/unsubscribe",
    websockets: "$SYS/broker/log/WS",
    debug: undefined,
  });
});

Deno.test("a line logged while a log line is being published is not published again", () => {
  const published: string[] = [];
  const other: string[] = [];
  let logger: Logger | undefined = undefined;
  const publish = (topic: string, payload: Uint8Array) => {
    published.push(`${topic} ${new TextDecoder().decode(payload)}`);
    logger!.warning("Outgoing messages are being dropped for client c."); // from routing
  };
  logger = new Logger({
    timestamp: false,
    sinks: [topicSink(publish), (line) => other.push(line)],
  });
  logger.notice("first");
  logger.notice("second");
  assert.deepEqual(published, ["$SYS/broker/log/N first", "$SYS/broker/log/N second"]);
  assert.deepEqual(other, [
    "Warning: Outgoing messages are being dropped for client c.",
    "first",
    "Warning: Outgoing messages are being dropped for client c.",
    "second",
  ]);
});
