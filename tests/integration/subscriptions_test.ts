/**
 * SUBSCRIBE and what it means for delivery, over real sockets: wildcards and `$` topics, shared
 * subscriptions, the 5.0 subscription options (no local, retain as published, retain handling,
 * subscription identifiers), overlapping subscriptions, SUBACK and UNSUBACK, and retained
 * messages.
 *
 * @module
 */

import assert from "node:assert/strict";
import { hex } from "./harness.ts";
import {
  ackDelivery,
  lastFrame,
  payloadText,
  pub,
  publishAcked,
  receive,
  sub,
  subscribe,
  versionName,
  VERSIONS,
  withBroker,
} from "./pubsub_helpers.ts";

// ---------------------------------------------------------------- wildcards and $ topics

Deno.test("'+' matches exactly one level, '#' the parent and every level below [MQTT-4.7.1-2]", async () => {
  await withBroker({}, async ({ client }) => {
    const filters = ["w/+/c", "w/#", "w/+", "+/+/+"];
    const subs = [];
    for (const [i, f] of filters.entries()) {
      const s = await client(`s${i}`);
      await subscribe(s, sub(f));
      subs.push(s);
    }
    const publisher = await client("pub");
    const topics = ["w", "w/b", "w/b/c", "w//c", "w/b/c/d", "x/b/c"];
    for (const t of topics) await publishAcked(publisher, pub(t, t));
    const expected: Record<string, string[]> = {
      "w/+/c": ["w/b/c", "w//c"],
      "w/#": ["w", "w/b", "w/b/c", "w//c", "w/b/c/d"],
      "w/+": ["w/b"],
      "+/+/+": ["w/b/c", "w//c", "x/b/c"],
    };
    for (const [i, f] of filters.entries()) {
      const got = await receive(subs[i], expected[f].length);
      assert.deepEqual(got.map((p) => p.topic), expected[f], f);
      await subs[i].expectNothing(100);
    }
  });
});

Deno.test("topics starting with '$' are not matched by a wildcard in the first level [MQTT-4.7.2-1]", async () => {
  await withBroker({}, async ({ client }) => {
    const filters = ["#", "+/x", "$foo/#", "$foo/+"];
    const subs = [];
    for (const [i, f] of filters.entries()) {
      const s = await client(`s${i}`);
      await subscribe(s, sub(f));
      subs.push(s);
    }
    const publisher = await client("pub");
    await publishAcked(publisher, pub("$foo/x", "dollar"));
    await publishAcked(publisher, pub("bar/x", "plain"));
    const expected = [["bar/x"], ["bar/x"], ["$foo/x"], ["$foo/x"]];
    for (const [i, s] of subs.entries()) {
      const got = await receive(s, expected[i].length);
      assert.deepEqual(got.map((p) => p.topic), expected[i], filters[i]);
    }
    await subs[0].expectNothing(300);
  });
});

// ---------------------------------------------------------------- shared subscriptions

Deno.test("a shared subscription gives each message to one member in turn, 3.1.1 and 5.0 members alike, at the QoS each was granted [MQTT-4.8.2-3]", async () => {
  await withBroker({}, async ({ client }) => {
    const m4 = await client("m4");
    await subscribe(m4, sub("$share/g/sh/#", 1));
    const m5 = await client("m5", { protocolVersion: 5 });
    await subscribe(m5, sub("$share/g/sh/#", 1));
    const loner = await client("loner", { protocolVersion: 5 });
    await subscribe(loner, sub("$share/other/sh/+", 0));
    const plain = await client("plain");
    await subscribe(plain, sub("sh/#", 0));
    const publisher = await client("pub", { protocolVersion: 5 });
    for (let i = 0; i < 6; i++) {
      await publishAcked(publisher, pub("sh/x", `${i}`, { qos: 1, packetId: i + 1 }));
    }
    const a = await receive(m4, 3);
    const b = await receive(m5, 3);
    const seen = [...a, ...b].map(payloadText).sort();
    assert.deepEqual(seen, ["0", "1", "2", "3", "4", "5"]);
    // Round robin: each member takes every other message.
    const aIdx = a.map((p) => Number(payloadText(p)));
    assert.ok(aIdx.every((n) => n % 2 === aIdx[0] % 2), `m4 got ${aIdx}`);
    for (const p of [...a, ...b]) {
      assert.deepEqual([p.topic, p.qos], ["sh/x", 1]); // no $share prefix; granted QoS 1
      await ackDelivery(a.includes(p) ? m4 : m5, p);
    }
    const alone = await receive(loner, 6); // the only member of its group gets all
    assert.ok(alone.every((p) => p.qos === 0), "granted QoS 0");
    assert.equal((await receive(plain, 6)).length, 6);
    await m4.expectNothing(100);
    await m5.expectNothing(100);
  });
});

Deno.test("a shared subscription gets no retained messages when it is made", async () => {
  await withBroker({}, async ({ client }) => {
    const publisher = await client("pub");
    await publishAcked(publisher, pub("sh/r", "kept", { qos: 1, packetId: 1, retain: true }));
    const shared = await client("shared", { protocolVersion: 5 });
    assert.deepEqual((await subscribe(shared, sub("$share/g/sh/#", 1))).reasonCodes, [1]);
    const shared4 = await client("shared4");
    assert.deepEqual((await subscribe(shared4, sub("$share/h/sh/r", 1))).reasonCodes, [1]);
    const plain = await client("plain");
    await subscribe(plain, sub("sh/#", 1));
    const [got] = await receive(plain, 1);
    assert.equal(payloadText(got), "kept");
    assert.equal(got.retain, true);
    await shared.expectNothing(300);
    await shared4.expectNothing(0);
  });
});

// ---------------------------------------------------------------- subscription options (5.0)

Deno.test("5.0 no local: a client's own messages do not come back to it [MQTT-3.8.3-3]", async () => {
  await withBroker({}, async ({ client }) => {
    const local = await client("local", { protocolVersion: 5 });
    await subscribe(local, sub("nl/t", 1, { noLocal: true }));
    const echo = await client("echo", { protocolVersion: 5 });
    await subscribe(echo, sub("nl/t", 1));
    await publishAcked(local, pub("nl/t", "from local", { qos: 1, packetId: 1 }));
    await ackDelivery(echo, (await receive(echo, 1))[0]);
    await echo.send(pub("nl/t", "from echo", { qos: 1, packetId: 1 }));
    // Without no local, echo gets its own message (before or after its PUBACK).
    const echoed = [await echo.next(), await echo.next()];
    const own = echoed.find((p) => p.type === "publish");
    assert.ok(own?.type === "publish" && payloadText(own) === "from echo");
    assert.ok(echoed.some((p) => p.type === "puback"));
    const got = await receive(local, 1);
    assert.equal(payloadText(got[0]), "from echo");
    await local.expectNothing(300);
  });
});

Deno.test("retain as published keeps the RETAIN flag of live messages, otherwise it is 0 [MQTT-3.3.1-12] [MQTT-3.3.1-13]", async () => {
  await withBroker({}, async ({ client }) => {
    const rap = await client("rap", { protocolVersion: 5 });
    await subscribe(rap, sub("rap/t", 0, { retainAsPublished: true }));
    const norap = await client("norap", { protocolVersion: 5 });
    await subscribe(norap, sub("rap/t", 0));
    const v4 = await client("v4");
    await subscribe(v4, sub("rap/t", 0));
    const publisher = await client("pub", { protocolVersion: 5 });
    await publishAcked(publisher, pub("rap/t", "retained", { retain: true }));
    await publishAcked(publisher, pub("rap/t", "live"));
    const flags = async (c: typeof rap) => (await receive(c, 2)).map((p) => p.retain);
    assert.deepEqual(await flags(rap), [true, false]);
    assert.deepEqual(await flags(norap), [false, false]);
    assert.deepEqual(await flags(v4), [false, false]);
  });
});

Deno.test("retain handling 0 sends retained messages on every subscribe, 1 only for a new subscription, 2 never [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11]", async () => {
  await withBroker({}, async ({ client }) => {
    const publisher = await client("pub");
    await publishAcked(publisher, pub("rh/t", "kept", { retain: true }));
    for (const rh of [0, 1, 2] as const) {
      const s = await client(`rh${rh}`, { protocolVersion: 5 });
      const expected = { 0: [1, 1], 1: [1, 0], 2: [0, 0] }[rh];
      for (const [round, n] of expected.entries()) {
        await subscribe(s, sub("rh/t", 0, { retainHandling: rh }));
        const got = await receive(s, n);
        for (const p of got) assert.deepEqual([p.topic, p.retain], ["rh/t", true]);
        await s.expectNothing(n === 0 ? 300 : 0).catch((e) => {
          throw new Error(`retain handling ${rh}, subscribe ${round + 1}: ${e.message}`);
        });
      }
    }
  });
});

Deno.test("subscription identifiers: each copy carries the identifier of its subscription [MQTT-3.3.4-3] [MQTT-3.3.4-5]", async () => {
  await withBroker({}, async ({ client }) => {
    const publisher = await client("pub");
    await publishAcked(publisher, pub("si/r", "retained", { retain: true }));
    const s = await client("sub", { protocolVersion: 5 });
    await subscribe(s, sub("si/#", 1), { subscriptionIdentifiers: [1] });
    const [retained] = await receive(s, 1);
    assert.deepEqual(retained.properties?.subscriptionIdentifiers, [1]);
    await subscribe(s, sub("si/+", 0), { subscriptionIdentifiers: [268435455] });
    // The retained message again, for this subscription only, with its identifier.
    const [again] = await receive(s, 1);
    assert.deepEqual([again.topic, again.qos], ["si/r", 0]);
    assert.deepEqual(again.properties?.subscriptionIdentifiers, [268435455]);
    await subscribe(s, sub("si/x", 0)); // no identifier
    for (const t of ["si/x", "si/a/b"]) await publishAcked(publisher, pub(t, t));
    // si/x matches si/x, si/+ and si/# (a copy each, in that order), si/a/b only si/#.
    const got = await receive(s, 4);
    assert.deepEqual(got.map((p) => [p.topic, p.properties?.subscriptionIdentifiers]), [
      ["si/x", undefined],
      ["si/x", [268435455]],
      ["si/x", [1]],
      ["si/a/b", [1]],
    ]);
    await s.expectNothing(300);
  });
});

for (const v of VERSIONS) {
  Deno.test(
    `overlapping subscriptions of one client: ${
      v === 5 ? "a copy per subscription" : "ONE copy at the highest QoS"
    } (${versionName(v)}) [MQTT-3.3.4-2]`,
    async () => {
      await withBroker({}, async ({ client }) => {
        const s = await client("sub", { protocolVersion: v });
        await subscribe(s, [sub("ov/+", 1), sub("ov/#", 2), sub("ov/x", 0)]);
        const publisher = await client("pub");
        await publishAcked(publisher, pub("ov/x", "two", { qos: 2, packetId: 1 }));
        await publishAcked(publisher, pub("ov/x", "one", { qos: 1, packetId: 2 }));
        // 5.0, as Mosquitto: ov/x, then ov/+, then ov/#, each at its own QoS.
        const expected = v === 5
          ? [["two", 0], ["two", 1], ["two", 2], ["one", 0], ["one", 1], ["one", 1]]
          : [["two", 2], ["one", 1]];
        const got = await receive(s, expected.length);
        assert.deepEqual(got.map((p) => [payloadText(p), p.qos]), expected);
        await s.expectNothing(300);
      });
    },
  );

  Deno.test(`SUBACK has one granted QoS per filter, in order (${versionName(v)}) [MQTT-3.8.4-2] [MQTT-3.9.3-1]`, async () => {
    await withBroker({}, async ({ client }) => {
      const s = await client("sub", { protocolVersion: v });
      const suback = await subscribe(s, [
        sub("sa/two", 2),
        sub("sa/zero", 0),
        sub("sa/+/one", 1),
        sub("$share/g/sa/#", 1),
      ]);
      assert.deepEqual(suback.reasonCodes, [2, 0, 1, 1]);
      const id = [suback.packetId >> 8, suback.packetId & 0xff];
      const body = v === 5 ? [0x00, 2, 0, 1, 1] : [2, 0, 1, 1]; // 5.0: empty property list
      assert.equal(
        lastFrame(s),
        hex(new Uint8Array([0x90, 2 + body.length, ...id, ...body])),
      );
    });
  });

  Deno.test(`re-subscribing to a filter replaces its options (${versionName(v)}) [MQTT-3.8.4-3]`, async () => {
    await withBroker({}, async ({ client, tb }) => {
      const s = await client("sub", { protocolVersion: v });
      const ids = v === 5 ? { subscriptionIdentifiers: [5] } : undefined;
      await subscribe(s, sub("rs/t", 2), ids);
      await subscribe(s, sub("rs/t", 0));
      assert.equal(tb.broker.fanOut.subscriptionCount, 1);
      const publisher = await client("pub");
      await publishAcked(publisher, pub("rs/t", "m", { qos: 2, packetId: 1 }));
      const [got] = await receive(s, 1);
      assert.equal(got.qos, 0);
      assert.equal(got.properties?.subscriptionIdentifiers, undefined);
      await s.expectNothing(300);
    });
  });

  Deno.test(`UNSUBSCRIBE stops delivery; UNSUBACK 5.0 says 0x11 for a filter not subscribed (${versionName(v)})`, async () => {
    await withBroker({}, async ({ client }) => {
      const s = await client("sub", { protocolVersion: v });
      await subscribe(s, sub("us/t", 1));
      await s.send({ type: "unsubscribe", packetId: 0x1234, topicFilters: ["us/none", "us/t"] });
      const unsuback = await s.expect("unsuback");
      assert.equal(unsuback.packetId, 0x1234);
      assert.equal(
        lastFrame(s),
        v === 5 ? "b0 05 12 34 00 11 00" : "b0 02 12 34",
      );
      const publisher = await client("pub");
      await publishAcked(publisher, pub("us/t", "m", { qos: 1, packetId: 1 }));
      await s.expectNothing(300);
    });
  });
}

// ---------------------------------------------------------------- retained messages

Deno.test("a retained message is stored, replaced, and cleared by an empty payload [MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-7] [MQTT-3.3.1-8]", async () => {
  await withBroker({}, async ({ client, tb }) => {
    const publisher = await client("pub");
    const live = await client("live");
    await subscribe(live, sub("rt/t", 0));
    await publishAcked(publisher, pub("rt/t", "one", { retain: true }));
    await publishAcked(publisher, pub("rt/t", "two", { qos: 1, packetId: 1, retain: true }));
    await publishAcked(publisher, pub("rt/t", "not retained", { qos: 1, packetId: 2 }));
    const first = await client("first");
    await subscribe(first, sub("rt/#", 1));
    const [got] = await receive(first, 1);
    assert.deepEqual([payloadText(got), got.retain, got.qos], ["two", true, 1]);
    await first.expectNothing(200);

    await publishAcked(publisher, pub("rt/t", "", { retain: true }));
    assert.equal(tb.broker.fanOut.retained.size, 0);
    const second = await client("second");
    await subscribe(second, sub("rt/#", 1));
    await second.expectNothing(300);
    // The empty message itself is delivered like any other [MQTT-3.3.1-6].
    const liveGot = await receive(live, 4);
    assert.deepEqual(liveGot.map(payloadText), ["one", "two", "not retained", ""]);
  });
});

for (const v of VERSIONS) {
  Deno.test(`retained messages come on subscribe with RETAIN 1 at the lower QoS, live ones with RETAIN 0 (${versionName(v)}) [MQTT-3.3.1-12]`, async () => {
    await withBroker({}, async ({ client }) => {
      const publisher = await client("pub");
      await publishAcked(publisher, pub("rq/two", "2", { qos: 2, packetId: 1, retain: true }));
      await publishAcked(publisher, pub("rq/zero", "0", { retain: true }));
      for (const q of [0, 1, 2] as const) {
        const s = await client(`s${q}`, { protocolVersion: v });
        await subscribe(s, sub("rq/#", q));
        const got = await receive(s, 2);
        const byTopic = Object.fromEntries(got.map((p) => [p.topic, [p.qos, p.retain]]));
        assert.deepEqual(byTopic, { "rq/two": [q, true], "rq/zero": [0, true] }, `QoS ${q}`);
        for (const p of got) await ackDelivery(s, p);
      }
      const s = await client("late", { protocolVersion: v });
      await subscribe(s, sub("rq/#", 2));
      await receive(s, 2).then((got) => Promise.all(got.map((p) => ackDelivery(s, p))));
      await publishAcked(publisher, pub("rq/two", "live", { qos: 2, packetId: 2, retain: true }));
      const [live] = await receive(s, 1);
      assert.deepEqual([payloadText(live), live.retain], ["live", false]);
    });
  });
}
