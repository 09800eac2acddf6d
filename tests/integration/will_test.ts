/**
 * Will messages over real sockets: when they are published (socket loss, keep alive, protocol
 * error, takeover, DISCONNECT 0x04) and when not (normal DISCONNECT), the 5.0 will delay,
 * will properties and retained wills.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProtocolVersion, Will } from "../../src/codec/mod.ts";
import { fixtureBytes as fixture, hexBytes, text } from "../fixtures/packets.ts";
import { type ConnectFields, delay, hex, type RawClient } from "./harness.ts";
import { type Env, lastFrame, subscribe, withBroker } from "./session_helpers.ts";

/** A client subscribed to `will/#` at QoS 1. */
async function observer(
  connect: Env["connect"],
  protocolVersion: ProtocolVersion = 4,
): Promise<RawClient> {
  const { client } = await connect({ clientId: `observer${protocolVersion}`, protocolVersion });
  await subscribe(client, "will/#", 1);
  return client;
}

/** A QoS 1 will on `will/<name>` with payload "gone". */
function will(name: string, extra: Partial<Will> = {}): Will {
  return { topic: `will/${name}`, payload: text("gone"), qos: 1, retain: false, ...extra };
}

/** Bytes of the 3.1.1 QoS 1 PUBLISH of `will(name)` with packet id 1, as an observer gets it. */
function willBytes(name: string): string {
  const topic = text(`will/${name}`);
  const payload = text("gone");
  const remaining = 2 + topic.length + 2 + payload.length;
  return hex(new Uint8Array([0x32, remaining, 0, topic.length, ...topic, 0, 1, ...payload]));
}

/** Wait for the will PUBLISH, check its bytes and acknowledge it. */
async function expectWill(obs: RawClient, name: string, timeoutMs = 2000): Promise<void> {
  const p = await obs.expect("publish", timeoutMs);
  assert.equal(lastFrame(obs), willBytes(name));
  await obs.send({ type: "puback", packetId: p.packetId!, reasonCode: 0 });
}

Deno.test("the will is published when the socket is lost [MQTT-3.1.2-8]", async () => {
  await withBroker({}, async ({ tb, connect }) => {
    const obs = await observer(connect);
    const { client } = await connect({ clientId: "w", will: will("lost") });
    await client.close();
    await expectWill(obs, "lost");
    assert.ok(tb.logs.includes("Client w closed its connection."));
  });
});

Deno.test("the will is published when keep alive expires [MQTT-3.1.2-8]", async () => {
  await withBroker({}, async ({ connect }) => {
    const obs = await observer(connect);
    await connect({ clientId: "w", keepAlive: 1, will: will("timeout") });
    await expectWill(obs, "timeout", 4000);
  });
});

Deno.test("the will is published when the connection ends on a protocol error [MQTT-3.1.2-8]", async () => {
  await withBroker({}, async ({ connect }) => {
    const obs = await observer(connect);
    const { client } = await connect({ clientId: "w", will: will("error") });
    await client.sendBytes(fixture("PUBLISH QoS 3 [MQTT-3.3.1-4]"));
    await client.expectClosed();
    await expectWill(obs, "error");
  });
});

Deno.test("the will is published when another connection takes over the client id [MQTT-3.1.4-2]", async () => {
  await withBroker({}, async ({ connect }) => {
    const obs = await observer(connect);
    const first = await connect({ clientId: "w", will: will("takeover") });
    await connect({ clientId: "w" });
    await first.client.expectClosed();
    await expectWill(obs, "takeover");
  });
});

Deno.test("the will is not published after a normal DISCONNECT [MQTT-3.1.2-10] [MQTT-3.14.4-3]", async () => {
  await withBroker({}, async ({ tb, connect }) => {
    const obs = await observer(connect);
    for (const protocolVersion of [4, 5] as const) {
      const clientId = `w${protocolVersion}`;
      const { client } = await connect({ clientId, protocolVersion, will: will("normal") });
      await client.sendBytes(hexBytes("e0 00"));
      await client.expectClosed();
      assert.ok(tb.logs.includes(`Client ${clientId} disconnected.`));
    }
    await obs.expectNothing(300);
  });
});

Deno.test("5.0: the will is published after DISCONNECT with reason code 0x04", async () => {
  await withBroker({}, async ({ connect }) => {
    const obs = await observer(connect);
    const { client } = await connect({ clientId: "w", protocolVersion: 5, will: will("asked") });
    await client.sendBytes(hexBytes("e0 01 04"));
    await client.expectClosed();
    await expectWill(obs, "asked");
  });
});

Deno.test("5.0: the will waits for its will delay interval [MQTT-3.1.3-9]", async () => {
  await withBroker({}, async ({ connect }) => {
    const obs = await observer(connect);
    const { client } = await connect({
      clientId: "w",
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 10 },
      will: will("delayed", { properties: { willDelayInterval: 1 } }),
    });
    const t0 = Date.now();
    await client.close();
    await obs.expectNothing(600);
    await expectWill(obs, "delayed", 2500);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 900, `will after ${elapsed} ms`);
  });
});

Deno.test("5.0: a delayed will is not published if the client reconnects in time [MQTT-3.1.3-9]", async () => {
  await withBroker({}, async ({ connect }) => {
    const obs = await observer(connect);
    const fields: ConnectFields = {
      clientId: "w",
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 10 },
    };
    const { client } = await connect({
      ...fields,
      will: will("cancelled", { properties: { willDelayInterval: 1 } }),
    });
    await client.close();
    await delay(200);
    const back = await connect(fields);
    assert.equal(back.connack.sessionPresent, true);
    await obs.expectNothing(1400);
  });
});

Deno.test("5.0: a delayed will is published when the session ends first [MQTT-3.1.3-9]", async () => {
  await withBroker({}, async ({ connect }) => {
    const obs = await observer(connect);
    const { client } = await connect({
      clientId: "w",
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 1 },
      will: will("expired", { properties: { willDelayInterval: 60 } }),
    });
    const t0 = Date.now();
    await client.close();
    await expectWill(obs, "expired", 3000);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 900, `will after ${elapsed} ms`);
  });
});

Deno.test("5.0: will properties are forwarded, user properties in order [MQTT-3.1.3-10]", async () => {
  await withBroker({}, async ({ connect }) => {
    const obs = await observer(connect, 5);
    const properties = {
      payloadFormatIndicator: 1,
      contentType: "text/plain",
      responseTopic: "will/reply",
      correlationData: hexBytes("01 02"),
      userProperties: [["a", "1"], ["b", "2"], ["a", "3"]] as [string, string][],
    };
    const { client } = await connect({
      clientId: "w",
      protocolVersion: 5,
      will: will("props", { properties: { ...properties, messageExpiryInterval: 60 } }),
    });
    await client.close();
    const p = await obs.expect("publish");
    assert.equal(p.topic, "will/props");
    const { messageExpiryInterval, ...rest } = p.properties ?? {};
    assert.deepEqual(rest, properties);
    assert.ok(messageExpiryInterval === 59 || messageExpiryInterval === 60);
  });
});

Deno.test("a retained will is stored as a retained message [MQTT-3.1.2-17]", async () => {
  await withBroker({}, async ({ open, connect }) => {
    const live = await connect({ clientId: "live" });
    await subscribe(live.client, "w", 1);
    // Client "id", will topic "w", payload "x", QoS 1, retained.
    const client = await open();
    await client.sendBytes(fixture("CONNECT 3.1.1 with will, user name and password"));
    await client.expect("connack");
    await client.close();
    // A live subscriber gets it with retain 0 [MQTT-3.3.1-9]...
    await live.client.expect("publish");
    assert.equal(lastFrame(live.client), "32 06 00 01 77 00 01 78");
    // ...a later one gets the stored message with retain 1 [MQTT-3.3.1-8].
    const late = await connect({ clientId: "late" });
    await subscribe(late.client, "w", 1);
    await late.client.expect("publish");
    assert.equal(lastFrame(late.client), "33 06 00 01 77 00 01 78");
  });
});
