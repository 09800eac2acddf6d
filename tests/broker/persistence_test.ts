/**
 * Persistence over the in-memory transport, seen from outside: a broker writes to a
 * `MemoryStore`, and a second broker restored from a copy of its records (what a crash would
 * leave) gives back what the first had promised.
 */

import assert from "node:assert/strict";
import { MemoryStore, type MemoryStoreData } from "../../src/store/memory_store.ts";
import { payloadText, pub, publishAcked, sub, subscribe } from "../integration/pubsub_helpers.ts";
import { withMemoryBroker } from "./memory_broker.ts";

Deno.test("persistence: a message queued for an offline session survives a restart from a copy of the store", async () => {
  const data: MemoryStoreData = new Map();
  let crashed: MemoryStoreData = new Map();
  await withMemoryBroker({ store: new MemoryStore(data) }, async ({ client }) => {
    const away = await client("away", { clean: false });
    await subscribe(away, sub("p/#", 1));
    await away.send({ type: "disconnect", reasonCode: 0 });
    await away.expectClosed();
    const publisher = await client("publisher");
    await publishAcked(publisher, pub("p/queued", "kept for later", { qos: 1, packetId: 7 }));
    crashed = new Map(data); // the PUBACK came: the message must be in the store already
  });
  assert.ok(crashed.size > 0, "the broker wrote records");

  await withMemoryBroker({ store: new MemoryStore(crashed) }, async ({ connect }) => {
    const { client: back, connack } = await connect({ clientId: "away", clean: false });
    assert.equal(connack.sessionPresent, true, "the session came back from the store");
    const queued = await back.expect("publish");
    assert.equal(queued.topic, "p/queued");
    assert.equal(queued.qos, 1);
    assert.equal(payloadText(queued), "kept for later");
  });
});

Deno.test("persistence: a retained message survives a restart, and its clearing does too [MQTT-3.3.1-6]", async () => {
  const data: MemoryStoreData = new Map();
  const copies: MemoryStoreData[] = [];
  await withMemoryBroker({ store: new MemoryStore(data) }, async ({ client }) => {
    const publisher = await client("publisher");
    await publishAcked(publisher, pub("r/t", "last value", { qos: 1, retain: true, packetId: 1 }));
    copies.push(new Map(data));
    await publishAcked(publisher, pub("r/t", "", { qos: 1, retain: true, packetId: 2 }));
    copies.push(new Map(data));
  });

  const [kept, cleared] = copies;
  await withMemoryBroker({ store: new MemoryStore(kept) }, async ({ client }) => {
    const s = await client("s");
    await subscribe(s, sub("r/#", 0));
    const retained = await s.expect("publish");
    assert.equal(retained.retain, true);
    assert.equal(payloadText(retained), "last value");
  });
  await withMemoryBroker({ store: new MemoryStore(cleared) }, async ({ client }) => {
    const s = await client("s");
    await subscribe(s, sub("r/#", 0));
    await s.expectNothing(100);
  });
});
