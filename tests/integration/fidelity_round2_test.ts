/**
 * Answers matched to Mosquitto 2.0.11 in the second round, over real sockets: properties
 * forwarded in the order received, `$share/` filters of a 3.1.1 client, and `max_keepalive`
 * against a 3.1 client (the will refused by the ACL: acl_paths_test.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { hexBytes } from "../fixtures/packets.ts";
import { hex } from "./harness.ts";
import { lastFrame, publish, subscribe, withBroker } from "./session_helpers.ts";

Deno.test("5.0: properties go out in the order received: subscription identifier first, expiry last, as Mosquitto", async () => {
  await withBroker({}, async ({ connect }) => {
    const { client: reader } = await connect({ protocolVersion: 5, clientId: "reader" });
    await reader.sendBytes(hexBytes("82 0f 00 01 02 0b 07 00 07 70 72 6f 70 73 2f 23 00"));
    await reader.expect("suback");
    const { client: writer } = await connect({ protocolVersion: 5, clientId: "writer" });
    // user k=1, content type, PFI, expiry 3600, response topic, correlation, user k=2.
    const properties = "26 00 01 6b 00 01 31 03 00 01 63 01 01 02 00 00 0e 10 08 00 01 72" +
      " 09 00 02 01 02 26 00 01 6b 00 01 32";
    await writer.sendBytes(hexBytes(`30 2d 00 07 70 72 6f 70 73 2f 74 22 ${properties} 70`));
    await reader.expect("publish");
    assert.equal(
      lastFrame(reader),
      "30 2f 00 07 70 72 6f 70 73 2f 74 24 0b 07 26 00 01 6b 00 01 31 03 00 01 63 01 01 08 00" +
        " 01 72 09 00 02 01 02 26 00 01 6b 00 01 32 02 00 00 0e 10 70",
    );
  });
});

Deno.test("5.0: a will's interleaved user properties keep their order", async () => {
  await withBroker({}, async ({ connect }) => {
    const { client: reader } = await connect({ protocolVersion: 5, clientId: "reader" });
    await subscribe(reader, "w/t", 0);
    const { client: leaver } = await connect({
      protocolVersion: 5,
      clientId: "leaver",
      will: {
        topic: "w/t",
        payload: hexBytes("67"),
        qos: 0,
        retain: false,
        properties: {
          userProperties: [["k", "1"], ["k", "2"]],
          contentType: "c",
          order: [0x26, 0x03, 0x26],
        },
      },
    });
    await leaver.close(); // no DISCONNECT: the will goes
    await reader.expect("publish");
    assert.equal(
      lastFrame(reader),
      "30 19 00 03 77 2f 74 12 26 00 01 6b 00 01 31 03 00 01 63 26 00 01 6b 00 01 32 67",
    );
  });
});

Deno.test("3.1.1: $share//a is a shared subscription with an empty share name, as Mosquitto grants it", async () => {
  await withBroker({}, async ({ connect }) => {
    const members = [];
    for (const clientId of ["m1", "m2"]) {
      const { client } = await connect({ clientId });
      await subscribe(client, "$share//a", 0);
      assert.equal(lastFrame(client), "90 03 00 01 00");
      members.push(client);
    }
    const { client: writer } = await connect({ clientId: "writer" });
    await publish(writer, "a", "1", 0);
    await publish(writer, "a", "2", 0);
    const got = await Promise.all(members.map((m) => m.expect("publish")));
    assert.deepEqual(got.map((p) => new TextDecoder().decode(p.payload)).sort(), ["1", "2"]);
    for (const m of members) await m.expectNothing(100);
  });
});

Deno.test("3.1.1: $share/g and $share/g/ are granted and match no topic, as in Mosquitto", async () => {
  await withBroker({}, async ({ connect }) => {
    const { client: reader } = await connect({ clientId: "reader" });
    await reader.sendBytes(hexBytes(
      "82 19 00 01 00 08 24 73 68 61 72 65 2f 67 00" +
        " 00 09 24 73 68 61 72 65 2f 67 2f 00",
    ));
    await reader.expect("suback");
    assert.equal(lastFrame(reader), "90 04 00 01 00 00");
    const { client: writer } = await connect({ clientId: "writer" });
    for (const topic of ["g", "/", "$share/g"]) await publish(writer, topic, "x", 0);
    await reader.expectNothing(200);
  });
});

Deno.test("5.0: $share//a is still refused [MQTT-4.8.2-1], where Mosquitto 2.0.11 grants it", async () => {
  await withBroker({}, async ({ connect }) => {
    const { client } = await connect({ protocolVersion: 5 });
    await client.sendBytes(hexBytes("82 0f 00 01 00 00 09 24 73 68 61 72 65 2f 2f 61 00"));
    await client.expectClosed();
    assert.deepEqual(client.frames.slice(1).map(hex), ["e0 01 81"]);
  });
});

Deno.test("3.1: asking more than max_keepalive is accepted with its own keep alive, as Mosquitto 2.0.11", async () => {
  await withBroker({ maxKeepalive: 10 }, async ({ tb, connect }) => {
    const { connack } = await connect({ protocolVersion: 3, keepAlive: 60 });
    assert.equal(connack.reasonCode, 0);
    assert.deepEqual([...tb.broker.connections].map((c) => c.keepAliveMs), [60_000]);
  });
});
