/**
 * Packet ids of the messages the broker sends are given when a message is queued, as Mosquitto
 * gives them: a queued message that expires leaves a gap in the ids the client sees, and a
 * restarted broker sends queued messages under the ids they had.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { PublishPacket } from "../../src/codec/mod.ts";
import { delay, type RawClient } from "./harness.ts";
import { Brokers, withBrokers } from "./persistence_helpers.ts";
import {
  expectAck,
  payloadText,
  pub,
  receive,
  sub,
  subscribe,
  withBroker,
} from "./pubsub_helpers.ts";

/** Three QoS 1 messages to `t`, the second expiring after 1 s; each PUBACK awaited. */
async function publishThree(publisher: RawClient): Promise<void> {
  const expiring = { messageExpiryInterval: 1 };
  for (const [i, payload] of ["a", "b", "c"].entries()) {
    const properties = payload === "b" ? expiring : undefined;
    await publisher.send(pub("t", payload, { qos: 1, packetId: i + 1, properties }));
    await expectAck(publisher, "puback");
  }
}

/** Payload and packet id of each PUBLISH, for comparing. */
function idsOf(publishes: PublishPacket[]): string[] {
  return publishes.map((p) => `${payloadText(p)}:${p.packetId}`);
}

Deno.test("an expired message queued for an offline client leaves a gap in its packet ids (5.0)", async () => {
  await withBroker({}, async (bench) => {
    const persistent = {
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    } as const;
    const subscriber = await bench.client("s", persistent);
    await subscribe(subscriber, sub("t", 1));
    await subscriber.close();
    const publisher = await bench.client("p", { protocolVersion: 5 });
    await publishThree(publisher);
    await delay(1100);
    const resumed = await bench.client("s", persistent);
    assert.deepEqual(idsOf(await receive(resumed, 2)), ["a:1", "c:3"]);
    await resumed.expectNothing(200);
  });
});

Deno.test("an expired message queued behind a full window leaves a gap in the packet ids (5.0 receive maximum 1)", async () => {
  await withBroker({}, async (bench) => {
    const subscriber = await bench.client("s", {
      protocolVersion: 5,
      properties: { receiveMaximum: 1 },
    });
    await subscribe(subscriber, sub("t", 1));
    const publisher = await bench.client("p", { protocolVersion: 5 });
    await publishThree(publisher);
    const [first] = await receive(subscriber, 1);
    await delay(1100);
    await subscriber.send({ type: "puback", packetId: first.packetId!, reasonCode: 0 });
    assert.deepEqual(idsOf([first, ...await receive(subscriber, 1)]), ["a:1", "c:3"]);
  });
});

Deno.test("queued messages keep their packet ids across a restart", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start(new Map(), { maxInflightMessages: 1 });
    const persistent = { clientId: "s", clean: false } as const;
    const s = await a.connect(persistent);
    await subscribe(s, sub("t", 1));
    const p = await a.connect({ clientId: "p" });
    for (let i = 1; i <= 4; i++) {
      await p.send(pub("t", `m${i}`, { qos: 1, packetId: i }));
      await expectAck(p, "puback");
    }
    const [m1] = await receive(s, 1);
    await s.send({ type: "puback", packetId: m1.packetId!, reasonCode: 0 });
    const [m2] = await receive(s, 1); // in flight; m3 and m4 queued under 3 and 4
    assert.deepEqual(idsOf([m1, m2]), ["m1:1", "m2:2"]);
    const b = await brokers.start(Brokers.crash(a), { maxInflightMessages: 1 });
    const s2 = await b.connect(persistent);
    const got: PublishPacket[] = [];
    for (let i = 0; i < 3; i++) {
      const [m] = await receive(s2, 1);
      got.push(m);
      await s2.send({ type: "puback", packetId: m.packetId!, reasonCode: 0 });
    }
    assert.deepEqual(idsOf(got), ["m2:2", "m3:3", "m4:4"]);
  });
});
