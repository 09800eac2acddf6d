/**
 * The broker's answers where the specification leaves the code to the server, as Mosquitto
 * 2.0.11 gives them (each checked against the binary with the same bytes): malformed SUBSCRIBE
 * and UNSUBSCRIBE, wildcard topics, refused empty client ids, `$`-topics clients may not
 * publish to, forwarded properties, `max_qos`; and MQTT 3.1's fixed header and CONNACK.
 */

import assert from "node:assert/strict";
import { AclFile } from "../../src/auth/acl_file.ts";
import { ReasonCode } from "../../src/codec/mod.ts";
import { hexBytes, PACKET_FIXTURES } from "../fixtures/packets.ts";
import { hex, RawClient, sendConnect } from "./harness.ts";
import {
  expectAck,
  lastFrame,
  payloadText,
  pub,
  publishAcked,
  receive,
  sub,
  subscribe,
  withBroker,
} from "./pubsub_helpers.ts";

/** The table's 5.0 SUBSCRIBE, UNSUBSCRIBE and PUBLISH entries that must be refused. */
const REFUSED_V5 = PACKET_FIXTURES.filter((f) =>
  f.version === 5 && f.error !== undefined && /^(UN)?SUBSCRIBE|^PUBLISH/.test(f.name)
);

/** Entries that repeat a property: Mosquitto closes on them without a DISCONNECT. */
const REPEATS_A_PROPERTY = /twice|two subscription identifiers/;

Deno.test("5.0: every refused SUBSCRIBE, UNSUBSCRIBE and PUBLISH of the packet table ends with DISCONNECT carrying the table's code, except a repeated property", async () => {
  assert.ok(REFUSED_V5.length >= 15, `${REFUSED_V5.length} entries`);
  await withBroker({}, async ({ client }) => {
    for (const [i, fixture] of REFUSED_V5.entries()) {
      const c = await client(`c${i}`, { protocolVersion: 5 });
      await c.sendBytes(hexBytes(fixture.hex));
      if (!REPEATS_A_PROPERTY.test(fixture.name)) {
        const d = await c.expect("disconnect");
        assert.equal(d.reasonCode, fixture.error, fixture.name);
      }
      await c.expectClosed();
      assert.deepEqual(c.takeAll(), [], fixture.name);
    }
  });
});

Deno.test("the table refuses every malformed SUBSCRIBE and UNSUBSCRIBE with 0x81, as Mosquitto, except no local on a shared subscription [MQTT-3.8.3-4]", () => {
  const codes = REFUSED_V5.filter((f) => /SUBSCRIBE/.test(f.name)).map((f) => [f.name, f.error]);
  for (const [name, code] of codes) {
    // Mosquitto accepts no local on a shared subscription, against [MQTT-3.8.3-4], and closes
    // without DISCONNECT on a repeated subscription identifier (a protocol error in 5.0 §3.8.2.1.2).
    const expected = /no local on a shared|two subscription identifiers/.test(name as string)
      ? ReasonCode.ProtocolError
      : ReasonCode.MalformedPacket;
    assert.equal(code, expected, name as string);
  }
  for (const name of ["packet id 0", "retain handling 3", "subscription identifier 0"]) {
    assert.ok(codes.some(([n]) => (n as string).includes(name)), name);
  }
});

Deno.test("5.0: a PUBLISH topic with a wildcard ends with DISCONNECT 0x82, as Mosquitto [MQTT-3.3.2-2]", async () => {
  await withBroker({}, async ({ client }) => {
    for (const topic of ["a/#", "a/+/b"]) {
      const c = await client(topic, { protocolVersion: 5 });
      const bytes = new TextEncoder().encode(topic);
      await c.sendBytes(Uint8Array.of(0x30, 3 + bytes.length, 0, bytes.length, ...bytes, 0));
      assert.equal((await c.expect("disconnect")).reasonCode, ReasonCode.ProtocolError);
      await c.expectClosed();
    }
  });
});

Deno.test("a refused empty client id: 5.0 CONNACK 0x80, 3.1.1 and 3.1 return code 2, as Mosquitto", async () => {
  await withBroker({ allowZeroLengthClientId: false }, async ({ tb }) => {
    for (const [version, code] of [[5, 0x80], [4, 2], [3, 2]] as const) {
      const c = await RawClient.open(tb.port, version);
      try {
        await sendConnect(c, { clientId: "", protocolVersion: version });
        assert.equal(c.frames[0][3], code, `v${version}: ${hex(c.frames[0])}`);
        await c.expectClosed();
      } finally {
        await c.close();
      }
    }
  });
});

Deno.test("clients may not publish to $share… or $SYS… (5.0 PUBACK 0x87, 3.1.1 PUBACK), but may write $SYS/broker/connection/NAME/state, as bridges do", async () => {
  await withBroker({}, async ({ client, tb }) => {
    const watcher = await client("watcher", { protocolVersion: 5 });
    await subscribe(watcher, sub("$SYS/broker/connection/#", 0));
    const p5 = await client("p5", { protocolVersion: 5 });
    const p4 = await client("p4");
    const closed = [
      "$share/g/a",
      "$share",
      "$shared/a",
      "$SYSTEM/a",
      "$SYS/broker/connection/b1/x",
    ];
    for (const [i, topic] of closed.entries()) {
      await p5.send(pub(topic, "x", { qos: 1, packetId: i + 1, retain: true }));
      await expectAck(p5, "puback");
      assert.equal(lastFrame(p5), `40 03 00 0${i + 1} 87`, topic);
      await p4.send(pub(topic, "x", { qos: 1, packetId: i + 1 }));
      await expectAck(p4, "puback");
      assert.equal(lastFrame(p4), `40 02 00 0${i + 1}`, topic);
    }
    await watcher.expectNothing(200);
    assert.equal(tb.broker.fanOut.retained.size, 0);
    await publishAcked(p5, pub("$SYS/broker/connection/b1/state", "1", { qos: 1, packetId: 9 }));
    assert.equal(lastFrame(p5), "40 02 00 09"); // delivered: success
    const [state] = await receive(watcher, 1);
    assert.deepStrictEqual([state.topic, payloadText(state)], [
      "$SYS/broker/connection/b1/state",
      "1",
    ]);
  });
});

Deno.test("the ACL still decides on $SYS/broker/connection/NAME/state, and grants no other $SYS or $share topic", async () => {
  const acl =
    "topic write $SYS/broker/connection/+/state\ntopic write $SYS/#\ntopic write $share/#\n";
  await withBroker({ aclFile: AclFile.parse(acl, "acl") }, async ({ client }) => {
    const p = await client("p", { protocolVersion: 5 });
    const topics = ["$SYS/broker/connection/b1/state", "$SYS/x", "$share/g/a"];
    for (const [i, topic] of topics.entries()) {
      await p.send(pub(topic, "x", { qos: 1, packetId: i + 1 }));
      await expectAck(p, "puback");
    }
    assert.deepStrictEqual(p.frames.slice(1).map(hex), [
      "40 03 00 01 10", // granted, nobody subscribed
      "40 03 00 02 87",
      "40 03 00 03 87",
    ]);
  });
  await withBroker({ aclFile: AclFile.parse("topic write b/#\n", "acl") }, async ({ client }) => {
    const p = await client("p", { protocolVersion: 5 });
    await p.send(pub("$SYS/broker/connection/b1/state", "x", { qos: 1, packetId: 1 }));
    await expectAck(p, "puback");
    assert.equal(lastFrame(p), "40 03 00 01 87");
  });
});

Deno.test("5.0: a payload format indicator other than 0 or 1 is forwarded, not refused, as Mosquitto", async () => {
  await withBroker({}, async ({ client }) => {
    const s = await client("s", { protocolVersion: 5 });
    await subscribe(s, sub("pfi/t", 0));
    const p = await client("p", { protocolVersion: 5 });
    await publishAcked(p, pub("pfi/t", "x", { properties: { payloadFormatIndicator: 2 } }));
    const [got] = await receive(s, 1);
    assert.equal(got.properties?.payloadFormatIndicator, 2);
  });
});

Deno.test("3.1: PUBREL, SUBSCRIBE, UNSUBSCRIBE and PINGREQ are not refused over their flag bits, which 3.1 does not fix", async () => {
  await withBroker({}, async ({ client }) => {
    const c = await client("old", { protocolVersion: 3 });
    await c.sendBytes(hexBytes("60 02 00 07")); // PUBREL, flags 0000
    await expectAck(c, "pubcomp");
    await c.sendBytes(hexBytes("80 07 00 01 00 02 61 62 01")); // SUBSCRIBE, flags 0000
    assert.deepStrictEqual((await c.expect("suback")).reasonCodes, [1]);
    await c.sendBytes(hexBytes("a0 06 00 02 00 02 61 62")); // UNSUBSCRIBE, flags 0000
    await c.expect("unsuback");
    await c.sendBytes(hexBytes("c1 00")); // PINGREQ, flags 0001
    await c.expect("pingresp");
    // 3.1.1 keeps its rule [MQTT-3.6.1-1]: the same PUBREL ends the connection.
    const strict = await client("strict");
    await strict.sendBytes(hexBytes("60 02 00 07"));
    await strict.expectClosed();
  });
});

Deno.test("3.1: a resumed session's CONNACK leaves the session present bit clear (3.1 has none); 3.1.1 sets it [MQTT-3.2.2-3]", async () => {
  await withBroker({}, async ({ tb }) => {
    for (const [version, expected] of [[3, "20 02 00 00"], [4, "20 02 01 00"]] as const) {
      for (const round of [1, 2]) {
        const c = await RawClient.open(tb.port, version);
        try {
          await sendConnect(c, {
            clientId: `keep${version}`,
            clean: false,
            protocolVersion: version,
          });
          if (round === 1) await subscribe(c, sub("kept", 1));
          else assert.equal(hex(c.frames[0]), expected, `v${version}`);
          await c.send({ type: "disconnect", reasonCode: 0 });
          await c.expectClosed();
        } finally {
          await c.close();
        }
      }
    }
  });
});

Deno.test("max_qos 1 on one listener: 5.0 CONNACK tells it, SUBACK grants at most 1, a QoS 2 PUBLISH or will is refused (5.0: 0x9B); the other listener is untouched", async () => {
  const listeners = [
    { host: "127.0.0.1", port: 0, maxQos: 1 as const },
    { host: "127.0.0.1", port: 0 },
  ];
  await withBroker({ listeners }, async ({ connect, client, tb }) => {
    const { client: s5, connack } = await connect("s5", { protocolVersion: 5 });
    assert.equal(connack.properties?.maximumQos, 1);
    assert.deepStrictEqual((await subscribe(s5, sub("q/#", 2))).reasonCodes, [1]);
    const s4 = await client("s4");
    assert.deepStrictEqual((await subscribe(s4, sub("q/#", 2))).reasonCodes, [1]);
    const p = await client("p", { protocolVersion: 5 });
    await publishAcked(p, pub("q/1", "one", { qos: 1, packetId: 1 }));
    for (const s of [s4, s5]) assert.equal((await receive(s, 1))[0].qos, 1);

    await s5.send(pub("q/2", "two", { qos: 2, packetId: 2 }));
    assert.equal((await s5.expect("disconnect")).reasonCode, ReasonCode.QoSNotSupported);
    await s5.expectClosed();
    await s4.send(pub("q/2", "two", { qos: 2, packetId: 2 }));
    await s4.expectClosed();

    const will = { topic: "w", payload: new Uint8Array(0), qos: 2 as const, retain: false };
    for (const version of [5, 4] as const) {
      const c = await RawClient.open(tb.port, version);
      try {
        await c.send({
          type: "connect",
          protocolVersion: version,
          clientId: "w",
          clean: true,
          keepAlive: 60,
          will,
        });
        await c.expectClosed();
        // 5.0: CONNACK 0x9B with the maximum, as Mosquitto; 3.x: closed without a CONNACK.
        assert.deepStrictEqual(c.frames.map(hex), version === 5 ? ["20 05 00 9b 02 24 01"] : []);
      } finally {
        await c.close();
      }
    }

    const other = await RawClient.open(tb.broker.ports[1], 5);
    try {
      const full = await sendConnect(other, { clientId: "other", protocolVersion: 5, will });
      assert.equal(full.properties?.maximumQos, undefined);
      assert.deepStrictEqual((await subscribe(other, sub("q/#", 2))).reasonCodes, [2]);
      await publishAcked(other, pub("n/3", "three", { qos: 2, packetId: 3 }));
    } finally {
      await other.close();
    }
  });
});
