/**
 * Sessions over the in-memory transport: attach, clean start, session present, expiry and
 * takeover. CONNECT bytes and the broker's answers are compared with the packet table.
 */

import assert from "node:assert/strict";
import { fixtureBytes, hexBytes, PACKET_FIXTURES } from "../fixtures/packets.ts";
import { hex, waitFor } from "../integration/harness.ts";
import { lastFrame, pub, sub, subscribe, sync } from "../integration/pubsub_helpers.ts";
import { withMemoryBroker } from "./memory_broker.ts";

/** Hex of the entry of the packet table called `name`, as `hex()` writes it. */
function fixtureHex(name: string): string {
  return hex(fixtureBytes(name));
}

Deno.test("sessions: CONNECT bytes from the table are answered with the table's CONNACK", async () => {
  await withMemoryBroker({}, async ({ broker, open, logs }) => {
    const cases = [
      ["CONNECT 3.1 with protocol name MQIsdp", "CONNACK 3.1.1 accepted"],
      ["CONNECT 3.1.1 minimal", "CONNACK 3.1.1 accepted"],
    ] as const;
    for (const [connect, connack] of cases) {
      const entry = PACKET_FIXTURES.find((f) => f.name === connect)!;
      const client = open(entry.version);
      await client.sendBytes(hexBytes(entry.hex));
      await client.expect("connack");
      assert.equal(lastFrame(client), fixtureHex(connack), connect);
      assert.ok(broker.sessions.isOnline("c1"), "the session is attached to its connection");
      await client.close();
      await waitFor(() => !broker.sessions.isOnline("c1"), "the session to be detached");
    }
    assert.ok(logs.some((l) => l.startsWith("New client connected from memory:1 as c1 (p1, ")));
    assert.ok(logs.some((l) => l.startsWith("New client connected from memory:1 as c1 (p2, ")));
  });
});

Deno.test("sessions: a resumed 3.1.1 session is present and keeps its subscriptions [MQTT-3.2.2-3]", async () => {
  await withMemoryBroker({}, async ({ client: connected, connect }) => {
    const first = await connected("keeper", { clean: false });
    await subscribe(first, sub("kept/#", 1));
    await first.send({ type: "disconnect", reasonCode: 0 });
    await first.expectClosed();

    const { client: again, connack } = await connect({ clientId: "keeper", clean: false });
    assert.equal(connack.sessionPresent, true);
    assert.equal(lastFrame(again), fixtureHex("CONNACK 3.1.1 accepted with session present"));
    const publisher = await connected("publisher");
    await publisher.send(pub("kept/a", "still subscribed"));
    const got = await again.expect("publish");
    assert.equal(got.topic, "kept/a");
  });
});

Deno.test("sessions: clean start discards the old session and its subscriptions [MQTT-3.1.2-4]", async () => {
  await withMemoryBroker({}, async ({ client: connected, connect }) => {
    const first = await connected("cleaner", { clean: false });
    await subscribe(first, sub("gone/#", 1));
    await first.close();

    const { client: fresh, connack } = await connect({ clientId: "cleaner", clean: true });
    assert.equal(connack.sessionPresent, false);
    assert.equal(lastFrame(fresh), fixtureHex("CONNACK 3.1.1 accepted"));
    const publisher = await connected("publisher");
    await publisher.send(pub("gone/a", "nobody"));
    await sync(publisher);
    await fresh.expectNothing(100);
  });
});

Deno.test("sessions: a 5.0 session lasts its expiry interval after the connection, then ends [MQTT-3.1.2-23]", async () => {
  await withMemoryBroker({}, async ({ broker, client: connected, connect, advanceClock, logs }) => {
    const fields = { protocolVersion: 5, properties: { sessionExpiryInterval: 2 } } as const;
    const first = await connected("expiring", fields);
    await subscribe(first, sub("e/#", 1));
    await first.close(); // the connection is lost: the session stays

    const { client: back, connack } = await connect({
      clientId: "expiring",
      ...fields,
      clean: false,
    });
    assert.equal(connack.sessionPresent, true, "resumed within the interval");
    await back.close();
    await waitFor(() => !broker.sessions.isOnline("expiring"), "the connection to end");

    advanceClock(1500);
    await new Promise((resolve) => setTimeout(resolve, 300)); // at least one sweep
    assert.ok(broker.sessions.has("expiring"), "1.5 s of 2: the session is still there");
    advanceClock(600);
    await waitFor(() => logs.includes("Expiring client expiring."), "the session to expire");
    assert.equal(broker.sessions.has("expiring"), false);

    const { connack: late } = await connect({ clientId: "expiring", ...fields, clean: false });
    assert.equal(late.sessionPresent, false, "nothing left to resume");
  });
});

Deno.test("sessions: a 5.0 session with expiry 0 ends with its connection [MQTT-3.1.2-23]", async () => {
  await withMemoryBroker({}, async ({ broker, client: connected, connect }) => {
    const first = await connected("brief", { protocolVersion: 5, clean: false });
    await subscribe(first, sub("b/#", 1));
    await first.close();
    await waitFor(() => !broker.sessions.has("brief"), "the session to end");
    const { connack } = await connect({ clientId: "brief", protocolVersion: 5, clean: false });
    assert.equal(connack.sessionPresent, false);
  });
});

Deno.test("sessions: takeover sends the old 5.0 connection DISCONNECT 0x8E and resumes the session [MQTT-3.1.4-3]", async () => {
  await withMemoryBroker({}, async ({ client: connected, connect, logs }) => {
    const fields = {
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    } as const;
    const old = await connected("twin", fields);
    await subscribe(old, sub("t/#", 1));

    const { client: taker, connack } = await connect({ clientId: "twin", ...fields });
    assert.equal(connack.reasonCode, 0);
    assert.equal(connack.sessionPresent, true, "the session is handed over, not ended");
    const disconnect = await old.expect("disconnect");
    assert.equal(disconnect.reasonCode, 0x8e);
    assert.equal(lastFrame(old), fixtureHex("DISCONNECT 5.0 session taken over"));
    await old.expectClosed();
    assert.ok(logs.includes("Client twin already connected, closing old connection."));

    const publisher = await connected("publisher");
    await publisher.send(pub("t/a", "to the new connection"));
    assert.equal((await taker.expect("publish")).topic, "t/a");
  });
});

Deno.test("sessions: takeover closes an old 3.1.1 connection without a DISCONNECT [MQTT-3.1.4-3]", async () => {
  await withMemoryBroker({}, async ({ client: connected }) => {
    const old = await connected("twin");
    const taker = await connected("twin");
    await old.expectClosed();
    assert.deepEqual(old.takeAll(), [], "3.1.1 has no server DISCONNECT");
    await sync(taker);
  });
});
