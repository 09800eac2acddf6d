/**
 * Flow control over the in-memory transport: a publisher that fills a connected subscriber's
 * queue is not read until the queue drains, and at most for 1 s when it does not drain. With
 * `max_queued_messages` 4 the limit is 2 queued messages, and one message in flight leaves
 * the rest queued.
 */

import assert from "node:assert/strict";
import { expectAck, pub, sub, subscribe } from "../integration/pubsub_helpers.ts";
import type { RawClient } from "../integration/harness.ts";
import { type MemoryEnv, withMemoryBroker } from "./memory_broker.ts";

const OPTIONS = { maxQueuedMessages: 4, maxInflightMessages: 1 };

/**
 * A subscriber that acknowledges nothing on its own, and a publisher that has sent 3 QoS 1
 * messages (one in flight, two queued: the limit) and had them acknowledged, then a PINGREQ
 * that the broker must not read yet. Returns when the third PUBACK arrives.
 */
async function congest(env: MemoryEnv): Promise<{ subscriber: RawClient; publisher: RawClient }> {
  const subscriber = await env.client("slow");
  await subscribe(subscriber, sub("fc/#", 1));
  const publisher = await env.client("fast");
  for (let id = 1; id <= 3; id++) {
    await publisher.send(pub("fc/t", `m${id}`, { qos: 1, packetId: id }));
  }
  await publisher.send({ type: "pingreq" });
  for (let id = 1; id <= 3; id++) assert.equal((await expectAck(publisher, "puback")).packetId, id);
  return { subscriber, publisher };
}

Deno.test("flow control: a publisher is held while a subscriber's queue is over the limit, and released when it drains", async () => {
  await withMemoryBroker({ options: OPTIONS }, async (env) => {
    const { subscriber, publisher } = await congest(env);
    const heldSince = Date.now();
    await publisher.expectNothing(300); // the PINGREQ waits unread

    const first = await subscriber.expect("publish");
    await subscriber.send({ type: "puback", packetId: first.packetId!, reasonCode: 0 });
    await publisher.expect("pingresp");
    const held = Date.now() - heldSince;
    assert.ok(held < 900, `released by the drain, not by the 1 s bound (held ${held} ms)`);
  });
});

Deno.test("flow control: a subscriber that does not drain holds a publisher for 1 s at most, then is marked stalled", async () => {
  await withMemoryBroker({ options: OPTIONS }, async (env) => {
    const { subscriber, publisher } = await congest(env);
    const heldSince = Date.now();
    await publisher.expect("pingresp", 2000);
    const held = Date.now() - heldSince;
    assert.ok(held >= 900 && held < 1900, `held about 1 s (${held} ms)`);
    assert.equal(env.broker.sessions.get("slow")?.stalled, true);

    // A stalled subscriber holds nobody: the next PINGREQ is answered at once.
    for (let id = 4; id <= 5; id++) {
      await publisher.send(pub("fc/t", `m${id}`, { qos: 1, packetId: id }));
    }
    await publisher.send({ type: "pingreq" });
    for (let id = 4; id <= 5; id++) {
      assert.equal((await expectAck(publisher, "puback", 300)).packetId, id);
    }
    await publisher.expect("pingresp", 300);
    assert.equal((await subscriber.expect("publish")).packetId, 1, "only m1 in flight");
  });
});
