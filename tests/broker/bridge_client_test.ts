/**
 * A bridge connecting to Midge with Mosquitto's `try_private` (3.x protocol level with its high
 * bit set): treated as Mosquitto 2.0.11 treats one, its subscriptions no local and retain as
 * published, so that what it forwards does not come back and retained flags cross the bridge.
 */

import assert from "node:assert/strict";
import type { ProtocolVersion } from "../../src/codec/mod.ts";
import {
  payloadText,
  pub,
  publishAcked,
  sub,
  subscribe,
  sync,
} from "../integration/pubsub_helpers.ts";
import { withMemoryBroker } from "./memory_broker.ts";

for (const version of [3, 4] as ProtocolVersion[]) {
  Deno.test(`a ${version === 3 ? "3.1" : "3.1.1"} bridge does not get its own messages back; a plain client does`, async () => {
    await withMemoryBroker({}, async ({ client }) => {
      const bridge = await client("bridge", { protocolVersion: version, bridge: true });
      const plain = await client("plain", { protocolVersion: version });
      for (const c of [bridge, plain]) await subscribe(c, sub("loop/#", 1));
      await publishAcked(bridge, pub("loop/x", "sent", { qos: 1, packetId: 7 }));
      await bridge.expectNothing(100);
      await plain.send(pub("loop/x", "sent", { qos: 1, packetId: 7 }));
      const echo = await plain.expect("publish"); // routed before the PUBACK
      assert.equal(payloadText(echo), "sent");
    });
  });
}

Deno.test("a bridge gets a live message with its retain flag as published; a plain client without", async () => {
  await withMemoryBroker({}, async ({ client }) => {
    const bridge = await client("bridge", { bridge: true });
    const plain = await client("plain");
    for (const c of [bridge, plain]) await subscribe(c, sub("kept/#"));
    const publisher = await client("publisher");
    await publisher.send(pub("kept/x", "r", { retain: true }));
    await sync(publisher);
    const [toBridge, toPlain] = [await bridge.expect("publish"), await plain.expect("publish")];
    assert.deepEqual([toBridge.retain, toPlain.retain], [true, false]); // [MQTT-3.3.1-9] for plain
  });
});

Deno.test("a bridge's connection is logged as Mosquitto logs it: New bridge connected", async () => {
  await withMemoryBroker({}, async ({ client, logs }) => {
    await client("remote.bridge", { bridge: true });
    assert.ok(
      logs.some((l) => /New bridge connected from .* as remote\.bridge \(p2, c1, k60\)\./.test(l)),
      logs.join("\n"),
    );
  });
});
