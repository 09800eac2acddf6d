/**
 * Overlapping subscriptions of one client, over real sockets, answered as Mosquitto 2.0.11
 * answers them (the expected frames are what it sent to the same packets): a 5.0 client gets a
 * copy per matching subscription, each with that subscription's QoS, identifier, retain as
 * published and no local, in Mosquitto's order [MQTT-3.3.4-2]; a 3.1 or 3.1.1 client gets one
 * copy, unless `allow_duplicate_messages` is set: the first matched subscription's for 3.1, as
 * Mosquitto, and at the highest QoS for 3.1.1 [MQTT-3.3.5-1] (Mosquitto: the first one's).
 *
 * @module
 */

import assert from "node:assert/strict";
import { startLoggedMidge } from "../fixtures/midge_process.ts";
import { freePort } from "../fixtures/net.ts";
import { connect, hex, type RawClient } from "./harness.ts";
import { pub, publishAcked, receive, sub, subscribe, sync, withBroker } from "./pubsub_helpers.ts";

/** The hex of the next `n` frames `client` receives, which must all be PUBLISH. */
async function publishFrames(client: RawClient, n: number): Promise<string[]> {
  await receive(client, n);
  return client.frames.slice(-n).map(hex);
}

Deno.test("5.0: a copy per matching subscription, each with its QoS and identifier, in Mosquitto's order [MQTT-3.3.4-2] [MQTT-3.3.4-3]", async () => {
  await withBroker({}, async ({ client }) => {
    const s = await client("ovA1", { protocolVersion: 5 });
    await subscribe(s, sub("q/#", 0), { subscriptionIdentifiers: [1] });
    await subscribe(s, sub("q/t", 2), { subscriptionIdentifiers: [2] });
    await subscribe(s, sub("q/+", 1), { subscriptionIdentifiers: [3] });
    const p = await client("pubA1", { protocolVersion: 5 });
    await publishAcked(p, pub("q/t", "x", { qos: 2, packetId: 5 }));
    assert.deepEqual(await publishFrames(s, 3), [
      "34 0b 00 03 71 2f 74 00 01 02 0b 02 78", // q/t: QoS 2, id 2
      "32 0b 00 03 71 2f 74 00 02 02 0b 03 78", // q/+: QoS 1, id 3
      "30 09 00 03 71 2f 74 02 0b 01 78", // q/#: QoS 0, id 1
    ]);
    await s.expectNothing(200);
  });
});

Deno.test("5.0: copies come walking the exact level, then '+', then '#', at each level", async () => {
  await withBroker({}, async ({ client }) => {
    const s = await client("order", { protocolVersion: 5 });
    const filters = ["#", "a/b/#", "+/+", "a/#", "+/b", "a/b", "a/+", "+/#", "a/+/#"];
    for (const [i, filter] of filters.entries()) {
      await subscribe(s, sub(filter, 0), { subscriptionIdentifiers: [i + 1] });
    }
    const p = await client("pub", { protocolVersion: 5 });
    await publishAcked(p, pub("a/b", "x"));
    const got = await receive(s, filters.length);
    const order = got.map((m) => filters[m.properties!.subscriptionIdentifiers![0] - 1]);
    // As Mosquitto 2.0.11 sent them.
    assert.deepEqual(order, ["a/b/#", "a/b", "a/+/#", "a/+", "a/#", "+/b", "+/+", "+/#", "#"]);
    await s.expectNothing(200);
  });
});

Deno.test("5.0: no local and retain as published hold per subscription [MQTT-3.8.3-3] [MQTT-3.3.1-12]", async () => {
  await withBroker({}, async ({ client }) => {
    const s = await client("ovC", { protocolVersion: 5 });
    await subscribe(s, sub("n/#", 1, { noLocal: true }), { subscriptionIdentifiers: [1] });
    await subscribe(s, sub("n/t", 0, { retainAsPublished: true }), {
      subscriptionIdentifiers: [2],
    });
    await subscribe(s, sub("n/+", 0), { subscriptionIdentifiers: [3] });
    // Its own message: not through n/# (no local), retained only through n/t.
    await s.send(pub("n/t", "self", { qos: 1, packetId: 7, retain: true }));
    await receive(s, 2);
    await s.expect("puback");
    assert.deepEqual(s.frames.slice(-3).map(hex), [
      "31 0c 00 03 6e 2f 74 02 0b 02 73 65 6c 66",
      "30 0c 00 03 6e 2f 74 02 0b 03 73 65 6c 66",
      "40 02 00 07",
    ]);
    const p = await client("pubC", { protocolVersion: 5 });
    await publishAcked(p, pub("n/t", "other", { qos: 1, packetId: 3, retain: true }));
    assert.deepEqual(await publishFrames(s, 3), [
      "31 0d 00 03 6e 2f 74 02 0b 02 6f 74 68 65 72",
      "30 0d 00 03 6e 2f 74 02 0b 03 6f 74 68 65 72",
      "32 0f 00 03 6e 2f 74 00 01 02 0b 01 6f 74 68 65 72",
    ]);
    await s.expectNothing(200);
  });
});

Deno.test("5.0: a SUBSCRIBE of overlapping filters gets the retained message once per filter", async () => {
  await withBroker({}, async ({ client }) => {
    const p = await client("pubB", { protocolVersion: 5 });
    await publishAcked(p, pub("r/t", "R", { qos: 1, packetId: 3, retain: true }));
    const s = await client("ovB", { protocolVersion: 5 });
    await subscribe(s, [sub("r/#", 0), sub("r/t", 1), sub("r/+", 2)], {
      subscriptionIdentifiers: [9],
    });
    assert.deepEqual(await publishFrames(s, 3), [
      "31 09 00 03 72 2f 74 02 0b 09 52",
      "33 0b 00 03 72 2f 74 00 01 02 0b 09 52",
      "33 0b 00 03 72 2f 74 00 02 02 0b 09 52",
    ]);
  });
});

for (const v of [3, 4] as const) {
  const name = v === 3 ? "3.1" : "3.1.1";

  const rule = v === 3 ? "the first matched subscription's QoS" : "the highest QoS [MQTT-3.3.5-1]";
  Deno.test(`${name}: one copy, at ${rule}`, async () => {
    await withBroker({}, async ({ client }) => {
      const s = await client(`fw${v}`, { protocolVersion: v });
      // Matched in this order: f/t, f/+, f/#.
      await subscribe(s, sub("f/t", 0));
      await subscribe(s, sub("f/#", 1));
      await subscribe(s, sub("f/+", 2));
      const p = await client(`fwp${v}`, { protocolVersion: v });
      await publishAcked(p, pub("f/t", "x", { qos: 2, packetId: 3 }));
      // Mosquitto sends "30 06 00 03 66 2f 74 78" to both.
      const copy = v === 3 ? "30 06 00 03 66 2f 74 78" : "34 08 00 03 66 2f 74 00 01 78";
      assert.deepEqual(await publishFrames(s, 1), [copy]);
      await sync(s);
    });
  });

  Deno.test(`${name}: allow_duplicate_messages sends a copy per matching subscription`, async () => {
    await withBroker({ allowDuplicateMessages: true }, async ({ client }) => {
      const s = await client(`ov${v}`, { protocolVersion: v });
      await subscribe(s, sub("o/#", 0));
      await subscribe(s, sub("o/t", 1));
      const p = await client(`pub${v}`, { protocolVersion: v });
      await publishAcked(p, pub("o/t", "x", { qos: 1, packetId: 5 }));
      assert.deepEqual(await publishFrames(s, 2), [
        "32 08 00 03 6f 2f 74 00 01 78",
        "30 06 00 03 6f 2f 74 78",
      ]);
      await sync(s);
    });
  });
}

Deno.test("allow_duplicate_messages true in a mosquitto.conf reaches the broker", async () => {
  const port = freePort();
  const midge = await startLoggedMidge(
    `listener ${port} 127.0.0.1\nallow_anonymous true\nallow_duplicate_messages true\n`,
  );
  try {
    const { client: s } = await connect(port, { clientId: "dup" });
    const { client: p } = await connect(port, { clientId: "dup-pub" });
    try {
      await subscribe(s, [sub("d/#", 0), sub("d/t", 1)]);
      await publishAcked(p, pub("d/t", "x", { qos: 1, packetId: 5 }));
      const got = await receive(s, 2);
      assert.deepEqual(got.map((m) => m.qos), [1, 0]);
    } finally {
      await s.close();
      await p.close();
    }
  } finally {
    await midge.close();
  }
});
