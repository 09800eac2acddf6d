/**
 * Fan-out over the in-memory transport: overlapping subscriptions (a copy each for 5.0, one
 * merged copy for 3.1.1), shared subscriptions in turn, no local, retain as published, and `$`
 * topics.
 */

import assert from "node:assert/strict";
import { fixtureBytes } from "../fixtures/packets.ts";
import {
  ackDelivery,
  payloadText,
  pub,
  publishAcked,
  sub,
  subscribe,
  sync,
} from "../integration/pubsub_helpers.ts";
import { withMemoryBroker } from "./memory_broker.ts";

Deno.test("fan-out: overlapping subscriptions of a 5.0 client give a copy each, with its QoS and id", async () => {
  await withMemoryBroker({}, async ({ client }) => {
    const s = await client("overlap", { protocolVersion: 5 });
    await subscribe(s, sub("o/+", 1), { subscriptionIdentifiers: [1] });
    await subscribe(s, sub("o/#", 2), { subscriptionIdentifiers: [2] });
    await subscribe(s, sub("o/x", 0));
    const p = await client("publisher", { protocolVersion: 5 });
    await publishAcked(p, pub("o/x", "each", { qos: 2, packetId: 1 }));

    for (const [qos, ids] of [[0, undefined], [1, [1]], [2, [2]]] as const) {
      const copy = await s.expect("publish");
      assert.deepEqual([payloadText(copy), copy.qos], ["each", qos]);
      assert.deepEqual(copy.properties?.subscriptionIdentifiers, ids);
      await ackDelivery(s, copy);
    }
    await s.expectNothing(100);
  });
});

Deno.test("fan-out: overlapping subscriptions of a 3.1.1 client give one copy at the highest QoS", async () => {
  await withMemoryBroker({}, async ({ client }) => {
    const s = await client("overlap", { protocolVersion: 4 });
    await subscribe(s, sub("o/+", 1));
    await subscribe(s, sub("o/#", 2));
    await subscribe(s, sub("o/x", 0));
    const p = await client("publisher", { protocolVersion: 4 });
    await publishAcked(p, pub("o/x", "once", { qos: 2, packetId: 1 }));

    const copy = await s.expect("publish");
    assert.deepEqual([payloadText(copy), copy.qos], ["once", 2]);
    await ackDelivery(s, copy);
    await s.expectNothing(100);
  });
});

Deno.test("fan-out: a shared subscription delivers to its members in turn [MQTT-4.8.2-3]", async () => {
  await withMemoryBroker({}, async ({ client }) => {
    const members = [await client("m1"), await client("m2")];
    for (const m of members) await subscribe(m, sub("$share/g/jobs", 0));
    const outsider = await client("outsider");
    await subscribe(outsider, sub("jobs", 0));
    const p = await client("publisher");
    for (let i = 0; i < 4; i++) await p.send(pub("jobs", `job ${i}`));
    await sync(p);

    const received = await Promise.all(members.map(async (m) => {
      const got = [payloadText(await m.expect("publish")), payloadText(await m.expect("publish"))];
      await m.expectNothing(50);
      return got;
    }));
    assert.deepEqual(received.map((got) => got.join()).sort(), ["job 0,job 2", "job 1,job 3"]);
    for (let i = 0; i < 4; i++) {
      assert.equal(payloadText(await outsider.expect("publish")), `job ${i}`);
    }
  });
});

Deno.test("fan-out: no local keeps a client's own messages from it [MQTT-3.8.3-3]", async () => {
  await withMemoryBroker({}, async ({ client }) => {
    const local = await client("local", { protocolVersion: 5 });
    await subscribe(local, sub("nl/#", 0, { noLocal: true }));
    const other = await client("other", { protocolVersion: 5 });
    await subscribe(other, sub("nl/#", 0));
    await local.send(pub("nl/a", "mine"));
    await sync(local);
    assert.equal(payloadText(await other.expect("publish")), "mine");
    await local.expectNothing(100);
  });
});

Deno.test("fan-out: a live message keeps its retain flag only with retain as published [MQTT-3.3.1-12] [MQTT-3.3.1-13]", async () => {
  await withMemoryBroker({}, async ({ client }) => {
    const keeps = await client("keeps", { protocolVersion: 5 });
    await subscribe(keeps, sub("rap/#", 0, { retainAsPublished: true }));
    const clears = await client("clears", { protocolVersion: 5 });
    await subscribe(clears, sub("rap/#", 0));
    const p = await client("publisher", { protocolVersion: 5 });
    await p.send(pub("rap/a", "kept", { retain: true }));
    assert.equal((await keeps.expect("publish")).retain, true);
    assert.equal((await clears.expect("publish")).retain, false);
  });
});

Deno.test("fan-out: wildcards at the first level do not match $ topics [MQTT-4.7.2-1]", async () => {
  await withMemoryBroker({}, async ({ client }) => {
    const wild = await client("wild");
    await subscribe(wild, sub("#", 0));
    await subscribe(wild, sub("+/status", 0));
    const dollar = await client("dollar");
    await subscribe(dollar, sub("$app/#", 0));
    const p = await client("publisher");
    await p.send(pub("$app/status", "hidden from wildcards"));
    await p.send(pub("app/status", "plain"));
    await sync(p);

    assert.equal(payloadText(await dollar.expect("publish")), "hidden from wildcards");
    const plain = await wild.expect("publish");
    assert.equal(plain.topic, "app/status");
    await wild.expectNothing(100);
  });
});

Deno.test("fan-out: the table's QoS 0 PUBLISH reaches a subscriber as the same bytes", async () => {
  await withMemoryBroker({}, async ({ client }) => {
    const s = await client("s");
    await subscribe(s, sub("a/b", 0));
    const p = await client("publisher");
    const bytes = fixtureBytes("PUBLISH 3.1.1 QoS 0");
    await p.sendBytes(bytes);
    await s.expect("publish");
    assert.deepEqual(s.frames[s.frames.length - 1], bytes);
  });
});

Deno.test("fan-out: a message in flight keeps its own payload after the publisher's read buffer is reused, and is resent to a 5.0 resume", async () => {
  await withMemoryBroker({}, async ({ client }) => {
    const away = await client("away", { clean: false, protocolVersion: 4 });
    await subscribe(away, sub("k/#", 1));
    const p = await client("publisher");
    await publishAcked(p, pub("k/first", "the first payload", { qos: 1, packetId: 1 }));
    const first = await away.expect("publish"); // not acknowledged: it stays in flight
    assert.equal(payloadText(first), "the first payload");
    // The publisher's next packets overwrite the bytes the first one was read into.
    for (let id = 2; id <= 20; id++) {
      await publishAcked(p, pub(`k/${id}`, "X".repeat(17), { qos: 1, packetId: id }));
    }
    await away.close();

    const back = await client("away", { clean: false, protocolVersion: 5 });
    const resent = await back.expect("publish");
    assert.deepEqual([resent.topic, resent.dup, payloadText(resent)], [
      "k/first",
      true,
      "the first payload",
    ]);
  });
});

Deno.test("fan-out: one message to subscribers of different versions and QoS gets an encoding for each", async () => {
  await withMemoryBroker({}, async ({ client }) => {
    const v4q1 = await client("v4q1", { protocolVersion: 4 });
    await subscribe(v4q1, sub("mix/#", 1));
    const v4q0 = await client("v4q0", { protocolVersion: 4 });
    await subscribe(v4q0, sub("mix/#", 0));
    const v5q1 = await client("v5q1", { protocolVersion: 5 });
    await subscribe(v5q1, sub("mix/#", 1));
    const v4q1b = await client("v4q1b", { protocolVersion: 4 });
    await subscribe(v4q1b, sub("mix/+", 1));
    const p = await client("publisher", { protocolVersion: 5 });
    await publishAcked(p, pub("mix/t", "to everyone", { qos: 1, packetId: 9 }));

    for (const [s, qos] of [[v4q1, 1], [v4q0, 0], [v5q1, 1], [v4q1b, 1]] as const) {
      const copy = await s.expect("publish");
      assert.deepEqual([copy.topic, copy.qos, payloadText(copy)], ["mix/t", qos, "to everyone"]);
      assert.equal(copy.packetId === undefined, qos === 0);
      await ackDelivery(s, copy);
    }
  });
});
