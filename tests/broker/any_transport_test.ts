/**
 * The broker serves any transport `Conn`, not only the sockets its listeners accept: the MQTT
 * client talks to it over in-memory pairs, with no socket at all.
 */

import assert from "node:assert/strict";
import type { PublishPacket } from "../../src/codec/mod.ts";
import { MqttClient } from "../../src/client/mqtt_client.ts";
import type { ListenerOptions } from "../../src/broker/options.ts";
import { memoryPair } from "../../src/transport/memory_pair.ts";
import { startBroker, type TestBroker, waitFor } from "../integration/harness.ts";

const SUB = { noLocal: false, retainAsPublished: false, retainHandling: 0 as const };

/** Hand one end of a memory pair to the broker and connect the client over the other. */
function connectInMemory(tb: TestBroker, listener: ListenerOptions, clientId: string) {
  const [clientEnd, brokerEnd] = memoryPair();
  tb.broker.listeners.accept(brokerEnd, listener);
  return MqttClient.connect(clientEnd, {
    protocolVersion: 5,
    clientId,
    clean: true,
    keepAlive: 60,
  });
}

Deno.test("broker: the client connects, subscribes and publishes QoS 1 over memory pairs", async () => {
  const tb = startBroker({ listeners: [] });
  const listener: ListenerOptions = { port: 1883 };
  try {
    const sub = await connectInMemory(tb, listener, "sub");
    assert.equal(sub.connack.reasonCode, 0);
    const got: PublishPacket[] = [];
    sub.onMessage = (m) => got.push(m);
    const suback = await sub.subscribe([{ topicFilter: "mem/#", qos: 1, ...SUB }]);
    assert.deepEqual(suback.reasonCodes, [1]);

    const pub = await connectInMemory(tb, listener, "pub");
    await pub.publish("mem/a", new TextEncoder().encode("over memory"), { qos: 1 });
    assert.equal(pub.pendingCount, 0, "the PUBACK has come back");
    await waitFor(() => got.length === 1, "the message");
    assert.equal(got[0].topic, "mem/a");
    assert.equal(got[0].qos, 1);
    assert.equal(new TextDecoder().decode(got[0].payload), "over memory");

    assert.ok(tb.logs.includes("New connection from memory:1 on port 1883."), tb.logs.join("\n"));
    assert.ok(tb.logs.some((l) => l.startsWith("New client connected from memory:1 as pub ")));
    await pub.disconnect();
    await sub.disconnect();
    assert.equal(await pub.closed, undefined);
    assert.equal(await sub.closed, undefined);
  } finally {
    await tb.stop();
  }
});
