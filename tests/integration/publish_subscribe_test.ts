/**
 * PUBLISH over real sockets, byte by byte where the bytes matter: the QoS 0/1/2 flows in both
 * directions, 5.0 acks, message properties and topic aliases, $SYS being read-only, and what a
 * bad packet does to its sender and to everyone else. Subscriptions and retained messages are
 * in subscriptions_test.ts; limits (in-flight window, queues, sizes, expiry, slow clients) in
 * delivery_limits_test.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ReasonCode } from "../../src/codec/mod.ts";
import { fixtureBytes } from "../fixtures/packets.ts";
import { hex } from "./harness.ts";
import {
  ackDelivery,
  expectAck,
  lastFrame,
  payloadText,
  pub,
  publishAcked,
  receive,
  sub,
  subscribe,
  sync,
  versionName,
  VERSIONS,
  withBroker,
} from "./pubsub_helpers.ts";

// ---------------------------------------------------------------- QoS flows

Deno.test("QoS 0 PUBLISH is forwarded byte for byte, without packet id or ack [MQTT-3.3.1-2]", async () => {
  await withBroker({}, async ({ client }) => {
    const sub4 = await client("sub4");
    const sub5 = await client("sub5", { protocolVersion: 5 });
    await subscribe(sub4, sub("a/b", 2));
    await subscribe(sub5, sub("a/b", 2));
    const publisher = await client("pub");
    await publisher.sendBytes(fixtureBytes("PUBLISH 3.1.1 QoS 0")); // "hello" to a/b
    await sync(publisher); // no PUBACK came before the PINGRESP
    await sub4.expect("publish");
    assert.equal(lastFrame(sub4), "30 0a 00 03 61 2f 62 68 65 6c 6c 6f");
    await sub5.expect("publish");
    assert.equal(lastFrame(sub5), "30 0b 00 03 61 2f 62 00 68 65 6c 6c 6f");
  });
});

for (const v of VERSIONS) {
  Deno.test(`QoS 1 PUBLISH gets a 2-byte PUBACK with its packet id (${versionName(v)}) [MQTT-4.3.2-4]`, async () => {
    await withBroker({}, async ({ client }) => {
      const s = await client("sub", { protocolVersion: v });
      await subscribe(s, sub("a/b", 1));
      const publisher = await client("pub", { protocolVersion: v });
      await publisher.send(pub("a/b", "hello", { qos: 1, packetId: 10 }));
      await expectAck(publisher, "puback");
      assert.equal(lastFrame(publisher), "40 02 00 0a");
      const [got] = await receive(s, 1);
      assert.equal(payloadText(got), "hello");
      assert.equal(got.qos, 1);
    });
  });

  Deno.test(`QoS 2 PUBLISH: PUBREC, and PUBCOMP for the PUBREL (${versionName(v)}) [MQTT-4.3.3-8] [MQTT-4.3.3-11]`, async () => {
    await withBroker({}, async ({ client }) => {
      const s = await client("sub", { protocolVersion: v });
      await subscribe(s, sub("a/b", 2));
      const publisher = await client("pub", { protocolVersion: v });
      await publisher.send(pub("a/b", "hello", { qos: 2, packetId: 11 }));
      await expectAck(publisher, "pubrec");
      assert.equal(lastFrame(publisher), "50 02 00 0b");
      await publisher.send({ type: "pubrel", packetId: 11, reasonCode: 0 });
      await expectAck(publisher, "pubcomp");
      assert.equal(lastFrame(publisher), "70 02 00 0b");
      const [got] = await receive(s, 1);
      assert.equal(payloadText(got), "hello");
      assert.equal(got.qos, 2);
      await s.expectNothing(300);
    });
  });

  Deno.test(`QoS 1 delivery stays in flight until the subscriber's PUBACK (${versionName(v)}) [MQTT-4.3.2-3]`, async () => {
    await withBroker({}, async ({ client, tb }) => {
      const s = await client("sub", { protocolVersion: v });
      await subscribe(s, sub("q1/t", 1));
      const publisher = await client("pub");
      await publishAcked(publisher, pub("q1/t", "m", { qos: 1, packetId: 1 }));
      const [got] = await receive(s, 1);
      assert.equal(got.qos, 1);
      assert.equal(got.dup, false); // [MQTT-4.3.2-2]
      assert.ok(got.packetId! > 0);
      const session = tb.broker.sessions.get("sub")!;
      assert.deepEqual([...session.inflight.keys()], [got.packetId]);
      await s.send({ type: "puback", packetId: got.packetId!, reasonCode: 0 });
      await sync(s);
      assert.equal(session.inflight.size, 0);
    });
  });

  Deno.test(`QoS 2 delivery: the subscriber's PUBREC gets PUBREL, PUBCOMP ends it (${versionName(v)}) [MQTT-4.3.3-4] [MQTT-4.3.3-5]`, async () => {
    await withBroker({}, async ({ client, tb }) => {
      const s = await client("sub", { protocolVersion: v });
      await subscribe(s, sub("q2/t", 2));
      const publisher = await client("pub");
      await publishAcked(publisher, pub("q2/t", "m", { qos: 2, packetId: 1 }));
      const [got] = await receive(s, 1);
      assert.equal(got.qos, 2);
      const id = got.packetId!;
      assert.ok(id > 0);
      await s.send({ type: "pubrec", packetId: id, reasonCode: 0 });
      const rel = await expectAck(s, "pubrel");
      assert.equal(rel.packetId, id);
      assert.equal(lastFrame(s), hex(new Uint8Array([0x62, 0x02, id >> 8, id & 0xff])));
      const session = tb.broker.sessions.get("sub")!;
      assert.equal(session.inflight.get(id)?.state, "pubrel");
      await s.send({ type: "pubcomp", packetId: id, reasonCode: 0 });
      await sync(s); // and no PUBLISH resent after PUBREL [MQTT-4.3.3-6]
      assert.equal(session.inflight.size, 0);
    });
  });

  Deno.test(`delivery QoS is the lower of the message's and the subscription's (${versionName(v)}) [MQTT-3.8.4-8]`, async () => {
    await withBroker({}, async ({ client }) => {
      const subs = [];
      for (const q of [0, 1, 2] as const) {
        const s = await client(`sub${q}`, { protocolVersion: v });
        await subscribe(s, sub("dq/t", q));
        subs.push(s);
      }
      const publisher = await client("pub", { protocolVersion: v });
      for (const pq of [0, 1, 2] as const) {
        await publishAcked(
          publisher,
          pub("dq/t", `q${pq}`, { qos: pq, packetId: pq || undefined }),
        );
        for (const [sq, s] of subs.entries()) {
          const [got] = await receive(s, 1);
          assert.equal(payloadText(got), `q${pq}`);
          assert.equal(got.qos, Math.min(pq, sq), `published at ${pq}, subscribed at ${sq}`);
          await ackDelivery(s, got);
        }
      }
    });
  });
}

Deno.test("a 5.0 subscriber's PUBREC with a failure reason ends the QoS 2 delivery: no PUBREL, the slot is free [MQTT-4.3.3-4]", async () => {
  await withBroker({ maxInflightMessages: 1 }, async ({ client, tb }) => {
    const s = await client("sub", { protocolVersion: 5 });
    await subscribe(s, sub("rf/t", 2));
    const publisher = await client("pub");
    await publishAcked(publisher, pub("rf/t", "refused", { qos: 2, packetId: 1 }));
    await publishAcked(publisher, pub("rf/t", "next", { qos: 2, packetId: 2 }));
    const [refused] = await receive(s, 1);
    await s.send({ type: "pubrec", packetId: refused.packetId!, reasonCode: 0x80 });
    const [next] = await receive(s, 1); // not a PUBREL
    assert.equal(payloadText(next), "next");
    assert.deepEqual([...tb.broker.sessions.get("sub")!.inflight.keys()], [next.packetId]);
  });
});

Deno.test("outgoing packet ids are non-zero and distinct while in flight [MQTT-2.2.1-4]", async () => {
  await withBroker({}, async ({ client }) => {
    const s = await client("sub", { protocolVersion: 5 });
    await subscribe(s, sub("id/#", 2));
    const publisher = await client("pub");
    const round = async (tag: string) => {
      for (let i = 0; i < 10; i++) {
        const qos = i % 2 === 0 ? 1 : 2;
        await publishAcked(publisher, pub("id/t", `${tag}${i}`, { qos, packetId: i + 1 }));
      }
      const got = await receive(s, 10);
      const ids = got.map((p) => p.packetId!);
      assert.ok(ids.every((id) => id > 0 && id <= 65535), `ids ${ids}`);
      assert.equal(new Set(ids).size, 10, `ids ${ids}`);
      assert.deepEqual(got.map(payloadText), Array.from({ length: 10 }, (_, i) => `${tag}${i}`));
      return got;
    };
    const first = await round("a"); // none acknowledged yet: all 10 in flight at once
    for (const p of first) await ackDelivery(s, p);
    await round("b");
  });
});

for (const v of VERSIONS) {
  Deno.test(`inbound QoS 2 is exactly once: a resent PUBLISH before PUBREL is not delivered again, after PUBCOMP the id is a new message (${versionName(v)}) [MQTT-4.3.3-10] [MQTT-4.3.3-12]`, async () => {
    await withBroker({}, async ({ client }) => {
      const s = await client("sub");
      await subscribe(s, sub("eo/t", 0));
      const publisher = await client("pub", { protocolVersion: v });
      await publisher.send(pub("eo/t", "first", { qos: 2, packetId: 7 }));
      assert.equal((await expectAck(publisher, "pubrec")).packetId, 7);
      await publisher.send(pub("eo/t", "first", { qos: 2, packetId: 7, dup: true }));
      assert.equal((await expectAck(publisher, "pubrec")).packetId, 7);

      await publisher.send({ type: "pubrel", packetId: 7, reasonCode: 0 });
      const comp = await expectAck(publisher, "pubcomp");
      assert.deepEqual([comp.packetId, comp.reasonCode], [7, 0]);
      assert.equal(payloadText((await receive(s, 1))[0]), "first");
      await sync(publisher);
      await s.expectNothing(300);

      await publisher.send(pub("eo/t", "second", { qos: 2, packetId: 7 }));
      assert.equal((await expectAck(publisher, "pubrec")).packetId, 7);
      await publisher.send({ type: "pubrel", packetId: 7, reasonCode: 0 });
      assert.equal(payloadText((await receive(s, 1))[0]), "second");
    });
  });
}

// ---------------------------------------------------------------- 5.0 acks and properties

Deno.test("PUBACK with no matching subscribers: 5.0 reason 0x10, 3.1.1 the 2-byte form; PUBREC 0x00 (held until PUBREL, as in Mosquitto)", async () => {
  await withBroker({}, async ({ client }) => {
    const p5 = await client("p5", { protocolVersion: 5 });
    await p5.send(pub("nobody/here", "x", { qos: 1, packetId: 1 }));
    await expectAck(p5, "puback");
    assert.equal(lastFrame(p5), "40 03 00 01 10");
    await p5.send(pub("nobody/here", "x", { qos: 2, packetId: 2 }));
    await expectAck(p5, "pubrec");
    assert.equal(lastFrame(p5), "50 02 00 02");
    await p5.send({ type: "pubrel", packetId: 2, reasonCode: 0 });
    await expectAck(p5, "pubcomp");
    assert.equal(lastFrame(p5), "70 02 00 02");

    const p4 = await client("p4");
    await p4.send(pub("nobody/here", "x", { qos: 1, packetId: 1 }));
    await expectAck(p4, "puback");
    assert.equal(lastFrame(p4), "40 02 00 01");
    await p4.send(pub("nobody/here", "x", { qos: 2, packetId: 2 }));
    await expectAck(p4, "pubrec");
    assert.equal(lastFrame(p4), "50 02 00 02");
  });
});

Deno.test("payload format, content type, response topic, correlation data and user properties are forwarded unaltered [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20]", async () => {
  await withBroker({}, async ({ client }) => {
    const s5 = await client("s5", { protocolVersion: 5 });
    await subscribe(s5, sub("props/t", 1));
    const s4 = await client("s4");
    await subscribe(s4, sub("props/t", 0));
    const properties = {
      payloadFormatIndicator: 1,
      contentType: "text/plain; charset=utf-8",
      responseTopic: "props/reply",
      correlationData: new Uint8Array([0x00, 0xff, 0x10, 0x80]),
      userProperties: [["k", "v"], ["a", "1"], ["k", "v2"]] as [string, string][],
    };
    const publisher = await client("pub", { protocolVersion: 5 });
    await publishAcked(publisher, pub("props/t", "hi", { qos: 1, packetId: 3, properties }));
    const [got] = await receive(s5, 1);
    assert.deepEqual(got.properties, properties);
    // 3.1.1 has no properties: the same message, topic and payload only.
    await s4.expect("publish");
    assert.equal(lastFrame(s4), "30 0b 00 07 70 72 6f 70 73 2f 74 68 69");
  });
});

Deno.test("a client's PUBLISH with a subscription identifier is a protocol error: DISCONNECT 0x82 [MQTT-3.3.4-6]", async () => {
  await withBroker({}, async ({ client }) => {
    const s = await client("sub", { protocolVersion: 5 });
    await subscribe(s, sub("sid/t", 0));
    const bad = await client("bad", { protocolVersion: 5 });
    await bad.send(pub("sid/t", "x", { properties: { subscriptionIdentifiers: [3] } }));
    const d = await bad.expect("disconnect");
    assert.equal(d.reasonCode, ReasonCode.ProtocolError);
    await bad.expectClosed();
    await s.expectNothing(300);
  });
});

Deno.test("$SYS is read-only for clients: 5.0 PUBACK 0x87, 3.1.1 PUBACK, never delivered or retained", async () => {
  await withBroker({}, async ({ client, tb }) => {
    const watcher = await client("watcher");
    await subscribe(watcher, sub("$SYS/#", 0));
    const p5 = await client("p5", { protocolVersion: 5 });
    await p5.send(pub("$SYS/broker/fake", "x", { qos: 1, packetId: 1, retain: true }));
    await expectAck(p5, "puback");
    assert.equal(lastFrame(p5), "40 03 00 01 87");
    const p4 = await client("p4");
    await p4.send(pub("$SYS/broker/fake", "x", { qos: 1, packetId: 1 }));
    await expectAck(p4, "puback");
    assert.equal(lastFrame(p4), "40 02 00 01");
    await publishAcked(p4, pub("$SYS", "x"));
    await watcher.expectNothing(300);
    assert.equal(tb.broker.fanOut.retained.size, 0);
  });
});

// ---------------------------------------------------------------- topic aliases

Deno.test("a 5.0 client's topic aliases are accepted up to max_topic_alias, and can be remapped [MQTT-3.3.2-12]", async () => {
  await withBroker({ maxTopicAlias: 3 }, async ({ client, connect }) => {
    const s = await client("sub");
    await subscribe(s, sub("al/#", 0));
    const { client: publisher, connack } = await connect("pub", { protocolVersion: 5 });
    assert.equal(connack.properties?.topicAliasMaximum, 3);
    await publisher.send(pub("al/one", "1", { properties: { topicAlias: 3 } }));
    await publisher.send(pub("", "2", { properties: { topicAlias: 3 } }));
    await publisher.send(pub("al/two", "3", { properties: { topicAlias: 3 } })); // remap
    await publisher.send(pub("", "4", { properties: { topicAlias: 3 } }));
    await publisher.send(pub("", "5", { qos: 1, packetId: 9, properties: { topicAlias: 3 } }));
    assert.equal((await expectAck(publisher, "puback")).reasonCode, 0);
    const got = await receive(s, 5);
    assert.deepEqual(
      got.map((p) => `${p.topic}=${payloadText(p)}`),
      ["al/one=1", "al/one=2", "al/two=3", "al/two=4", "al/two=5"],
    );
  });
});

Deno.test("a topic alias above max_topic_alias gets DISCONNECT 0x94 [MQTT-3.3.2-9]", async () => {
  await withBroker({ maxTopicAlias: 3 }, async ({ client, tb }) => {
    const s = await client("sub");
    await subscribe(s, sub("al/#", 0));
    const bad = await client("bad", { protocolVersion: 5 });
    await bad.send(pub("al/x", "x", { properties: { topicAlias: 4 } }));
    assert.equal((await bad.expect("disconnect")).reasonCode, ReasonCode.TopicAliasInvalid);
    await bad.expectClosed();
    await s.expectNothing(300);
    assert.ok(
      tb.logs.some((l) => l.startsWith("Client bad disconnected due to")),
      tb.logs.join("\n"),
    );
  });
});

Deno.test("an empty topic with an alias never set on this connection gets DISCONNECT 0x82 [MQTT-3.3.2-7]", async () => {
  await withBroker({}, async ({ client }) => {
    const first = await client("aliaser", { protocolVersion: 5 });
    await first.send(pub("al/x", "set", { properties: { topicAlias: 1 } }));
    await sync(first);
    await first.send({ type: "disconnect", reasonCode: 0 });
    await first.expectClosed();
    // Same client id, new connection: the alias did not carry over.
    const second = await client("aliaser", { protocolVersion: 5 });
    await second.send(pub("", "use", { properties: { topicAlias: 1 } }));
    assert.equal((await second.expect("disconnect")).reasonCode, ReasonCode.ProtocolError);
    await second.expectClosed();
  });
});

Deno.test("no outbound topic aliases, even to a 5.0 subscriber that accepts them (as Mosquitto 2.0)", async () => {
  await withBroker({}, async ({ client }) => {
    const aliased = await client("aliased", {
      protocolVersion: 5,
      properties: { topicAliasMaximum: 2 },
    });
    await subscribe(aliased, sub("ta/#", 1));
    const publisher = await client("pub");
    const topics = ["ta/1", "ta/1", "ta/2", "ta/1"];
    for (const [i, t] of topics.entries()) {
      await publishAcked(publisher, pub(t, `${i}`, { qos: i % 2 as 0 | 1, packetId: i + 1 }));
    }
    const got = await receive(aliased, topics.length);
    assert.deepEqual(
      got.map((p) => [p.topic, p.properties?.topicAlias]),
      topics.map((t) => [t, undefined]),
    );
  });
});

// ---------------------------------------------------------------- bad input

for (const v of VERSIONS) {
  Deno.test(`a malformed PUBLISH closes only its sender (5.0: DISCONNECT 0x81 first) and is logged (${versionName(v)}) [MQTT-4.13.1-1]`, async () => {
    await withBroker({}, async ({ client, tb }) => {
      const s = await client("sub", { protocolVersion: v });
      await subscribe(s, sub("a/#", 0));
      const publisher = await client("good", { protocolVersion: v });
      const bad = await client("bad", { protocolVersion: v });
      // 30 03 00 01 f5: malformed in both versions (the topic fails before 5.0's properties).
      await bad.sendBytes(
        fixtureBytes("PUBLISH topic with an invalid UTF-8 lead byte [MQTT-1.5.4-1]"),
      );
      if (v === 5) {
        assert.equal((await bad.expect("disconnect")).reasonCode, ReasonCode.MalformedPacket);
      }
      await bad.expectClosed();
      assert.equal(bad.takeAll().length, 0);
      assert.ok(
        tb.logs.some((l) => l.startsWith("Client bad disconnected due to malformed packet")),
        tb.logs.join("\n"),
      );
      await publishAcked(publisher, pub("a/b", "still here", { qos: 1, packetId: 1 }));
      const [got] = await receive(s, 1);
      assert.equal(payloadText(got), "still here");
      await s.expectNothing(100);
    });
  });

  Deno.test(`a packet over max_packet_size is refused from its fixed header (${versionName(v)}${v === 5 ? ": DISCONNECT 0x95" : ""})`, async () => {
    await withBroker({ maxPacketSize: 256 }, async ({ connect, tb }) => {
      const { client: big, connack } = await connect("big", { protocolVersion: v });
      if (v === 5) assert.equal(connack.properties?.maximumPacketSize, 256);
      // A PUBLISH announcing 16383 bytes; the body is never sent.
      await big.sendBytes(new Uint8Array([0x30, 0xff, 0x7f]));
      if (v === 5) {
        assert.equal((await big.expect("disconnect")).reasonCode, ReasonCode.PacketTooLarge);
      }
      await big.expectClosed();
      assert.ok(
        tb.logs.some((l) => l.includes("big") && l.includes("oversize")),
        tb.logs.join("\n"),
      );
    });
  });
}

Deno.test("max_packet_size counts the whole packet: 256 bytes pass, 257 close the connection", async () => {
  await withBroker({ maxPacketSize: 256 }, async ({ client }) => {
    const s = await client("sub");
    await subscribe(s, sub("mp/t", 0));
    const publisher = await client("pub");
    // 1 + 2 (remaining length) + 6 (topic) + 2 (id) + 245 = 256 bytes: fits exactly.
    const fits = pub("mp/t", new Uint8Array(245), { qos: 1, packetId: 1 });
    const tooBig = pub("mp/t", new Uint8Array(246), { qos: 1, packetId: 2 });
    await publishAcked(publisher, fits);
    assert.equal((await receive(s, 1))[0].payload.length, 245);
    await publisher.send(tooBig);
    await publisher.expectClosed();
    assert.deepEqual(publisher.takeAll(), []);
    await s.expectNothing(200);
  });
});
