/**
 * Wills over the in-memory transport: sent when the connection is lost, not after a normal
 * DISCONNECT, sent after DISCONNECT 0x04, and held for their delay unless the client returns.
 */

import assert from "node:assert/strict";
import type { ConnectPacket, Will } from "../../src/codec/mod.ts";
import { fixtureBytes, text } from "../fixtures/packets.ts";
import type { ConnectFields, RawClient } from "../integration/harness.ts";
import { payloadText, sub, subscribe } from "../integration/pubsub_helpers.ts";
import { type MemoryEnv, withMemoryBroker } from "./memory_broker.ts";

/** A QoS 1 will on `will/<clientId>` saying "gone". */
function willOf(clientId: string, properties?: Will["properties"]): Will {
  return { topic: `will/${clientId}`, payload: text("gone"), qos: 1, retain: false, properties };
}

/** A client subscribed to every will. */
async function watcher(env: MemoryEnv): Promise<RawClient> {
  const client = await env.client("watcher");
  await subscribe(client, sub("will/#", 1));
  return client;
}

/** The next PUBLISH `watcher` gets must be the will of `clientId`. */
async function expectWill(watcher: RawClient, clientId: string): Promise<void> {
  const will = await watcher.expect("publish");
  assert.equal(will.topic, `will/${clientId}`);
  assert.equal(payloadText(will), "gone");
}

for (const protocolVersion of [4, 5] as const) {
  Deno.test(`wills: a lost ${protocolVersion === 5 ? "5.0" : "3.1.1"} connection sends its will [MQTT-3.1.2-8]`, async () => {
    await withMemoryBroker({}, async (env) => {
      const watching = await watcher(env);
      const dying = await env.client("dying", { protocolVersion, will: willOf("dying") });
      await dying.close();
      await expectWill(watching, "dying");
    });
  });
}

Deno.test("wills: the will sent is the one CONNECT gave, whatever the client sent after it", async () => {
  await withMemoryBroker({}, async (env) => {
    const watching = await env.client("watcher", { protocolVersion: 5 });
    await subscribe(watching, sub("will/#", 1));
    const correlationData = text("id-1");
    const dying = await env.client("dying", {
      protocolVersion: 5,
      will: willOf("dying", { correlationData }),
    });
    // Later packets are read into the same buffer as CONNECT was.
    await dying.send({ type: "pingreq" });
    await dying.expect("pingresp");
    await dying.send({
      type: "publish",
      topic: "x".repeat(64),
      payload: text("y".repeat(64)),
      qos: 0,
      retain: false,
      dup: false,
    });
    await dying.send({ type: "pingreq" });
    await dying.expect("pingresp");
    await dying.close();
    const will = await watching.expect("publish");
    assert.deepEqual([will.topic, payloadText(will)], ["will/dying", "gone"]);
    assert.deepEqual(will.properties?.correlationData, correlationData);
  });
});

Deno.test("wills: a normal DISCONNECT deletes the will [MQTT-3.1.2-10]", async () => {
  await withMemoryBroker({}, async (env) => {
    const watching = await watcher(env);
    const leaving = await env.client("leaving", { will: willOf("leaving") });
    await leaving.sendBytes(fixtureBytes("DISCONNECT 3.1.1"));
    await leaving.expectClosed();
    await watching.expectNothing(100);
  });
});

Deno.test("wills: DISCONNECT 0x04 asks for the will to be sent", async () => {
  await withMemoryBroker({}, async (env) => {
    const watching = await watcher(env);
    const leaving = await env.client("leaving", { protocolVersion: 5, will: willOf("leaving") });
    await leaving.sendBytes(fixtureBytes("DISCONNECT 5.0 with will message"));
    await leaving.expectClosed();
    await expectWill(watching, "leaving");
  });
});

Deno.test("wills: the table's will with a delay on a session that ends with its connection is sent at once", async () => {
  await withMemoryBroker({}, async ({ client, open }) => {
    const watching = await client("watcher");
    await subscribe(watching, sub("t", 0));
    const dying = open(5);
    await dying.sendBytes(fixtureBytes("CONNECT 5.0 with will delay interval")); // delay 5 s, no expiry
    assert.equal((await dying.expect("connack")).reasonCode, 0);
    await dying.close();
    const will = await watching.expect("publish");
    assert.equal(will.topic, "t");
    assert.equal(will.payload.length, 0);
  });
});

/** CONNECT fields of a 5.0 client with a session of 60 s and a will delayed by 60 s. */
function delayedWillClient(clientId: string): ConnectFields {
  return {
    protocolVersion: 5,
    clean: false,
    properties: { sessionExpiryInterval: 60 },
    will: willOf(clientId, { willDelayInterval: 60 }),
  } satisfies Partial<ConnectPacket>;
}

Deno.test("wills: a delayed will is dropped when the client returns in time [MQTT-3.1.3-9]", async () => {
  await withMemoryBroker({}, async (env) => {
    const watching = await watcher(env);
    const flaky = await env.client("flaky", delayedWillClient("flaky"));
    await flaky.close();
    await watching.expectNothing(100);
    const back = await env.connect({ clientId: "flaky", ...delayedWillClient("flaky") });
    assert.equal(back.connack.sessionPresent, true);
    await back.client.send({ type: "disconnect", reasonCode: 0 });
    await back.client.expectClosed();
    await watching.expectNothing(100);
  });
});

Deno.test("wills: a delayed will is sent when its session expires first [MQTT-3.1.2-8]", async () => {
  await withMemoryBroker({}, async (env) => {
    const watching = await watcher(env);
    const short = await env.client("short", {
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 2 },
      will: willOf("short", { willDelayInterval: 3600 }),
    });
    await short.close();
    await watching.expectNothing(100);
    env.advanceClock(2000); // the next sweep ends the session
    await expectWill(watching, "short");
    assert.ok(env.logs.includes("Expiring client short."));
  });
});
