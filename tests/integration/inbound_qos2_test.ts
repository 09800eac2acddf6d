/**
 * Inbound QoS 2 as Mosquitto 2.0.11 does it, over real sockets: the message is held under its
 * packet id and goes to subscribers and the retained store at PUBREL; PUBREC is 0x00 with or
 * without subscribers; a resent PUBLISH is held once, a different one under the same id
 * replaces it; PUBCOMP is 0x00 for any PUBREL; held messages stay with the session (resumed,
 * taken over, restored from the store after a crash) and go with it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AclFile } from "../../src/auth/acl_file.ts";
import { MARKER } from "../../src/store/records.ts";
import { type RawClient, waitFor } from "./harness.ts";
import { Brokers, keysOf, withBrokers } from "./persistence_helpers.ts";
import {
  expectAck,
  lastFrame,
  payloadText,
  pub,
  receive,
  sub,
  subscribe,
  sync,
  versionName,
  VERSIONS,
  withBroker,
} from "./pubsub_helpers.ts";

/** Send PUBREL for `packetId` and check the PUBCOMP's bytes (0x00, the 2-byte form). */
async function release(client: RawClient, packetId: number): Promise<void> {
  await client.send({ type: "pubrel", packetId, reasonCode: 0 });
  await expectAck(client, "pubcomp");
  assert.equal(lastFrame(client), `70 02 00 ${packetId.toString(16).padStart(2, "0")}`);
}

for (const v of VERSIONS) {
  Deno.test(`inbound QoS 2 is held until PUBREL, then delivered once; PUBREC is 00 (${versionName(v)}) [MQTT-4.3.3-8] [MQTT-4.3.3-10]`, async () => {
    await withBroker({}, async ({ client }) => {
      const s = await client("sub");
      await subscribe(s, sub("q2/t", 2));
      const p = await client("pub", { protocolVersion: v });
      await p.send(pub("q2/t", "held", { qos: 2, packetId: 7 }));
      await expectAck(p, "pubrec");
      assert.equal(lastFrame(p), "50 02 00 07");
      await p.send(pub("q2/t", "held", { qos: 2, packetId: 7, dup: true }));
      await expectAck(p, "pubrec");
      assert.equal(lastFrame(p), "50 02 00 07");
      await sync(p);
      await s.expectNothing(200);
      await release(p, 7);
      const [m] = await receive(s, 1);
      assert.equal(payloadText(m), "held");
      await s.send({ type: "pubrec", packetId: m.packetId!, reasonCode: 0 });
      await expectAck(s, "pubrel");
      await s.send({ type: "pubcomp", packetId: m.packetId!, reasonCode: 0 });
      await release(p, 7); // again: the id is no longer held, nothing more is delivered
      await s.expectNothing(200);
    });
  });
}

Deno.test("inbound QoS 2 with no subscriber: PUBREC 00 in 5.0 too, not 0x10 (as Mosquitto)", async () => {
  await withBroker({}, async ({ client }) => {
    const p = await client("pub", { protocolVersion: 5 });
    await p.send(pub("nobody/here", "x", { qos: 2, packetId: 2 }));
    await expectAck(p, "pubrec");
    assert.equal(lastFrame(p), "50 02 00 02");
    await release(p, 2);
  });
});

for (const v of VERSIONS) {
  Deno.test(`PUBREL for an id not held gets PUBCOMP 00, not 0x92 (${versionName(v)}) [MQTT-4.3.3-11]`, async () => {
    await withBroker({}, async ({ client }) => {
      const p = await client("pub", { protocolVersion: v });
      await release(p, 0x63);
    });
  });
}

Deno.test("a retained QoS 2 message becomes retained at PUBREL, not at PUBLISH", async () => {
  await withBroker({}, async ({ client }) => {
    const p = await client("pub");
    await p.send(pub("q2/r", "kept", { qos: 2, packetId: 9, retain: true }));
    await expectAck(p, "pubrec");
    const early = await client("early");
    await subscribe(early, sub("q2/r", 1));
    await early.expectNothing(200); // no retained message yet
    await release(p, 9);
    const [live] = await receive(early, 1);
    assert.deepEqual([payloadText(live), live.retain], ["kept", false]);
    const late = await client("late");
    await subscribe(late, sub("q2/r", 1));
    const [retained] = await receive(late, 1);
    assert.deepEqual([payloadText(retained), retained.retain], ["kept", true]);
  });
});

Deno.test("another message under a held id replaces the held one, with Mosquitto's warning", async () => {
  await withBroker({}, async ({ tb, client }) => {
    const s = await client("sub");
    await subscribe(s, sub("q2/#", 2));
    const p = await client("pub", { protocolVersion: 5 });
    await p.send(pub("q2/a", "first", { qos: 2, packetId: 8 }));
    await expectAck(p, "pubrec");
    await p.send(pub("q2/a", "second", { qos: 2, packetId: 8 }));
    assert.equal(lastFrame(p), "50 02 00 08");
    await expectAck(p, "pubrec");
    await release(p, 8);
    const [m] = await receive(s, 1);
    assert.equal(payloadText(m), "second");
    assert.ok(tb.logs.some((l) => l.includes("Reused message ID 8 from pub detected.")));

    // A QoS 1 PUBLISH under a held id: delivered at once, the held one dropped.
    await p.send(pub("q2/b", "two", { qos: 2, packetId: 11 }));
    await expectAck(p, "pubrec");
    await p.send(pub("q2/b", "one", { qos: 1, packetId: 11 }));
    await expectAck(p, "puback");
    const [q1] = await receive(s, 1);
    assert.equal(payloadText(q1), "one");
    await release(p, 11);
    await s.expectNothing(200);
  });
});

for (const v of VERSIONS) {
  Deno.test(`a QoS 2 PUBLISH the ACL denies is not held: PUBREC ${v === 5 ? "0x87" : "00"}, PUBCOMP 00 (${versionName(v)})`, async () => {
    const aclFile = AclFile.parse("topic readwrite ok/#\n", "acl");
    await withBroker({ aclFile }, async ({ client }) => {
      const p = await client("pub", { protocolVersion: v });
      await p.send(pub("no/x", "x", { qos: 2, packetId: 3 }));
      await expectAck(p, "pubrec");
      assert.equal(lastFrame(p), v === 5 ? "50 03 00 03 87" : "50 02 00 03");
      await release(p, 3);
    });
  });
}

Deno.test("a held QoS 2 message stays with a resumed session and goes with a clean start", async () => {
  await withBroker({}, async ({ client }) => {
    const s = await client("sub");
    await subscribe(s, sub("q2/#", 0));
    const p = await client("pub", { clean: false });
    await p.send(pub("q2/kept", "kept", { qos: 2, packetId: 5 }));
    await expectAck(p, "pubrec");
    await p.close();
    const resumed = await client("pub", { clean: false });
    await release(resumed, 5);
    assert.equal(payloadText((await receive(s, 1))[0]), "kept");

    await resumed.send(pub("q2/gone", "gone", { qos: 2, packetId: 6 }));
    await expectAck(resumed, "pubrec");
    await resumed.close();
    const fresh = await client("pub", { clean: true });
    await release(fresh, 6);
    await s.expectNothing(200);
  });
});

Deno.test("persistence: a held QoS 2 message survives a crash and is delivered (and retained) at PUBREL", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const p = await a.connect({ clientId: "pub", clean: false });
    await p.send(pub("q2/t", "survives", { qos: 2, packetId: 4, retain: true }));
    await expectAck(p, "pubrec"); // only once the message is stored
    assert.deepEqual(keysOf(a.data, "i"), ["i/1/4"]);
    assert.deepEqual(keysOf(a.data, "r"), []);

    const b = await brokers.start(Brokers.crash(a));
    const s = await b.connect({ clientId: "sub" });
    await subscribe(s, sub("q2/t", 1));
    const p2 = await b.connect({ clientId: "pub", clean: false });
    await p2.send(pub("q2/t", "survives", { qos: 2, packetId: 4, dup: true }));
    await expectAck(p2, "pubrec");
    await sync(p2);
    await s.expectNothing(200);
    await release(p2, 4); // PUBCOMP only once the id is forgotten in the store
    assert.deepEqual(keysOf(b.data, "i"), []);
    const [m] = await receive(s, 1);
    assert.equal(payloadText(m), "survives");
    await b.broker.persistence!.flush();
    assert.equal(keysOf(b.data, "r").length, 1);
  });
});

Deno.test("persistence: an inbound id stored by an older Midge (no message) is kept: a resend is not delivered again", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const p = await a.connect({ clientId: "pub", clean: false });
    await p.send(pub("q2/t", "x", { qos: 2, packetId: 4 }));
    await expectAck(p, "pubrec");
    const data = Brokers.crash(a);
    data.set("i/1/4", MARKER); // as written when the message went out at PUBLISH
    const b = await brokers.start(data);
    const s = await b.connect({ clientId: "sub" });
    await subscribe(s, sub("q2/t", 1));
    const p2 = await b.connect({ clientId: "pub", clean: false });
    await p2.send(pub("q2/t", "x", { qos: 2, packetId: 4, dup: true }));
    await expectAck(p2, "pubrec");
    await release(p2, 4);
    await s.expectNothing(200);
    assert.deepEqual(keysOf(b.data, "i"), []);
  });
});

Deno.test("persistence: an expired session takes its held QoS 2 messages with it", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const p = await a.connect({
      clientId: "pub",
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 1 },
    });
    await p.send(pub("q2/t", "x", { qos: 2, packetId: 4 }));
    await expectAck(p, "pubrec");
    assert.deepEqual(keysOf(a.data, "i"), ["i/1/4"]);
    await p.close();
    await waitFor(() => keysOf(a.data, "s").length === 0, "the session to expire", 5000);
    assert.deepEqual(keysOf(a.data, "i"), []);
  });
});
